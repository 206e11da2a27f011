// The extension's logic that does not need VS Code: which files are checkpoints and how they
// group, what "Analyze Reusability" does with a click, how the Reuse Analysis view reads, the
// cache key and the persisted cache, why a worker died, and what the summary webview may send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hideShards, groupByFolder, foldersHoldingCheckpoints, checkpointsUnder, withoutEvaluationSets } from '../../src/extension/model/discovery';
import { planAnalysis, orderPair, Candidate } from '../../src/extension/model/pairing';
import { VERDICT_ICON, layerDescription, layerTooltip, layersInOrder, analysisDescription, esc } from '../../src/extension/model/analysisNodes';
import { checkpointChildren, tensorDescription } from '../../src/extension/model/checkpointNodes';
import { formatBytes, formatCount, formatMetric } from '../../src/extension/model/format';
import { symlinkProblem } from '../../src/extension/model/symlinks';
import { cacheKey, foldersUnchanged, stampFiles, stampFolders, stillCurrent } from '../../src/extension/cache/cacheKey';
import { ReportCache } from '../../src/extension/cache/reportCache';
import { describeExit } from '../../src/extension/worker/exitReason';
import { parseSummaryMessage } from '../../src/extension/summary/messages';
import { DEFAULT_OPTIONS, Report, InspectResult, Verdict } from '../../src/core/shared/reportTypes';
import type { AnalyzeResponse } from '../../src/protocol';

const FIX = path.join(__dirname, '..', 'fixtures');
const sample = (): Report => JSON.parse(readFileSync(path.join(FIX, 'report', 'sample-report.json'), 'utf8'));

test('shards of a sharded safetensors or TF.js model are listed through their index only', () => {
  const files = ['/w/hf/model-00001-of-00002.safetensors', '/w/hf/model-00002-of-00002.safetensors', '/w/hf/model.safetensors.index.json',
    '/w/tfjs/model.json', '/w/tfjs/group1-shard1of2.bin', '/w/other/model-00001-of-00002.safetensors', '/w/a.pt'];
  assert.deepEqual(hideShards(files).sort(), ['/w/a.pt', '/w/hf/model.safetensors.index.json', '/w/other/model-00001-of-00002.safetensors', '/w/tfjs/model.json']);
});

test('shards beside a bare TF.js weights manifest are listed through the manifest; a TFLite model is listed as is', () => {
  // face-api publishes `X-weights_manifest.json` with `X.bin`; older packages `X-shard1`; the converter `group1-shard1of1.bin`.
  const files = ['/w/face/tiny-weights_manifest.json', '/w/face/tiny.bin', '/w/face/tiny-shard1', '/w/face/group1-shard1of1.bin', '/w/face/other.bin',
    '/w/loose/group1-shard1of1.bin', '/w/loose/tiny.bin', '/w/m/selfie.tflite'];
  assert.deepEqual(hideShards(files).sort(), ['/w/face/other.bin', '/w/face/tiny-weights_manifest.json', '/w/loose/group1-shard1of1.bin', '/w/loose/tiny.bin', '/w/m/selfie.tflite']);
});

test('an .npz chosen as a folder\'s evaluation set is data, not listed as a checkpoint; other .npz files are', () => {
  const files = ['/w/data/target_test.npz', '/w/runs/weights.npz', '/w/runs/a.pt', '/v/data/target_test.npz', '/v/eval.npz'];
  assert.deepEqual(withoutEvaluationSets(files, [
    { folder: '/w', value: 'data/target_test.npz' }, // as the experiment saves it: relative to the folder
    { folder: '/v', value: '/v/eval.npz' }, // or absolute
  ]), ['/w/runs/weights.npz', '/w/runs/a.pt', '/v/data/target_test.npz']);
  assert.deepEqual(withoutEvaluationSets(files, [{ folder: '/w', value: undefined }, { folder: '/v', value: ' ' }]), files, 'no evaluation set chosen: every file');
});

test('checkpoints group by folder relative to the workspace, folders and files sorted', () => {
  const g = groupByFolder(['/w/runs/b.pt', '/w/runs/a.pt', '/w/top.safetensors'], ['/w']);
  assert.deepEqual(g.map((x) => [x.label, x.files.map((f) => path.basename(f))]), [['.', ['top.safetensors']], ['runs', ['a.pt', 'b.pt']]]);
});

