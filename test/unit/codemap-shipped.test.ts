// The inline hints from the shipped bundles: `reuse-lens annotate` (dist/cli.js) prints the lines
// of model code that create or load the analysed layers, as text and as JSON (schema
// reuse-lens/annotations@1); the worker (dist/worker.js, over JSON-RPC as the extension forks it)
// answers code maps, re-parsing an edited document incrementally.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { WorkerClient } from '../../src/extension/worker/client';
import { annotate, nameTokens } from '../../src/protocol';
import { DIST, ensureProductionBuild, ROOT } from './helpers/shippedBundles';

const DIR = join(ROOT, 'test', 'fixtures', 'codemap');
const CK = (n: string) => join(DIR, 'checkpoints', n);

function run(cli: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tmpdir() });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const cli = (...args: string[]) => run(join(DIST, 'cli.js'), ...args);

before(() => {
  ensureProductionBuild();
  assert.ok(existsSync(join(DIST, 'tree-sitter-python.wasm')) && existsSync(join(DIST, 'web-tree-sitter.wasm')), 'the build puts the parser\'s wasm in dist/');
});

let worker: WorkerClient | undefined;
after(() => worker?.dispose());

test('the worker bundle maps a Python document, and again after an edit, to the layers of the analysis', async () => {
  worker = new WorkerClient({ workerPath: join(DIST, 'worker.js'), memoryLimitMb: 1024, log: { info() {}, warn() {}, error() {} }, onWorkerLost: () => {} });
  const c = cli('compare', CK('resnet18_source.pt'), CK('resnet18_target.pt'), '--json');
  assert.equal(c.code, 0, c.err);
  const analyses = [{ id: 'r18', report: JSON.parse(c.out) }];
  const tokens = nameTokens(analyses[0].report.layers.map((l: { name: string }) => l.name));
  let text = readFileSync(join(DIR, 'resnet.py'), 'utf8');
  const first = annotate(await worker.codeMap({ key: 'file:///resnet.py', text, tokens }), analyses);
  assert.equal(first.candidate, 'resnet18()');
  const fcLine = lineOf('resnet.py', 'self.fc = nn.Linear(') - 1;
  assert.deepEqual(first.lines.find((l) => l.line === fcLine)?.layers, ['fc']);
  // Two lines inserted above: every hint moves down two lines.
  text = text.replace('class ResNet(nn.Module):', '# a comment\n# another\nclass ResNet(nn.Module):');
  const second = annotate(await worker.codeMap({ key: 'file:///resnet.py', text, tokens }), analyses);
  assert.deepEqual(second.lines.find((l) => l.line === fcLine + 2)?.layers, ['fc']);
  assert.equal(second.lines.length, first.lines.length);
  worker.forgetDocument('file:///resnet.py');
});

const lineOf = (file: string, piece: string) => readFileSync(join(DIR, file), 'utf8').split('\n').findIndex((l) => l.includes(piece)) + 1;

test('annotate --json maps each creating line to its layers, 1-based, from the bundle with the parser\'s wasm beside it (no node_modules)', () => {
  // The bundle alone, as the .vsix and an npm install ship it: nothing found through node_modules.
  const alone = mkdtempSync(join(tmpdir(), 'rl-annotate-'));
  try {
    for (const f of ['cli.js', 'cli-bundle.js', 'codemap.js', 'web-tree-sitter.wasm', 'tree-sitter-python.wasm']) copyFileSync(join(DIST, f), join(alone, f));
    const r = run(join(alone, 'cli.js'), 'annotate', join(DIR, 'resnet.py'), CK('resnet18_source.pt'), CK('resnet18_target.pt'), '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.schema, 'reuse-lens/annotations@1');
    assert.equal(j.model, 'resnet18()');
    const fc = j.lines.find((l: { line: number }) => l.line === lineOf('resnet.py', 'self.fc = nn.Linear('));
    assert.deepEqual({ ...fc, text: undefined }, { line: fc.line, column: 14, kind: 'layers', layers: ['fc'], verdict: 'incompatible', text: undefined });
    const layer1 = j.lines.find((l: { line: number }) => l.line === lineOf('resnet.py', 'self.layer1 = self._make_layer('));
    assert.equal(layer1.layers.length, 8);
    assert.match(layer1.text, /^reuse ×8 · rel\. RMSE [\d.]+–[\d.]+$/);
    for (const l of j.lines) assert.deepEqual(Object.keys(l), ['line', 'column', 'kind', 'layers', 'verdict', 'text']);
  } finally {
    rmSync(alone, { recursive: true, force: true });
  }
});

test('annotate --report takes a saved compare --json report; the text output lists line, hint and layers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rl-annotate-'));
  try {
    const c = cli('compare', CK('vgg11_source.pt'), CK('vgg11_target.pt'), '--json');
    assert.equal(c.code, 0, c.err);
    writeFileSync(join(tmp, 'r.json'), c.out);
    const r = cli('annotate', join(DIR, 'vgg.py'), '--report', join(tmp, 'r.json'));
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], /vgg\.py: read as vgg11\(\) \(100% of names match\) against .*vgg11_source\.pt → .*vgg11_target\.pt$/);
    assert.ok(lines.includes(`${lineOf('vgg.py', 'nn.Linear(64, num_classes)')}  incompatible  [classifier.6]`), r.out);
    assert.ok(lines.some((l) => l.startsWith(`${lineOf('vgg.py', 'conv2d = nn.Conv2d(')}  reuse ×3 · fine-tune ×1 · rel. RMSE `) && l.endsWith('[features.0, features.3, features.6, features.8]')), r.out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('annotate: wrong usage exits 2; a missing file or a file that is no report exits 1 naming it', () => {
  assert.equal(cli('annotate').code, 2);
  assert.equal(cli('annotate', join(DIR, 'vgg.py'), CK('vgg11_source.pt')).code, 2);
  assert.equal(cli('annotate', join(DIR, 'vgg.py'), '--report', 'x.json', CK('vgg11_source.pt')).code, 2);
  const missing = cli('annotate', join(DIR, 'nope.py'), CK('vgg11_source.pt'), CK('vgg11_target.pt'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^reuse-lens: .*nope\.py: no such Python file\n$/);
  const bad = cli('annotate', join(DIR, 'vgg.py'), '--report', join(DIR, 'vgg.py'));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /vgg\.py: not JSON/);
  const notReport = cli('annotate', join(DIR, 'vgg.py'), '--report', join(ROOT, 'package.json'));
  assert.match(notReport.err, /package\.json: not a Reuse Lens report/);
});
