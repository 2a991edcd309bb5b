// Builds the web console into src/vsmanager/static, the directory vsmanager serves at "/".
// Asset names carry a content hash so a browser never runs a stale app.js against a new page.
import * as esbuild from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "../src/vsmanager/static");
const watch = process.argv.includes("--watch");

await rm(outdir, { recursive: true, force: true });
await mkdir(path.join(outdir, "assets"), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, "src/main.ts") },
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !watch,
  sourcemap: true,
  outdir: path.join(outdir, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
});

// Map each entry's output (app.js, app.css) to its hashed name for the page template.
const names = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".map") || !info.entryPoint) continue;
  const ext = path.extname(file).slice(1);
  names[ext] = `assets/${path.basename(file)}`;
}
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith(".css") && !file.endsWith(".map") && info.inputs) names.css ??= `assets/${path.basename(file)}`;
}
if (!names.js || !names.css) throw new Error(`build produced no app.js/app.css: ${JSON.stringify(names)}`);

const template = await readFile(path.join(here, "index.html"), "utf8");
const page = template.replace("%APP_JS%", names.js).replace("%APP_CSS%", names.css);
await writeFile(path.join(outdir, "index.html"), page);
console.log(`web console built into ${path.relative(process.cwd(), outdir)} (${names.js}, ${names.css})`);
