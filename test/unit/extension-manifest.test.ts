// The extension manifest (package.json) as VS Code reads it: the commands a user sees, where
// the menu items appear, which files open in the checkpoint summary, the settings, activation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const commandsSrc = readFileSync(path.join(root, 'src', 'extension', 'commands.ts'), 'utf8');

test('the commands carry the titles users look for, in the "Reuse Lens" category', () => {
  const titles = Object.fromEntries(pkg.contributes.commands.map((c: { command: string; title: string; category: string }) => {
    assert.equal(c.category, 'Reuse Lens');
    return [c.command, c.title];
  }));
  assert.deepEqual({
    a: titles['reuseLens.analyze'], s: titles['reuseLens.selectSource'], c: titles['reuseLens.compareWithSource'],
    r: titles['reuseLens.refresh'], x: titles['reuseLens.clearAnalyses'], o: titles['reuseLens.openReport'], k: titles['reuseLens.cancelAnalysis'],
  }, { a: 'Analyze Reusability', s: 'Select as Reuse Source', c: 'Compare with Reuse Source', r: 'Refresh', x: 'Clear Analyses', o: 'Open Report', k: 'Cancel Analysis' });
});

test('every declared command is registered by the extension, and every menu item names a declared command', () => {
  const declared = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
  for (const id of declared) {
    const key = Object.entries(parseCommands()).find(([, v]) => v === id)?.[0];
    assert.ok(key, `${id} is in COMMANDS`);
    assert.ok(commandsSrc.includes(`reg(COMMANDS.${key},`), `${id} is registered`);
  }
  for (const [menu, items] of Object.entries(pkg.contributes.menus) as [string, { command: string }[]][]) {
    for (const i of items) assert.ok(declared.has(i.command), `${menu}: ${i.command} declared`);
  }
});

function parseCommands(): Record<string, string> {
  const body = /export const COMMANDS = \{([\s\S]*?)\} as const;/.exec(commandsSrc)![1];
  return Object.fromEntries([...body.matchAll(/(\w+): '([\w.]+)'/g)].map((m) => [m[1], m[2]]));
}

test('Explorer right-click offers the actions on checkpoint files and on folders that hold checkpoints only', () => {
  const items = pkg.contributes.menus['explorer/context'] as { command: string; when: string }[];
  const analyze = items.find((i) => i.command === 'reuseLens.analyze')!;
  assert.match(analyze.when, /resourceExtname =~/);
  assert.match(analyze.when, /explorerResourceIsFolder && resourcePath in reuseLens\.checkpointFolders/);
  const re = /resourceExtname =~ \/(.*?)\/i/.exec(analyze.when)!;
  const ext = new RegExp(re[1], 'i');
  for (const e of ['.pt', '.pth', '.bin', '.ckpt', '.safetensors', '.npz', '.npy', '.h5', '.keras', '.onnx', '.tflite']) assert.ok(ext.test(e), e);
  for (const e of ['.py', '.txt', '.json']) assert.ok(!ext.test(e), e);
  // JSON files by name: a TF.js model.json, a sharded safetensors index, a bare weights manifest.
  for (const i of items) {
    assert.match(i.when, /resourceFilename == model\.json/, i.command);
    const manifest = /resourceFilename =~ \/(weights_manifest[^/]*)\/i/.exec(i.when);
    assert.ok(manifest, `${i.command} is offered on *weights_manifest.json`);
    assert.ok(new RegExp(manifest[1], 'i').test('face_landmark_68_model-weights_manifest.json'));
    assert.ok(!new RegExp(manifest[1], 'i').test('package.json'));
    assert.match(i.when, /\|tflite\)/, `${i.command} is offered on .tflite`);
  }
  const compare = items.find((i) => i.command === 'reuseLens.compareWithSource')!;
  assert.match(compare.when, /^reuseLens\.hasSource && /, 'Compare appears only once a source is selected');
});

test('checkpoint files open in the summary editor: by default for unambiguous extensions (.tflite too), as an option for .bin/.h5/.npz and weights manifests', () => {
  const [dflt, option] = pkg.contributes.customEditors;
  assert.equal(dflt.viewType, 'reuseLens.checkpointSummary');
  assert.equal(dflt.priority, 'default');
  assert.deepEqual(dflt.selector.map((s: { filenamePattern: string }) => s.filenamePattern).sort(), ['*.ckpt', '*.keras', '*.npy', '*.onnx', '*.pt', '*.pth', '*.safetensors', '*.tflite']);
  assert.equal(option.priority, 'option');
  assert.deepEqual(option.selector.map((s: { filenamePattern: string }) => s.filenamePattern).sort(), ['*.bin', '*.h5', '*.npz', '*weights_manifest.json']);
});

