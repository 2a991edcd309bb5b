// Builds the web console into src/vsmanager/static, the directory vsmanager serves at "/".
// Asset names carry a content hash so a browser never runs a stale app.js against a new page.
import * as esbuild from "esbuild";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "../src/vsmanager/static");
// `npm run build -- --dev`: readable output with source maps, for debugging in the browser.
const dev = process.argv.includes("--dev");

await rm(outdir, { recursive: true, force: true });
await mkdir(path.join(outdir, "assets"), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, "src/main.ts") },
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !dev,
  sourcemap: dev,
  outdir: path.join(outdir, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

// The entry's hashed script, and the stylesheet esbuild gathered from its CSS imports.
const names = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!info.entryPoint || !file.endsWith(".js")) continue;
  names.js = `assets/${path.basename(file)}`;
  if (info.cssBundle) names.css = `assets/${path.basename(info.cssBundle)}`;
}
if (!names.js || !names.css) throw new Error(`build produced no app.js/app.css: ${JSON.stringify(names)}`);

// The icon is a file of its own (not a data: URL), so the page's CSP can keep img-src 'self'.
await copyFile(path.join(here, "icon.svg"), path.join(outdir, "assets", "icon.svg"));
const template = await readFile(path.join(here, "index.html"), "utf8");
const page = template
  .replace("%APP_JS%", names.js)
  .replace("%APP_CSS%", names.css)
  .replace("%APP_ICON%", "assets/icon.svg");
await writeFile(path.join(outdir, "index.html"), page);
console.log(`web console built into ${path.relative(process.cwd(), outdir)} (${names.js}, ${names.css})`);