test('the Explorer offers Analyze on folders that hold checkpoints and their parents, not on others', () => {
  const f = foldersHoldingCheckpoints(['/w/exp/run1/a.pt', '/w/exp/run2/b.pt'], ['/w']);
  assert.deepEqual(f, ['/w', '/w/exp', '/w/exp/run1', '/w/exp/run2']);
  assert.ok(!f.includes('/w/src'));
  assert.deepEqual(checkpointsUnder('/w/exp', ['/w/exp/run1/a.pt', '/w/expo/c.pt']), ['/w/exp/run1/a.pt']);
});

const c = (p: string, mtimeMs = 0): Candidate => ({ path: p, mtimeMs });

test('a folder with two checkpoints is compared at once, the pretrained/source one as source', () => {
  const plan = planAnalysis([{ path: '/w/d', isFolder: true }], () => [c('/w/d/finetuned.pt', 1), c('/w/d/pretrained.pt', 2)], [], (p) => c(p));
  assert.deepEqual(plan, { kind: 'pair', source: '/w/d/pretrained.pt', target: '/w/d/finetuned.pt' });
});

test('without telling names, the older checkpoint is the source (a fine-tuned model is saved later)', () => {
  assert.deepEqual(orderPair(c('/w/x.pt', 20), c('/w/y.pt', 10)).map((x) => x.path), ['/w/y.pt', '/w/x.pt']);
});

test('a folder with more than two checkpoints asks for source and target; with fewer it says why', () => {
  const three = planAnalysis([{ path: '/w/d', isFolder: true }], () => [c('/w/d/a.pt'), c('/w/d/b.pt'), c('/w/d/c.pt')], [], (p) => c(p));
  assert.equal(three.kind, 'pickBoth');
  const one = planAnalysis([{ path: '/w/d', isFolder: true }], () => [c('/w/d/a.pt')], [], (p) => c(p));
  assert.equal(one.kind, 'none');
  assert.match((one as { message: string }).message, /only one checkpoint/);
});

test('a single file asks for the other side among the other checkpoints; two selected files are compared', () => {
  const single = planAnalysis([{ path: '/w/a.pt', isFolder: false }], () => [], ['/w/a.pt', '/w/b.pt'], (p) => c(p));
  assert.deepEqual(single, { kind: 'pickTarget', source: '/w/a.pt', candidates: ['/w/b.pt'] });
  const two = planAnalysis([{ path: '/w/source.pt', isFolder: false }, { path: '/w/target.pt', isFolder: false }], () => [], [], (p) => c(p));
  assert.deepEqual(two, { kind: 'pair', source: '/w/source.pt', target: '/w/target.pt' });
});

test('each layer of an analysis shows a verdict icon and colour, the kernel RMSE, and the reason with numbers', () => {
  const r = sample();
  const layers = layersInOrder(r);
  assert.deepEqual(layers.map((l) => l.index), [...layers.map((l) => l.index)].sort((a, b) => a - b));
  const first = layers[0];
  assert.ok(VERDICT_ICON[first.verdict].icon && VERDICT_ICON[first.verdict].color);
  assert.match(layerDescription(first, 'relRmse'), /^RMSE \S+ \(rel \S+\)$/);
  const tip = layerTooltip(first, r);
  assert.ok(tip.includes(esc(first.reason)));
  assert.match(tip, /reuse below 0\.1, fine-tune below 0\.6/);
  assert.match(analysisDescription(r), /\d+ reuse · \d+ fine-tune · \d+ retrain/);
  for (const v of ['reuse', 'fine-tune', 'retrain', 'incompatible', 'source-only', 'target-only'] as Verdict[]) assert.ok(VERDICT_ICON[v]);
});

test('layer names with Markdown characters show as written in tooltips', () => {
  assert.equal(esc('blocks_1.conv*'), 'blocks\\_1.conv\\*');
});

