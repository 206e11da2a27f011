// Tensors that used to be read whole are streamed: TF.js weights spanning shards (positioned reads
// over the shards), deflated .npz members (inflated as read; a Fortran-order one paired with a
// C-order one through a spill file), chunked + gzip HDF5 datasets (a box of chunks at a time
// through the HDF5 thread) and the weights of a .keras (stored: read inside the archive; deflated:
// inflated to a spill file a chunk at a time), and quantized weights (TF.js uint8/uint16/float16,
// TFLite and ONNX QDQ int8 per-channel: dequantized as they are read, tiles of a transpose included). Through the
// shipped CLI each pair gives numpy's numbers (test/fixtures/gen_streamed.py, run here), and the
// peak memory of a compare stays about the same from a 16 MB to a 64 MB kernel (4 to 16 M
// elements), a pair costing less than one float64 copy of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const PY = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-streamed-'));
const tmp = join(dir, 'tmp');
mkdirSync(tmp);
test.after(() => rmSync(dir, { recursive: true, force: true }));

type Numbers = { rmse: number; maxAbsDiff: number; cosine: number };
const PAIRS: Record<string, [string, string]> = {
  tfjs: ['tfjs/src/model.json', 'tfjs/tgt/model.json'],
  npz: ['npz/src.npz', 'npz/tgt.npz'],
  h5: ['h5/src.h5', 'h5/tgt.h5'],
  'keras-stored': ['keras-stored/src.keras', 'keras-stored/tgt.keras'],
  'keras-deflated': ['keras-deflated/src.keras', 'keras-deflated/tgt.keras'],
  'tfjs-quantized': ['tfjs-quantized/src/model.json', 'tfjs-quantized/tgt/model.json'],
  'tflite-int8': ['tflite-int8/src.tflite', 'tflite-int8/tgt.tflite'],
  'onnx-int8': ['onnx-int8/src.onnx', 'onnx-int8/tgt.onnx'],
  // Two layouts: the TF.js kernels ([in, out], [h, w, in, out]) dequantized tile by tile in the transpose.
  'quantized-vs-float': ['tfjs-quantized/src/model.json', 'tfjs-quantized/linear-tgt.safetensors'],
};

function generate(out: string, ...args: string[]): Record<string, Record<string, Numbers>> & { bytes: number } {
  const r = spawnSync(PY, [join(ROOT, 'test/fixtures/gen_streamed.py'), out, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, 'expected.json'), 'utf8'));
}

function compare(a: string, b: string, rssFile?: string): { params: Array<Numbers & { sourceName: string }>; rssMB?: number; stderr: string } {
  const args = rssFile ? ['--require', join(ROOT, 'bench/rss-report.cjs'), CLI] : [CLI];
  // Its own temp folder: what it spills there must be gone when it ends.
  const r = spawnSync(process.execPath, [...args, 'compare', a, b, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TMPDIR: tmp, ...(rssFile ? { REUSE_LENS_BENCH_RSS: rssFile } : {}) } });
  assert.equal(r.status, 0, `${a}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { layers: { params: Array<Numbers & { sourceName: string }> }[] };
  return { params: report.layers.flatMap((l) => l.params), rssMB: rssFile ? JSON.parse(readFileSync(rssFile, 'utf8')).maxRssKB / 1024 : undefined, stderr: r.stderr };
}

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-9 + 1e-6 * Math.abs(b), `${what}: ${a} vs numpy ${b}`);
}

const small = join(dir, 'small');
let expected: ReturnType<typeof generate>;
test.before(() => { expected = generate(small); });

for (const [pair, [a, b]] of Object.entries(PAIRS)) {
  test(`${pair}: the shipped CLI gives numpy's RMSE, max |diff| and cosine for every streamed tensor`, () => {
    const { params } = compare(join(small, a), join(small, b));
    const want = expected[pair];
    for (const name of Object.keys(want)) {
      const p = params.find((x) => x.sourceName === name);
      assert.ok(p, `${pair}: ${name} is in the report (${params.map((x) => x.sourceName).join(', ')})`);
      close(p.rmse, want[name].rmse, `${pair} ${name} rmse`);
      close(p.maxAbsDiff, want[name].maxAbsDiff, `${pair} ${name} max |diff|`);
      close(p.cosine, want[name].cosine, `${pair} ${name} cosine`);
    }
  });
}

