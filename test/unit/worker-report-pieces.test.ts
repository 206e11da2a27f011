// How a report reaches the extension host from the worker (the bundle the .vsix ships): its
// layers in pieces as they are judged, never as one answer holding a whole 100,000-layer report
// (bench/scale.mjs measures the worker's memory at that size); big conv filter grids kept in the
// worker and fetched one layer at a time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { fork, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { WorkerClient } from '../../src/extension/worker/client';
import { WorkerMethod, type AnalyzeLayersParams, type AnalyzeResult, type Report } from '../../src/protocol';
import { GridBudget } from '../../src/worker/gridBudget';
import type { LayerReport } from '../../src/core/shared/reportTypes';
import { DIST, ensureProductionBuild } from './helpers/shippedBundles';

const FIX = path.join(__dirname, '..', 'fixtures');
const LAYERS = 2500;
let tmp: string, source: string, target: string;
const clients: WorkerClient[] = [];
const silent = { info() {}, warn() {}, error() {} };

/** A state dict of `n` small Linear layers (4x4 weight, bias), values from `seed`. */
async function writeManyLayers(file: string, n: number, seed: number): Promise<void> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (let i = 0; i < n; i++) {
    for (const [role, shape] of [['weight', [4, 4]], ['bias', [4]]] as const) {
      const bytes = 4 * shape.reduce((a, b) => a * b, 1);
      header[`blocks.${i}.proj.${role}`] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
  }
  const data = new Float32Array(offset / 4);
  let x = seed;
  for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) % 2147483648; data[i] = x / 2147483648 - 0.5; }
  const h = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  await fs.writeFile(file, Buffer.concat([len, h, Buffer.from(data.buffer)]));
}

before(async () => {
  ensureProductionBuild();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-pieces-'));
  source = path.join(tmp, 'source.safetensors');
  target = path.join(tmp, 'target.safetensors');
  await writeManyLayers(source, LAYERS, 1);
  await writeManyLayers(target, LAYERS, 2);
});

after(async () => {
  for (const c of clients) c.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

function client(): WorkerClient {
  const c = new WorkerClient({ workerPath: path.join(DIST, 'worker.js'), memoryLimitMb: 1024, log: silent });
  clients.push(c);
  return c;
}

test('a report of thousands of layers reaches the extension whole and in network order: the report the CLI prints', async () => {
  const a = await client().analyze({ source, target });
  const cli = spawnSync(process.execPath, [path.join(DIST, 'cli.js'), 'compare', source, target, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(cli.status, 0, cli.stderr);
  const printed = JSON.parse(cli.stdout) as Report;
  assert.equal(a.report.layers.length, LAYERS);
  assert.deepEqual(a.report.layers, printed.layers);
  assert.deepEqual(a.report.summary, printed.summary);
  assert.deepEqual(a.report.warnings, printed.warnings);
});

test('the worker sends the layers in pieces as they are judged, and answers with the rest of the report', async () => {
  const proc = fork(path.join(DIST, 'worker.js'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const conn = createMessageConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
  const pieces: Array<{ from: number; n: number }> = [];
  conn.onNotification(WorkerMethod.analyzeLayers, (p: AnalyzeLayersParams) => { pieces.push({ from: p.from, n: p.layers.length }); });
  conn.listen();
  try {
    const r = await conn.sendRequest<AnalyzeResult>(WorkerMethod.analyze, { source, target, progressId: 'x' });
    assert.deepEqual(r.report.layers, [], 'the answer holds no layer');
    assert.equal(r.layerCount, LAYERS);
    assert.equal(r.report.summary.layers, LAYERS, 'its summary covers them all');
    assert.ok(pieces.length >= 3, `${pieces.length} pieces`);
    let next = 0;
    for (const p of pieces) { assert.equal(p.from, next, 'pieces follow one another'); assert.ok(p.n <= 1000); next += p.n; }
    assert.equal(next, LAYERS);
  } finally {
    conn.dispose();
    proc.kill();
  }
});

test('conv filter grids past the budget stay in the worker, and the report panel gets each layer\'s on request, equal to the full ones', async () => {
  const c = client();
  const s = path.join(FIX, 'pairs', 'source.pt'), t = path.join(FIX, 'pairs', 'target.safetensors');
  const all = await c.analyze({ source: s, target: t, maxGridValues: 1e9 });
  const withGrids = all.report.layers.filter((l) => l.params.some((p) => p.filterGrid));
  assert.ok(withGrids.length >= 3, 'the fixture has conv layers with grids');
  assert.deepEqual(all.gridsOmitted, []);
  const first = withGrids[0].params.find((p) => p.filterGrid)!.filterGrid!.values.length;
  const some = await c.analyze({ source: s, target: t, maxGridValues: first });
  assert.deepEqual(some.gridsOmitted, withGrids.slice(1).map((l) => l.name), 'the first fits the budget; the rest are kept back');
  for (const l of some.report.layers) {
    const kept = some.gridsOmitted.includes(l.name);
    assert.equal(l.params.some((p) => p.filterGrid), !kept && withGrids.some((w) => w.name === l.name), l.name);
  }
  for (const name of some.gridsOmitted) {
    const fetched = await c.filterGrids({ analysisId: some.analysisId, layer: name });
    const full = withGrids.find((l) => l.name === name)!.params.filter((p) => p.filterGrid).map((p) => ({ role: p.role, ...p.filterGrid! }));
    assert.deepEqual(fetched.grids, full, name);
  }
  await assert.rejects(c.filterGrids({ analysisId: some.analysisId, layer: withGrids[0].name }), /kept no filter grids/);
});

test('grids go with their layers until the budget is spent; from then on every later layer\'s stay in the worker', () => {
  const base: LayerReport = {
    name: 'x', index: 0, kind: 'conv', matchedBy: 'name', verdict: 'reuse', reason: '', parameters: 1,
    params: [{ role: 'weight', shape: [1, 1, 1, 1], rmse: 0 }],
  } as unknown as LayerReport;
  const layer = (name: string, values: number): LayerReport => ({ ...base, name, params: [{ ...base.params[0], filterGrid: { rows: 1, cols: values, values: new Array(values).fill(0.1) } }] });
  const budget = new GridBudget(25);
  const sent = ['a', 'b', 'c', 'd'].map((n, i) => budget.take(layer(n, [10, 10, 10, 1][i])));
  assert.deepEqual(sent.map((l) => l.params[0].filterGrid?.values.length), [10, 10, undefined, undefined], 'd would fit, but follows a kept one');
  assert.deepEqual([...budget.kept.keys()], ['c', 'd']);
  assert.equal(budget.kept.get('c')![0].values.length, 10, 'the worker keeps what it did not send');
  const plain = { ...base, params: [{ ...base.params[0] }] };
  assert.equal(new GridBudget(0).take(plain), plain, 'a layer without grids goes as it is');
});
