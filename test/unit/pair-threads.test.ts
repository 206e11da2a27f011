// Large tensor pairs are cut into ranges that worker threads read and sum, one per core
// (src/core/tensor/pairThreads.ts). What a user relies on: the numbers are those of summing in one
// thread, the same whatever the number of cores, a file cut short underneath is reported by
// name, and a cancel stops the work at once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, writeFileSync, truncateSync, rmSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FilePool } from '../../src/core/tensor/tensorData';
import { compareTensors, TensorPairMetrics } from '../../src/core/analysis/metrics';
import { directReads, PairThreadPool, RANGE_ELEMENTS, sharedPairThreads, THREADS_MIN_ELEMENTS } from '../../src/core/tensor/pairThreads';
import { RangeSummer } from '../../src/core/tensor/rangeSum';
import { analyzePaths } from '../../src/core/analysis/engine';
import { CancelledError, CheckpointError } from '../../src/core/common/errors';
import { DType, TensorInfo } from '../../src/core/common/types';
import { SIMD_RELATIVE } from './helpers/sumsClose';

const tmp = mkdtempSync(join(tmpdir(), 'reuse-lens-threads-'));
const pools: PairThreadPool[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.dispose()));
  await sharedPairThreads()?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});
function pool(size: number, callerTakesShare = true): PairThreadPool {
  const p = new PairThreadPool(size, { callerTakesShare });
  pools.push(p);
  return p;
}

/** Deterministic pseudo-random values in [-0.5, 0.5). */
function randoms(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x / 4294967296 - 0.5; }
  return out;
}

function toF16(v: Float32Array): Uint8Array {
  const out = new Uint16Array(v.length);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < v.length; i++) {
    f[0] = v[i];
    const x = u[0], sign = (x >>> 16) & 0x8000, e = ((x >>> 23) & 0xff) - 127 + 15;
    out[i] = e <= 0 ? sign : e >= 31 ? sign | 0x7c00 : sign | (e << 10) | ((x >>> 13) & 0x3ff);
  }
  return new Uint8Array(out.buffer);
}

/** bfloat16 by truncation (the top half of each float32): any pattern will do, as long as both paths read the same. */
function toBf16(v: Float32Array): Uint8Array {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length), out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = u[i] >>> 16;
  return new Uint8Array(out.buffer);
}

interface Spec { name: string; shape: number[]; dtype: DType; values: Float32Array }

