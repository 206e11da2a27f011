// Bundles each entry point of Reuse Lens into dist/.
// One bundle per process: the CLI, the extension host, the worker, the webview (browser).
// Entries whose source does not exist yet are skipped, so the build works at every stage.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// h5wasm is ESM-only and reads import.meta.url to locate itself; in a CommonJS bundle
// that must come from __filename.
const importMetaUrl = {
  banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href; const __builtin_require = require;" },
  define: { 'import.meta.url': '__import_meta_url' },
};

// h5wasm is 5.8 MB of JavaScript; compiled into every bundle it costs ~80 ms at each CLI run and
// worker start, though only HDF5 (Keras) files need it. All h5wasm work runs in the HDF5 thread
// (src/core/formats/hdf5Thread.ts), so h5wasm is bundled there, as ESM inside that one bundle, and
// nowhere else. (A separate CommonJS h5wasm.js imported from ESM broke Keras reading: its `Module`
// export was copied before h5wasm's `ready` assigned it.) The other bundles contain hdf5.ts too, for
// its thread client; its loader there is a stub that says where h5wasm runs.
const h5wasmOnlyInThread = {
  name: 'h5wasm-only-in-thread',
  setup(b) {
    b.onResolve({ filter: /^h5wasm\/node$/ }, () => ({ path: 'h5wasm/node', namespace: 'h5wasm-only-in-thread' }));
    b.onLoad({ filter: /.*/, namespace: 'h5wasm-only-in-thread' }, () => ({
      contents: "throw new Error('h5wasm runs only in the HDF5 thread (dist/hdf5-thread.js), not in this bundle');",
      loader: 'js',
    }));
  },
};

// onnxruntime-node loads its native binding from ../bin/napi-v6/<platform>/<arch>/ of its
// package; in the bundles it is dist/onnxruntime/<platform>-<arch>/ (copied below, beside
// libonnxruntime, which the binding finds through its $ORIGIN runpath).
const ortBinding = {
  name: 'ort-binding',
  setup(b) {
    b.onLoad({ filter: /onnxruntime-node[\\/]dist[\\/]binding\.js$/ }, (args) => ({
      loader: 'js',
      contents: readFileSync(args.path, 'utf8').replace(
        /require\(`\.\.\/bin\/napi-v6\/\$\{process\.platform\}\/\$\{process\.arch\}\/onnxruntime_binding\.node`\)/,
        "require(require('path').join(__dirname, 'onnxruntime', process.platform + '-' + process.arch, 'onnxruntime_binding.node'))"),
    }));
  },
};

/**
 * Runtime files the bundles load by path: TensorFlow.js's WebAssembly backend (dist/tfjs/) and
 * ONNX Runtime's native library for the platform this build runs on (dist/onnxruntime/).
 */
function copyRuntimeFiles() {
  const wasm = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  mkdirSync('dist/tfjs', { recursive: true });
  // Node runs the single-threaded builds (the threaded one needs web workers): SIMD, and plain as a fallback.
  for (const f of ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm']) cpSync(`${wasm}/${f}`, `dist/tfjs/${f}`);
  const ort = `node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}`;
  if (existsSync(ort)) cpSync(ort, `dist/onnxruntime/${process.platform}-${process.arch}`, { recursive: true });
}

// web-tree-sitter (the Python parser of the inline hints) loads two Node built-ins with
// `await import(...)`. The CLI runs its bundle through vm.Script (for V8's code cache,
// src/cli/launch.ts), where a dynamic import has no loader and throws; a built-in is as well
// served by require() (the module's own `require` is shadowed by emscripten's `var require`,
// hence the bundle's, saved in the banner).
const treeSitterRequire = {
  name: 'tree-sitter-require',
  setup(b) {
    b.onLoad({ filter: /web-tree-sitter[\\/]web-tree-sitter\.c?js$/ }, (args) => ({
      loader: 'js',
      contents: readFileSync(args.path, 'utf8').replace(/await import\((["'])(module|fs\/promises)\1\)/g, '__builtin_require($1$2$1)'),
    }));
  },
};

// The code mapper (Python parser and interpreter of the inline hints) is a bundle of its own,
// dist/codemap.js, loaded with require on the first code map by the worker and the CLI.
const lazyCodemap = {
  name: 'lazy-codemap',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/core\/codemap\/service$/ }, (args) => (/[\\/]src[\\/](worker|cli)[\\/]/.test(args.importer) ? { path: './codemap.js', external: true } : undefined));
  },
};

// The Python parser's WebAssembly (web-tree-sitter's runtime and the tree-sitter-python
// grammar), loaded by file name from next to the bundle (src/core/codemap/pythonParser.ts).
function copyParserWasm() {
  mkdirSync('dist', { recursive: true });
  for (const f of ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'node_modules/tree-sitter-python/tree-sitter-python.wasm']) cpSync(f, `dist/${f.split('/').pop()}`);
}

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  ...importMetaUrl,
};