test('an inspected checkpoint expands to layers with their tensors, then loose tensors, entries and warnings', () => {
  const t = (name: string) => ({ name, dtype: 'F32' as const, shape: [2, 3], parameters: 6, bytes: 24 });
  const r: InspectResult = {
    schema: 'reuse-lens/inspect@1', path: '/x', format: 'safetensors', parameters: 18,
    tensors: [t('conv.weight'), t('conv.bias'), t('step')],
    layers: [{ name: 'conv', kind: 'conv', parameters: 12, tensors: [{ role: 'weight', name: 'conv.weight' }, { role: 'bias', name: 'conv.bias' }] }],
    entries: [{ name: 'epoch', type: 'int', value: '3' }], warnings: ['odd'],
  };
  const kids = checkpointChildren(r);
  assert.deepEqual(kids.map((k) => k.kind), ['layer', 'tensor', 'entries', 'warning']);
  assert.equal(tensorDescription(r.tensors[0]), 'F32 [2, 3] · 6 · 24 B');
});

test('numbers read the way an ML user expects', () => {
  assert.equal(formatCount(11_689_512), '11.7M');
  assert.equal(formatBytes(6872), '6.71 KB');
  assert.equal(formatMetric(0.0012345), '0.00123');
  assert.equal(formatMetric(1.2e-7), '1.20e-7');
  assert.equal(formatMetric(null), '—');
});

test('a symlink to outside the workspace is refused unless followSymlinks is on', () => {
  assert.match(symlinkProblem('/w/a.pt', '/etc/a.pt', ['/w'], false)!, /outside the workspace/);
  assert.equal(symlinkProblem('/w/a.pt', '/etc/a.pt', ['/w'], true), undefined);
  assert.equal(symlinkProblem('/w/a.pt', '/w/real/a.pt', ['/w'], false), undefined);
  assert.match(symlinkProblem('/w/a.pt', '/wx/a.pt', ['/w'], false)!, /outside/);
});

test('the cache key names the checkpoints and the options: an option changed is another analysis', () => {
  const k = cacheKey('/a.pt', '/b.pt', DEFAULT_OPTIONS);
  assert.equal(cacheKey('/a.pt', '/b.pt', { ...DEFAULT_OPTIONS, prefixRules: [...DEFAULT_OPTIONS.prefixRules] }), k);
  assert.notEqual(cacheKey('/a.pt', '/b.pt', { ...DEFAULT_OPTIONS, reuseBelow: 0.2 }), k);
  assert.notEqual(cacheKey('/b.pt', '/a.pt', DEFAULT_OPTIONS), k, 'source and target are not interchangeable');
});

test('a cached report is current while every file it was read from is unchanged, and only those', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-stamp-'));
  try {
    const model = path.join(dir, 'm.onnx'), data = path.join(dir, 'm.onnx.data');
    await fs.writeFile(model, 'model'); await fs.writeFile(data, 'weights');
    const [m, d] = await stampFiles([model, data]);
    const response = { files: { source: [m], target: [d] } };
    assert.equal(await stillCurrent(response), true);
    await fs.writeFile(path.join(dir, 'train.log'), 'epoch 1');
    assert.equal(await stillCurrent(response), true, 'a file beside the model is not part of the stamp');
    await fs.writeFile(data, 'weights, epoch 2');
    assert.equal(await stillCurrent(response), false, 'external data rewritten');
    await fs.rm(model);
    assert.equal(await stillCurrent({ files: { source: [m], target: [] } }), false, 'a file gone');
    assert.equal(await stillCurrent({} as { files: never }), false, 'a report stored without its files is never current');
  } finally { await fs.rm(dir, { recursive: true, force: true }); }
});