test('settings cover globs, thresholds, prefix rules, worker memory and symlinks, with the documented defaults', () => {
  const p = pkg.contributes.configuration.properties;
  assert.deepEqual(p['reuseLens.include'].default, ['**/*.{pt,pth,bin,ckpt,safetensors,npz,npy,h5,keras,onnx,tflite}', '**/model.json', '**/*weights_manifest.json', '**/*.safetensors.index.json']);
  const fallback = /export const DEFAULT_INCLUDE = (\[.*\]);/.exec(readFileSync(path.join(root, 'src', 'extension', 'settings.ts'), 'utf8'))![1];
  assert.deepEqual(p['reuseLens.include'].default, JSON.parse(fallback.replace(/'/g, '"')), 'the extension falls back to the same globs');
  // The welcome text of an empty Checkpoints view names what is looked for.
  const welcome = pkg.contributes.viewsWelcome.find((w: { view: string }) => w.view === 'reuseLens.checkpoints').contents as string;
  assert.match(welcome, /\.tflite/);
  assert.match(welcome, /weights_manifest\.json/);
  assert.deepEqual(p['reuseLens.exclude'].default, ['**/{node_modules,.git,.venv,venv}/**']);
  assert.equal(p['reuseLens.thresholds.reuseBelow'].default, 0.1);
  assert.equal(p['reuseLens.thresholds.fineTuneBelow'].default, 0.6);
  assert.deepEqual(p['reuseLens.thresholds.metric'].enum, ['relRmse', 'rmse']);
  assert.ok(p['reuseLens.prefixRules'] && p['reuseLens.worker.memoryLimitMb'] && p['reuseLens.followSymlinks']);
});

test('the extension runs next to the checkpoints, activates lazily, and says what works in an untrusted workspace', () => {
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.ok(!pkg.activationEvents.includes('*'));
  assert.ok(pkg.activationEvents.some((e: string) => e.startsWith('workspaceContains:')));
  assert.ok(pkg.activationEvents.includes('onView:reuseLens.checkpoints'));
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.match(pkg.capabilities.untrustedWorkspaces.description, /never executes/);
  const views = pkg.contributes.views.reuseLens.map((v: { id: string; name: string }) => `${v.id}=${v.name}`);
  assert.deepEqual(views, ['reuseLens.checkpoints=Checkpoints', 'reuseLens.analyses=Reuse Analysis']);
  assert.ok(pkg.contributes.viewsWelcome.some((w: { view: string; contents: string }) => w.view === 'reuseLens.checkpoints' && /command:reuseLens\.refresh/.test(w.contents)));
});

test('Run Replacement Experiment is offered in every workspace; the user\'s code runs only in a trusted one, its settings restricted until trusted', () => {
  // On TF.js, Keras and ONNX models nothing of the workspace runs (the network is built from the file,
  // only an evaluation set is read), so the command is not gated on trust; the PyTorch path checks trust itself.
  const cmd = pkg.contributes.commands.find((c: { command: string }) => c.command === 'reuseLens.runExperiment');
  assert.equal(cmd.title, 'Run Replacement Experiment');
  assert.equal(cmd.enablement, undefined);
  for (const items of Object.values(pkg.contributes.menus) as { command: string; when?: string }[][]) {
    for (const i of items.filter((x) => x.command === 'reuseLens.runExperiment')) assert.doesNotMatch(i.when ?? '', /isWorkspaceTrusted/);
  }
  const restricted: string[] = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;
  for (const k of ['reuseLens.python', 'reuseLens.experiments.model', 'reuseLens.experiments.data']) assert.ok(restricted.includes(k), k);
  assert.ok(!restricted.includes('reuseLens.experiments.evaluationSet'), 'the evaluation set is only read as data');
  const p = pkg.contributes.configuration.properties;
  assert.equal(p['reuseLens.experiments.tolerance'].default, 0.5);
  assert.deepEqual(p['reuseLens.experiments.metric'].enum, ['auto', 'accuracy', 'loss']);
  assert.equal(p['reuseLens.experiments.evaluationSet'].scope, 'resource');
  // Image-folder normalisation, as --mean/--std.
  for (const k of ['reuseLens.experiments.imageMean', 'reuseLens.experiments.imageStd']) assert.deepEqual([p[k].type, p[k].default], ['array', []], k);
  // The runner refuses the PyTorch path outside a trusted workspace, and takes the file path before it.
  const runner = readFileSync(path.join(__dirname, '..', '..', 'src', 'extension', 'experiments', 'runExperiment.ts'), 'utf8');
  assert.match(runner, /if \(!fileRuntime && !vscode\.workspace\.isTrusted\)/);
});

test('the packaged extension holds every bundle the worker and the webviews load at run time', () => {
  const root = path.join(__dirname, '..', '..');
  // What vsce would put in the .vsix (the build ran first: npm test builds).
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  // Loaded by file name, not through the bundler: a file missing from the .vsix fails only at run time.
  for (const f of ['dist/extension.js', 'dist/worker.js', 'dist/pair-thread.js', 'dist/hdf5-thread.js', 'dist/webview/report.js', 'dist/webview/summary.js',
    // The replacement-experiment driver, run with the user's Python (src/core/experiments/driver.ts).
    'python/reuse_lens_experiment.py',
    // The thread that runs experiments on Keras/TF.js/ONNX models, with their runtimes (src/core/experiments/fileExperimentThread.ts).
    'dist/experiment-thread.js', 'dist/tfjs/tfjs-backend-wasm-simd.wasm', 'dist/tfjs/tfjs-backend-wasm.wasm',
    `dist/onnxruntime/${process.platform}-${process.arch}/onnxruntime_binding.node`,
    // The code mapper of the inline hints and its Python parser (src/core/codemap/service.ts), loaded beside the worker.
    'dist/codemap.js', 'dist/web-tree-sitter.wasm', 'dist/tree-sitter-python.wasm']) {
    assert.ok(files.has(f), `${f} is in the .vsix (see .vscodeignore)`);
  }
  assert.ok(![...files].some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')), 'no sources, tests or node_modules');
});