const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-bundle.js', ...node, plugins: [h5wasmOnlyInThread, lazyCodemap] },
  // What `reuse-lens` runs: loads cli-bundle.js with V8's code cache (src/cli/launch.ts).
  { entryPoints: ['src/cli/launch.ts'], outfile: 'dist/cli.js', ...node, sourcemap: false, banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js', ...node, plugins: [h5wasmOnlyInThread, lazyCodemap] },
  { entryPoints: ['src/core/codemap/service.ts'], outfile: 'dist/codemap.js', ...node, plugins: [treeSitterRequire] },
  // The thread a file experiment (TF.js, Keras, ONNX) runs in, with TensorFlow.js and ONNX Runtime's
  // JavaScript (~3 MB) bundled into it and into no other bundle: a compare never parses them, and no
  // bundle imports another's copy of a runtime whose exports are set after load (the h5wasm trap).
  { entryPoints: ['src/core/experiments/fileExperimentThread.ts'], outfile: 'dist/experiment-thread.js', ...node, plugins: [h5wasmOnlyInThread, ortBinding] },
  // The thread all h5wasm work runs in, so a damaged HDF5 file that hangs the library can be ended.
  // h5wasm is bundled into it (and only into it); no source map: 5 MB of it would be h5wasm's.
  { entryPoints: ['src/core/formats/hdf5Thread.ts'], outfile: 'dist/hdf5-thread.js', ...node, sourcemap: false },
  // The threads that read and sum ranges of large tensor pairs, one per core (src/core/tensor/pairThreads.ts).
  { entryPoints: ['src/core/tensor/pairThread.ts'], outfile: 'dist/pair-thread.js', ...node },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', ...node, external: ['vscode'] },
  { entryPoints: ['webview/report/main.ts'], outfile: 'dist/webview/report.js', bundle: true, platform: 'browser',
    format: 'iife', target: 'es2022', sourcemap: !production, minify: production, logLevel: 'info' },
  { entryPoints: ['webview/summary/main.ts'], outfile: 'dist/webview/summary.js', bundle: true, platform: 'browser',
    format: 'iife', target: 'es2022', sourcemap: !production, minify: production, logLevel: 'info' },
].filter((e) => existsSync(e.entryPoints[0]));

// Bundles earlier builds wrote and this one no longer does: left in dist/ they would be packed
// into the .vsix (the runtimes are now inside dist/experiment-thread.js).
for (const f of ['dist/experiment-runtimes.js', 'dist/experiment-runtimes.js.map', 'dist/h5wasm.js']) rmSync(f, { force: true });

if (watch) {
  copyParserWasm();
  for (const e of entries) (await esbuild.context(e)).watch();
} else {
  copyParserWasm();
  await Promise.all(entries.map((e) => esbuild.build(e)));
  copyRuntimeFiles();
  writeCliCodeCache();
}

/**
 * Runs the CLI once on a committed fixture pair, which makes it save V8's code cache of its
 * bundle (dist/cli-bundle.cache, see src/cli/launch.ts). Without it the CLI still works.
 */
function writeCliCodeCache() {
  const cache = 'dist/cli-bundle.cache';
  rmSync(cache, { force: true });
  const pair = ['test/fixtures/pairs/source.pt', 'test/fixtures/pairs/target.safetensors'];
  if (!existsSync('dist/cli.js') || !pair.every((p) => existsSync(p))) return;
  const r = spawnSync(process.execPath, ['dist/cli.js', 'compare', ...pair, '--json'], { env: { ...process.env, REUSE_LENS_WRITE_CODE_CACHE: '1' }, stdio: 'ignore' });
  if (r.status !== 0 || !existsSync(cache)) console.warn('esbuild.mjs: no code cache for the CLI (it runs without one)');
}
