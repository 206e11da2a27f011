// `dist/cli.js`, what `reuse-lens` runs: loads the CLI bundle (dist/cli-bundle.js) with V8's
// code cache. Why: compiling the 0.55 MB bundle, and then each function a compare calls, took
// ~11 ms of every run (measured: `compare` of two 1 GB files 361 → 350 ms, `--version` 69 → 64 ms).
// Node 22 has module.enableCompileCache() for this; Node 20 does not, so this is the same idea
// by hand: the build runs the CLI once and saves the cache (esbuild.mjs).
//
// V8 checks a cache against the source's length only, not its content: a rebuilt bundle of the
// same length (`node esbuild.mjs --watch`, one digit changed) would run the old code. So the
// cache file starts with the SHA-256 of the bundle it was made from, and is used only when that
// matches. A cache from another Node or V8 is rejected by V8 itself. Either way the bundle is
// then compiled as usual: a cache can cost time, never correctness.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

// V8 lets the old generation grow to up to 4x what survived its last full collection before the
// next one; the headers, layers and pairs of a 100,000-tensor compare are ~125 MB live, so peak
// RSS ran 235-331 MB from run to run. 1.5x keeps it at 217-267 MB, at no measurable CPU cost
// now that the compare leaves little garbage (README, "Tens of thousands of tensors"). Set before
// the bundle is compiled, so that the code cache is made and used under the same flags.
setFlagsFromString('--heap-growing-percent=50');

const bundle = join(__dirname, 'cli-bundle.js');
const cacheFile = join(__dirname, 'cli-bundle.cache');
const code = readFileSync(bundle, 'utf8');
const digest = createHash('sha256').update(code).digest();
let cachedData: Buffer | undefined;
try {
  const file = readFileSync(cacheFile);
  if (file.subarray(0, digest.length).equals(digest)) cachedData = file.subarray(digest.length);
} catch { /* no cache: compile as usual */ }
// The CommonJS wrapper Node itself puts around a module.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename: bundle, cachedData });
if (process.env.REUSE_LENS_WRITE_CODE_CACHE) {
  // At exit, the functions this run compiled are in the cache too.
  process.on('exit', () => writeFileSync(cacheFile, Buffer.concat([digest, script.createCachedData()])));
}
const mod = { exports: {} };
(script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