/** A raw file of tensors one after another (at odd offsets, as in real files); their TensorInfos. */
function writeTensors(file: string, specs: Spec[], lead = 13): TensorInfo[] {
  const parts: Uint8Array[] = [new Uint8Array(lead)];
  let offset = lead;
  const infos = specs.map((s) => {
    const bytes = s.dtype === 'F16' ? toF16(s.values) : s.dtype === 'BF16' ? toBf16(s.values) : new Uint8Array(s.values.buffer.slice(0));
    parts.push(bytes);
    const info: TensorInfo = { name: s.name, dtype: s.dtype, shape: s.shape, location: { kind: 'contiguous', file, offset, littleEndian: true } };
    offset += bytes.byteLength;
    return info;
  });
  writeFileSync(file, Buffer.concat(parts));
  return infos;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// A conv with a reported grid, a conv too wide for one, a linear weight over several ranges,
// and a float16 target, a bfloat16 pair (summed without decoding, pairSumBody in simd.ts):
// every kind of range the threads sum.
const shapes: Array<[string, number[], boolean]> = [
  ['conv_grid', [300, 40, 3, 3], true],
  ['conv_wide', [300, 300, 3, 3], true],
  ['linear', [1201, 2003], false],
];
function pairFiles(name: string, targetDtype: DType = 'F32', sourceDtype: DType = 'F32', leads = [13, 29]): { s: TensorInfo[]; t: TensorInfo[]; conv: boolean[] } {
  const src: Spec[] = [], tgt: Spec[] = [];
  shapes.forEach(([n, shape], k) => {
    const a = randoms(numel(shape), 10 + k);
    const noise = randoms(numel(shape), 20 + k);
    const b = a.map((x, i) => x + 0.05 * noise[i]);
    a[7] = NaN; b[1234] = Infinity; // counted per side, skipped in the sums
    src.push({ name: n, shape, dtype: sourceDtype, values: a });
    tgt.push({ name: n, shape, dtype: targetDtype, values: b });
  });
  return { s: writeTensors(join(tmp, `${name}-src.bin`), src, leads[0]), t: writeTensors(join(tmp, `${name}-tgt.bin`), tgt, leads[1]), conv: shapes.map(([, , c]) => c) };
}

async function compareAll(files: ReturnType<typeof pairFiles>, threads?: PairThreadPool, direct?: boolean): Promise<TensorPairMetrics[]> {
  const fp = new FilePool();
  try {
    const out: TensorPairMetrics[] = [];
    for (let i = 0; i < files.s.length; i++) out.push(await compareTensors(files.s[i], files.t[i], fp, { conv: files.conv[i], threads, direct }));
    return out;
  } finally { await fp.closeAll(); }
}

function assertNear(a: number | null, e: number | null, what: string): void {
  if (e === null || a === null || Number.isNaN(e)) { assert.deepEqual(a, e, what); return; }
  assert.ok(Math.abs(a - e) <= 2 * SIMD_RELATIVE * Math.abs(e), `${what}: ${a} vs ${e}`);
}

function assertSameMetrics(a: TensorPairMetrics, e: TensorPairMetrics, what: string): void {
  assert.equal(a.n, e.n, `${what}: elements compared`);
  assert.deepEqual(a.nonFinite, e.nonFinite, `${what}: NaN/Inf counted per side`);
  for (const k of ['rmse', 'relRmse', 'cosine', 'maxAbsDiff'] as const) assertNear(a[k], e[k], `${what} ${k}`);
  assert.equal(a.filterRmse?.length, e.filterRmse?.length, `${what}: one RMSE per filter`);
  e.filterRmse?.forEach((x, f) => assertNear(a.filterRmse![f], x, `${what} filter ${f}`));
  assert.equal(a.filterGrid?.values.length, e.filterGrid?.values.length, `${what}: grid cells`);
  e.filterGrid?.values.forEach((x, c) => assertNear(a.filterGrid!.values[c], x, `${what} cell ${c}`));
}

test('large pairs summed by the pair threads give the metrics of summing in one thread: totals, per filter, per cell, NaN counts', async () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as DType[]) {
    const files = pairFiles(`same-${dtype}`, dtype, dtype === 'BF16' ? 'BF16' : 'F32');
    const threads = pool(2);
    const [one, many] = [await compareAll(files), await compareAll(files, threads)];
    assert.ok(threads.rangesSummed >= 4, `the threads summed the ranges (${threads.rangesSummed})`);
    one.forEach((e, i) => assertSameMetrics(many[i], e, `${dtype} ${files.s[i].name}`));
    assert.ok(one[0].filterGrid && !one[1].filterGrid && one[2].filterRmse === undefined, 'the fixture covers grid, no grid and no filters');
    assert.ok(numel(shapes[2][1]) > RANGE_ELEMENTS, 'the linear weight spans several ranges');
  }
});

test('the numbers do not depend on how many threads share the work, nor on whether the caller takes a share', async () => {
  const files = pairFiles('count');
  const [two, three, threadsOnly] = [await compareAll(files, pool(2)), await compareAll(files, pool(3)), await compareAll(files, pool(2, false))];
  assert.deepEqual(three, two);
  assert.deepEqual(threadsOnly, two);
});

/** Whether files in `dir` can be opened for direct reads (ext4 and most disks' file systems can; tmpfs cannot). */
function directCapable(dir: string): boolean {
  const f = join(dir, 'probe-direct');
  writeFileSync(f, new Uint8Array(4096));
  try { closeSync(openSync(f, constants.O_RDONLY | (constants.O_DIRECT ?? 0))); return constants.O_DIRECT !== undefined; } catch { return false; } finally { rmSync(f, { force: true }); }
}

test('reads past the page cache (pairs larger than half the memory) give the numbers of reads through it: every dtype, tensors at any offset, the last ending inside a block at the file\'s end', async (t) => {
  // Leads: tensors at offsets off a block and off their element size (moved in the slot), at
  // offsets of whole elements only (summed where they lie), and block-aligned ones.
  for (const leads of [[13, 29], [8, 4094], [4096, 8192]]) {
    for (const dtype of ['F32', 'F16', 'BF16'] as DType[]) {
      const files = pairFiles(`direct-${dtype}-${leads[0]}`, dtype, dtype === 'BF16' ? 'BF16' : 'F32', leads);
      const before = RangeSummer.directReads;
      const [plain, direct] = [await compareAll(files, pool(2)), await compareAll(files, pool(2), true)];
      // The same ranges, read in larger chunks (the SIMD sums fold in blocks of other lengths).
      plain.forEach((e, i) => assertSameMetrics(direct[i], e, `${dtype}, leads ${leads}, ${files.s[i].name}`));
      if (directCapable(tmp)) assert.ok(RangeSummer.directReads > before, 'the calling thread read its share past the page cache');
      else t.diagnostic(`${tmp} does not take direct reads: only the fallback was tested`);
    }
  }
});

