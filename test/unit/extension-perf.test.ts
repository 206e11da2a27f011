// Activation stays cheap by construction (issue 6: "lazy imports; nothing heavy at start"): the
// modules that activation itself initialises are the ones the bundle reaches through static
// imports from src/extension/extension.ts. esbuild initialises a module reached only through a
// `require()` call or `import()` when that call runs, so such a module costs nothing until first
// use. This is a structural check of the real bundle graph; the timing lives in
// bench/extension.mjs (timings are no unit test's business).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');

/** The extension bundle's module graph, built as esbuild.mjs builds dist/extension.js (in memory). */
async function bundleGraph(): Promise<esbuild.Metafile> {
  const r = await esbuild.build({
    absWorkingDir: ROOT, entryPoints: ['src/extension/extension.ts'], bundle: true, platform: 'node', target: 'node20',
    format: 'cjs', external: ['vscode'], write: false, metafile: true, logLevel: 'silent',
  });
  return r.metafile;
}

/** Inputs of the extension bundle that run when dist/extension.js is loaded, before any command. */
async function modulesInitialisedAtLoad(): Promise<string[]> {
  const inputs = (await bundleGraph()).inputs;
  const eager = new Set<string>();
  const queue = ['src/extension/extension.ts'];
  while (queue.length) {
    const p = queue.pop()!;
    if (eager.has(p) || !inputs[p]) continue;
    eager.add(p);
    // A CommonJS module runs its own top-level require() calls as soon as it is initialised.
    const followRequire = inputs[p].format === 'cjs';
    for (const i of inputs[p].imports) {
      if (i.external) continue;
      if (i.kind === 'import-statement' || (followRequire && i.kind === 'require-call')) queue.push(i.path);
    }
  }
  return [...eager];
}

test('activating the extension loads neither the worker client nor vscode-jsonrpc nor any checkpoint reader until first use', async () => {
  const eager = await modulesInitialisedAtLoad();
  assert.ok(eager.includes('src/extension/views/checkpointsTree.ts'), `the graph walk found the Checkpoints view (sanity): ${eager.join(', ')}`);
  const heavy = [
    /node_modules\/vscode-jsonrpc\//, // the worker's RPC library (~6 ms of module loading)
    /^src\/extension\/worker\/client\.ts$/, // forks and talks to the worker
    /^src\/core\/formats\//, /node_modules\/(h5wasm|protobufjs|yauzl)\//, // checkpoint readers belong in the worker
    /node_modules\/(chart\.js|@vscode-elements)\//, /^webview\//, // webview code belongs in dist/webview
  ];
  const found = eager.filter((p) => heavy.some((re) => re.test(p)));
  assert.deepEqual(found, [], `initialised at activation: ${found.join(', ')}`);
});

test('the worker client is still in the extension bundle, loaded on first use', async () => {
  const inputs = (await bundleGraph()).inputs;
  // Lazy must not mean missing: a require() esbuild could not bundle would fail in the packaged
  // extension (no node_modules there) the first time a checkpoint is opened.
  assert.ok(inputs['src/extension/worker/client.ts'], 'src/extension/worker/client.ts is bundled');
  assert.ok(Object.keys(inputs).some((p) => p.includes('node_modules/vscode-jsonrpc/')), 'vscode-jsonrpc is bundled');
});