test('a cached report of a folder is stale once a checkpoint is added to the folder; a file-named pair is not', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-folder-stamp-'));
  try {
    const folder = path.join(dir, 'run'), other = path.join(dir, 'b.pt');
    await fs.mkdir(folder); await fs.writeFile(path.join(folder, 'a.pt'), 'a'); await fs.writeFile(other, 'b');
    const folders = await stampFolders([folder, other]);
    assert.deepEqual(folders.map((f) => f.path), [folder], 'only the folder is stamped: files are stamped by what was read');
    assert.equal(await foldersUnchanged(folders, [folder, other]), true);
    // A directory's mtime has a filesystem's granularity: make the change visible whatever it is.
    await new Promise((r) => setTimeout(r, 20));
    await fs.writeFile(path.join(folder, 'epoch2.pt'), 'c');
    await fs.utimes(folder, new Date(), new Date(Date.now() + 5000));
    assert.equal(await foldersUnchanged(folders, [folder, other]), false, 'a checkpoint added to the folder');
    assert.equal(await foldersUnchanged(undefined, [folder, other]), false, 'a report cached without folder stamps is not taken for a folder');
    assert.equal(await foldersUnchanged(undefined, [other]), true, 'a pair of files needs no folder stamp');
    const cache = new ReportCache(path.join(dir, 'cache'));
    await cache.put('f01d', { report: sample(), analysisId: 'a', gridsOmitted: [], durationMs: 1, files: { source: [], target: [] } }, folders);
    assert.deepEqual((await new ReportCache(path.join(dir, 'cache')).get('f01d'))?.folders, folders, 'folder stamps survive a restart');
  } finally { await fs.rm(dir, { recursive: true, force: true }); }
});

test('a finished analysis is found again after a restart (stored on disk), and a damaged cache file is ignored', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-cache-'));
  try {
    const response: AnalyzeResponse = { report: sample(), analysisId: 'a1', gridsOmitted: [], durationMs: 5, files: { source: [], target: [] } };
    await new ReportCache(dir).put('abc123', response);
    const again = await new ReportCache(dir).get('abc123');
    assert.equal(again?.response.report.summary.text, response.report.summary.text);
    await fs.writeFile(path.join(dir, 'def456.json'), '{"key":"def456","response":{"rep');
    assert.equal(await new ReportCache(dir).get('def456'), undefined);
    await new ReportCache(dir).clear();
    assert.equal(await new ReportCache(dir).get('abc123'), undefined);
  } finally { await fs.rm(dir, { recursive: true, force: true }); }
});

test('a cached report of thousands of layers comes back whole after a restart; one cut short is ignored; one saved by the previous version still reads', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-cache-'));
  try {
    const report = sample();
    const one = report.layers[0];
    report.layers = Array.from({ length: 5000 }, (_, i) => ({ ...one, name: `blocks.${i}.proj`, index: i, reason: `line\nbreak ${i} — ≥ “quoted”` }));
    const response: AnalyzeResponse = { report, analysisId: 'a1', gridsOmitted: [], durationMs: 5, files: { source: [], target: [] } };
    await new ReportCache(dir).put('abc123', response);
    const text = await fs.readFile(path.join(dir, 'abc123.json'), 'utf8');
    assert.equal(text.trimEnd().split('\n').length, 5001, 'the entry, then a line per layer');
    assert.deepEqual((await new ReportCache(dir).get('abc123'))?.response.report, report);
    // A file cut short (the disk filled up, the editor was killed before the rename) is a miss.
    await fs.writeFile(path.join(dir, 'def456.json'), text.replace(/"key":"abc123"/, '"key":"def456"').slice(0, Math.floor(text.length / 2)).replace(/\n[^\n]*$/, '\n'));
    assert.equal(await new ReportCache(dir).get('def456'), undefined);
    // The previous version wrote the entry as one JSON line.
    await fs.writeFile(path.join(dir, 'feed01.json'), JSON.stringify({ key: 'feed01', savedAt: 1, response: { ...response, report: sample() } }));
    assert.equal((await new ReportCache(dir).get('feed01'))?.response.report.layers.length, sample().layers.length);
  } finally { await fs.rm(dir, { recursive: true, force: true }); }
});

test('reading a damaged cached report again and again leaves no file open', { skip: process.platform !== 'linux' && 'Linux only (/proc/self/fd)' }, async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-cache-'));
  try {
    await fs.writeFile(path.join(dir, 'bad0.json'), '{"key":"bad0","layerLines":2}\n{"name":\n');
    const open = async () => (await fs.readdir('/proc/self/fd')).length;
    const before = await open();
    for (let i = 0; i < 20; i++) assert.equal(await new ReportCache(dir).get('bad0'), undefined);
    assert.ok(await open() <= before + 2, `${(await open()) - before} more files open after 20 reads`);
  } finally { await fs.rm(dir, { recursive: true, force: true }); }
});

