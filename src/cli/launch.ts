// `dist/cli.js`, what `reuse-lens` runs: loads the CLI bundle (dist/cli-bundle.js) with V8's
// code cache. Why: compiling the 0.55 MB bundle, and then each function a compare calls, took
// ~11 ms of every run (measured: `compare` of two 1 GB files 361 → 350 ms, `--version` 69 → 64 ms).
// Node 22 has module.enableCompileCache() for this; Node 20 does not, so this is the same idea
// by hand: the build runs the CLI once and saves the cache (esbuild.mjs). A cache from another
// Node or V8 is rejected by V8 and the bundle is compiled as usual: it can cost time, never
// correctness. Nothing here reads user input.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'cli-bundle.js');
const cacheFile = join(__dirname, 'cli-bundle.cache');
let cachedData: Buffer | undefined;
try { cachedData = readFileSync(cacheFile); } catch { /* no cache: compile as usual */ }
// The CommonJS wrapper Node itself puts around a module.
const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
const script = new Script(source, { filename: bundle, cachedData });
if (process.env.REUSE_LENS_WRITE_CODE_CACHE) {
  // At exit, the functions this run compiled are in the cache too.
  process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
}
const mod = { exports: {} };
(script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
