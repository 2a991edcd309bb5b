// Compiles web/test/*.test.ts for node's built-in test runner (npm test).
import * as esbuild from "esbuild";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, ".test-build");
await rm(outdir, { recursive: true, force: true });
const tests = (await readdir(path.join(here, "test"))).filter((f) => f.endsWith(".test.ts"));
await esbuild.build({
  entryPoints: tests.map((f) => path.join(here, "test", f)),
  bundle: true,
  platform: "node",
  format: "esm",
  target: ["node20"],
  outdir,
  outExtension: { ".js": ".mjs" },
  packages: "external",
  logLevel: "warning",
});