test('the Reuse Analysis row says how many of its reuse layers were not measured', () => {
  const r = sample();
  r.summary = { ...r.summary, notMeasured: 2 };
  assert.match(analysisDescription(r), /^\d+ reuse \(2 not measured\) · /);
});

test('a dead worker is explained: out of memory with the setting to raise, a signal, an exit code with the last stderr line', () => {
  assert.match(describeExit(null, 'SIGABRT', '<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory', 2048), /ran out of memory \(limit 2048 MB\).*memoryLimitMb/);
  assert.match(describeExit(null, 'SIGKILL', '', 2048), /killed \(SIGKILL\)/);
  assert.match(describeExit(3, null, 'boom\nlast words\n', 2048), /exited with code 3: last words/);
});

test('the summary webview may send only the protocol\'s messages, with no extra fields', () => {
  assert.deepEqual(parseSummaryMessage({ type: 'ready' }), { type: 'ready' });
  assert.equal(parseSummaryMessage({ type: 'runShell', cmd: 'rm -rf /' }), undefined);
  assert.equal(parseSummaryMessage({ type: 'analyze', path: '/etc/passwd' }), undefined);
  assert.equal(parseSummaryMessage('ready'), undefined);
  assert.equal(parseSummaryMessage(null), undefined);
});

test('a checkpoint in a workspace opened through a link, or on Windows with another drive-letter case, is inside the workspace', async () => {
  const { realRoots } = await import('../../src/extension/model/symlinks');
  // Windows: VS Code says c:\, realpath says C:\.
  assert.equal(symlinkProblem('c:\\w\\a.pt', 'C:\\w\\a.pt', ['c:\\w'], false, 'win32'), undefined);
  assert.equal(symlinkProblem('c:\\w\\a.pt', 'C:\\w\\sub\\b.pt', ['c:\\w'], false, 'win32'), undefined);
  assert.match(symlinkProblem('c:\\w\\a.pt', 'D:\\x\\a.pt', ['c:\\w'], false, 'win32')!, /outside the workspace/);
  assert.match(symlinkProblem('/w/a.pt', '/wx/a.pt', ['/w'], false, 'linux')!, /outside the workspace/, 'a sibling folder sharing the prefix is outside');
  // A real workspace reached through a symlink: its files' realpaths lie under the root's realpath.
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'rl-link-'));
  try {
    await fs.mkdir(path.join(base, 'data', 'ws'), { recursive: true });
    await fs.writeFile(path.join(base, 'data', 'ws', 'a.pt'), '');
    await fs.symlink(path.join(base, 'data'), path.join(base, 'home'));
    const root = path.join(base, 'home', 'ws');
    const file = path.join(root, 'a.pt');
    assert.match(symlinkProblem(file, await fs.realpath(file), [root], false)!, /outside/, 'without the real roots it looked outside');
    assert.equal(symlinkProblem(file, await fs.realpath(file), await realRoots([root]), false), undefined);
  } finally { await fs.rm(base, { recursive: true, force: true }); }
});

test('recalibrate has its own icon in the Reuse Analysis tree, its own colour in the report panel and stylesheet, and a place in the summary', async () => {
  const icons = Object.values(VERDICT_ICON).map((v) => `${v.icon}/${v.color}`);
  assert.equal(new Set(icons).size, icons.length, 'one icon per verdict');
  assert.deepEqual(VERDICT_ICON.recalibrate, { icon: 'sync', color: 'terminal.ansiCyan', label: 'recalibrate (re-estimate BN statistics on target data)' });
  const { VERDICT_VAR } = await import('../../webview/report/theme');
  const colours = Object.values(VERDICT_VAR).map(([v]) => v);
  assert.equal(new Set(colours).size, colours.length, 'one colour per verdict');
  const css = readFileSync(path.join(__dirname, '..', '..', 'media', 'report.css'), 'utf8');
  assert.match(css, new RegExp(`\\.v-recalibrate \\{ --verdict: var\\(${VERDICT_VAR.recalibrate[0]}, ${VERDICT_VAR.recalibrate[1]}\\); \\}`));
  const r = sample();
  r.summary.byVerdict.recalibrate = 2;
  assert.match(analysisDescription(r), / · 2 recalibrate · /);
});