test('each format is read the streamed way: shard runs, deflate streams, HDF5 boxes, data inside the .keras', async () => {
  const kinds = async (p: string) => Object.fromEntries((await openCheckpoint(join(small, p))).tensors.map((t) => [t.name, t.location]));
  const tf = await kinds(PAIRS.tfjs[0]);
  assert.equal(tf['dense/kernel'].kind, 'segmented');
  assert.equal((tf['dense/kernel'] as { segments: unknown[] }).segments.length, 3);
  const npz = await kinds(PAIRS.npz[0]);
  assert.deepEqual([npz['c.weight'].kind, npz['f.weight'].kind], ['deflated', 'deflated']);
  const h5 = await kinds(PAIRS.h5[0]);
  assert.deepEqual([h5['dense/kernel'].kind, h5['conv2d/kernel'].kind], ['slabs', 'slabs']);
  const stored = await kinds(PAIRS['keras-stored'][0]);
  assert.deepEqual(stored['dense/kernel'], { ...stored['dense/kernel'], kind: 'contiguous', file: join(small, PAIRS['keras-stored'][0]) }, 'a stored member is read inside the archive');
  assert.equal(stored['conv2d/kernel'].kind, 'slabs');
  const deflated = await kinds(PAIRS['keras-deflated'][0]);
  assert.equal(deflated['dense/kernel'].kind, 'contiguous');
  assert.equal(deflated['conv2d/kernel'].kind, 'slabs');
  // Quantized weights are located where their integers lie (dequantized on read), not loaded whole.
  const q = await kinds(PAIRS['tfjs-quantized'][0]);
  assert.deepEqual([q['conv2d/kernel'].kind, q['dense/kernel'].kind, q['dense/bias'].kind], ['contiguous', 'segmented', 'contiguous']);
  const lite = await kinds(PAIRS['tflite-int8'][0]);
  assert.ok(Object.values(lite).every((l) => l.kind === 'contiguous'), 'every TFLite weight is read where it lies');
  const onnx = await kinds(PAIRS['onnx-int8'][0]);
  assert.deepEqual([onnx['conv1.weight_quantized'].kind, onnx['fc.weight_quantized'].kind], ['contiguous', 'contiguous']);
});

test('a stored .keras (what Keras writes) is read where it lies: it compares with no temp folder at all; a deflated one says it needs one', () => {
  const none = join(dir, 'no-such-folder');
  const [a, b] = PAIRS['keras-stored'];
  const r = spawnSync(process.execPath, [CLI, 'compare', join(small, a), join(small, b), '--json'], { encoding: 'utf8', env: { ...process.env, TMPDIR: none } });
  assert.equal(r.status, 0, r.stderr);
  const p = (JSON.parse(r.stdout) as { layers: { params: Array<Numbers & { sourceName: string }> }[] }).layers.flatMap((l) => l.params).find((x) => x.sourceName === 'dense/kernel')!;
  close(p.rmse, expected['keras-stored']['dense/kernel'].rmse, 'dense/kernel rmse');
  const [c, d] = PAIRS['keras-deflated'];
  const bad = spawnSync(process.execPath, [CLI, 'compare', join(small, c), join(small, d)], { encoding: 'utf8', env: { ...process.env, TMPDIR: none } });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, new RegExp(`${join(small, c).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: reading zip entry model\\.weights\\.h5 needs a temporary file, and the temp folder .*no-such-folder cannot be written`));
});

test('peak memory does not grow with the tensor: a 16 MB and a 64 MB kernel in each format, quantized ones included, a pair under one float64 copy (dist/cli.js)', (t) => {
  const formats = ['tfjs', 'npz', 'h5', 'keras-deflated', 'tfjs-quantized', 'tflite-int8', 'onnx-int8', 'quantized-vs-float'];
  const sets = [['mid', '2048'], ['big', '4096']].map(([name, side]) => {
    const out = join(dir, name);
    return { out, e: generate(out, '--side', side, '--only', formats.join(',')) };
  });
  const name = (pair: string) => ({ npz: 'c.weight', 'tflite-int8': 'model/dense/MatMul', 'onnx-int8': 'fc.weight_quantized' } as Record<string, string>)[pair] ?? 'dense/kernel';
  const peak = (root: string, pair: string, e?: ReturnType<typeof generate>) => {
    const [a, b] = PAIRS[pair];
    const r = compare(join(root, a), join(root, b), join(dir, `rss-${pair}.json`));
    if (e) close(r.params.find((p) => p.sourceName === name(pair))!.rmse, e[pair][name(pair)].rmse, `${pair} rmse`);
    return r.rssMB!;
  };
  const [mid, big] = sets;
  const f64 = (bytes: number) => (bytes * 2) / (1 << 20);
  const grown = f64(big.e.bytes) - f64(mid.e.bytes);
  for (const pair of formats) {
    // The same command on the small pair: node, the engine, h5wasm and the fixed band buffers.
    const base = peak(small, pair);
    const [m, g] = [peak(mid.out, pair, mid.e), peak(big.out, pair, big.e)];
    const what = `${pair}: peak RSS ${base.toFixed(0)} MB (small pair), ${m.toFixed(0)} MB (16 MB kernel), ${g.toFixed(0)} MB (64 MB kernel)`;
    t.diagnostic(what);
    // A whole read would add the float32 bytes and a float64 copy per side (a transposed second
    // copy too): 3x the float64 size for the pair. Streamed, the pair costs less than one copy.
    assert.ok(g - base < f64(big.e.bytes), `${what}; the kernel's float64 copy is ${f64(big.e.bytes)} MB`);
    // Four times the tensor, about the same memory: a whole read would grow by 3x the float64
    // growth at least (float32 bytes + float64 copy, both sides). The inflater's output buffers
    // are garbage V8 collects in bursts (up to ~64 MB of external memory between collections),
    // which a 16 MB tensor does not reach: that much growth is allowed.
    assert.ok(g - m < 0.75 * grown, `${what}; grew by ${(g - m).toFixed(0)} MB while the float64 size grew by ${grown} MB`);
  }
  // Spill files (the Fortran-order member, the inflated .keras weights) are gone when the compare ends.
  assert.deepEqual(readdirSync(tmp), []);
});