test('a compare reads past the page cache only pairs larger than half the machine\'s memory (REUSE_LENS_DIRECT_READS=1 or 0 decides instead)', () => {
  const env = process.env.REUSE_LENS_DIRECT_READS;
  try {
    delete process.env.REUSE_LENS_DIRECT_READS;
    assert.equal(directReads(totalmem() / 2), false);
    assert.equal(directReads(totalmem() / 2 + 1), true);
    process.env.REUSE_LENS_DIRECT_READS = '1';
    assert.equal(directReads(1), true);
    process.env.REUSE_LENS_DIRECT_READS = '0';
    assert.equal(directReads(totalmem() * 2), false);
  } finally {
    if (env === undefined) delete process.env.REUSE_LENS_DIRECT_READS; else process.env.REUSE_LENS_DIRECT_READS = env;
  }
});

test('a checkpoint cut short while the threads read it is refused with its name, and the threads go on serving (through the page cache and past it)', async () => {
  for (const direct of [false, true]) {
    const files = pairFiles(`cut-${direct}`);
    const threads = pool(2);
    const fp = new FilePool();
    const cut = join(tmp, `cut-${direct}-tgt.bin`);
    await fp.get(cut); // opened, its size taken, as when the checkpoint was parsed; then a trainer rewrites it
    truncateSync(cut, 1_000_003);
    await assert.rejects(compareTensors(files.s[2], files.t[2], fp, { conv: false, threads, direct }), (e: unknown) =>
      e instanceof CheckpointError && e.file === cut && /truncated/.test(e.problem));
    await fp.closeAll();
    assert.equal((await compareAll(pairFiles(`after-cut-${direct}`), threads, direct)).length, 3);
  }
});

/** One float32 pair of 12M elements (6 ranges), written once. */
let many: [TensorInfo, TensorInfo] | undefined;
function manyRanges(): [TensorInfo, TensorInfo] {
  const shape = [3000, 4000];
  many ??= [
    writeTensors(join(tmp, 'many-src.bin'), [{ name: 'w', shape, dtype: 'F32', values: randoms(numel(shape), 5) }])[0],
    writeTensors(join(tmp, 'many-tgt.bin'), [{ name: 'w', shape, dtype: 'F32', values: randoms(numel(shape), 6) }])[0],
  ];
  return many;
}

test('a cancel stops the threads within the ranges already running, and the threads serve the next compare', async () => {
  const [s, t] = manyRanges();
  const shape = s.shape;
  const threads = pool(2);
  const token = { cancelled: false };
  let ranges = 0;
  const fp = new FilePool();
  const all = Math.ceil(numel(shape) / RANGE_ELEMENTS);
  await assert.rejects(compareTensors(s, t, fp, { conv: false, threads, token, onElements: () => { ranges++; token.cancelled = true; } }),
    (e: unknown) => e instanceof CancelledError);
  // The caller holds one range and its thread two: the first to finish cancels, the other two finish.
  assert.ok(all >= 6 && ranges <= 3, `ranges after the cancel were dropped (${ranges} of ${all} ran)`);
  const m = await compareTensors(s, t, fp, { conv: false, threads });
  assert.equal(m.n, numel(shape));
  await fp.closeAll();
});

test('pair threads that die holding ranges do not fail the compare: the calling thread sums their ranges', async () => {
  const dying: [string, string] = ['../../test/unit/helpers/dyingPairThread.ts', 'unused.js'];
  // Many ranges, so that threads die again and again while the caller is busy with one.
  const [s, t] = manyRanges();
  const fp = new FilePool();
  try {
    const expected = await compareTensors(s, t, fp, { conv: false, threads: pool(2) });
    for (let i = 0; i < 3; i++) {
      const rescued = new PairThreadPool(3, { entry: dying });
      pools.push(rescued);
      assert.deepEqual(await compareTensors(s, t, fp, { conv: false, threads: rescued }), expected);
    }
    // Without the calling thread, a range is tried on a second thread, then given up: an error, never a hang.
    const alone = new PairThreadPool(2, { entry: dying, callerTakesShare: false });
    pools.push(alone);
    await assert.rejects(compareTensors(s, t, fp, { conv: false, threads: alone }), /a pair thread exited with code 3/);
  } finally {
    await fp.closeAll();
  }
});

/** A safetensors file (JSON header + raw little-endian bytes) of float32 tensors. */
function writeSafetensors(file: string, tensors: Array<[string, number[], Float32Array]>): void {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, shape, v] of tensors) { header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + v.byteLength] }; offset += v.byteLength; }
  let h = JSON.stringify(header);
  h = h.padEnd(Math.ceil(h.length / 8) * 8, ' ');
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(file, Buffer.concat([len, Buffer.from(h), ...tensors.map(([, , v]) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))]));
}

function bigCheckpoints(): [string, string] {
  const shape = [1024, 512, 3, 3];
  const n = numel(shape);
  assert.ok(2 * n >= THREADS_MIN_ELEMENTS, 'large enough for the threads to start');
  const a = randoms(n, 3), noise = randoms(n, 4);
  const b = a.map((x, i) => x + 0.1 * noise[i]);
  const [src, tgt] = [join(tmp, 'big-src.safetensors'), join(tmp, 'big-tgt.safetensors')];
  writeSafetensors(src, [['features.0.weight', shape, a], ['features.1.weight', shape, b]]);
  writeSafetensors(tgt, [['features.0.weight', shape, b], ['features.1.weight', shape, a]]);
  return [src, tgt];
}

/** The TensorInfo of tensor `name` of a safetensors file (the header read by hand). */
function safetensorsTensor(file: string, name: string): TensorInfo {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'))[name] as { shape: number[]; data_offsets: [number, number] };
  return { name, dtype: 'F32', shape: h.shape, location: { kind: 'contiguous', file, offset: 8 + n + h.data_offsets[0], littleEndian: true } };
}

test('a compare of large checkpoints hands its large pairs to the pair threads, with the numbers of one thread', async () => {
  const [src, tgt] = bigCheckpoints();
  const shared = sharedPairThreads();
  assert.ok(shared, 'this machine has at least two cores, or REUSE_LENS_THREADS says so');
  const before = shared.rangesSummed;
  const report = await analyzePaths(src, tgt);
  assert.ok(shared.rangesSummed > before, 'ranges were summed by the threads');
  const p = report.layers.flatMap((l) => l.params ?? []).find((x) => x.sourceName === 'features.0.weight')!;
  const fp = new FilePool();
  const alone = await compareTensors(safetensorsTensor(src, 'features.0.weight'), safetensorsTensor(tgt, 'features.0.weight'), fp, { conv: true });
  await fp.closeAll();
  assertNear(p.rmse ?? null, alone.rmse, 'rmse');
  assertNear(p.cosine ?? null, alone.cosine, 'cosine');
  p.filterRmse?.forEach((x, f) => assertNear(x, alone.filterRmse![f], `filter ${f}`));
  assert.equal(p.filterRmse?.length, 1024);
});

test('the command line gives the same report with and without threads, and reading past the page cache (the shipped bundles)', () => {
  const [src, tgt] = bigCheckpoints();
  const cli = join(__dirname, '../../dist/cli.js');
  const run = (threads: string, direct = '0') => {
    const r = spawnSync(process.execPath, [cli, 'compare', src, tgt, '--json'], { env: { ...process.env, REUSE_LENS_THREADS: threads, REUSE_LENS_DIRECT_READS: direct }, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { layers: Array<{ params?: Array<{ rmse: number; cosine: number; filterRmse?: number[] }> }> };
  };
  const [none, two, direct] = [run('0'), run('2'), run('2', '1')];
  for (const [r, what] of [[two, 'two threads'], [direct, 'two threads, past the page cache']] as const) {
    assert.equal(r.layers.length, none.layers.length);
    r.layers.forEach((l, i) => l.params?.forEach((p, j) => {
      const e = none.layers[i].params![j];
      assertNear(p.rmse, e.rmse, `${what}: layer ${i} rmse`);
      assertNear(p.cosine, e.cosine, `${what}: layer ${i} cosine`);
      p.filterRmse?.forEach((x, f) => assertNear(x, e.filterRmse![f], `${what}: layer ${i} filter ${f}`));
    }));
  }
});
