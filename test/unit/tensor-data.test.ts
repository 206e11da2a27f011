// Streaming tensor data: chunk boundaries anywhere must give the numbers of one whole read;
// buffers are reused but never shared between live streams; bad locations are refused.
import { assertSumsClose } from './helpers/sumsClose';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilePool, streamPair, streamTensor, readTensor } from '../../src/core/tensor/tensorData';
import type { Values } from '../../src/core/tensor/pairTypes';
import { accumulatePair, emptySums, PairSums } from '../../src/core/tensor/kernels';
import { DType, TensorInfo } from '../../src/core/common/types';
import { CheckpointError, CancelledError } from '../../src/core/common/errors';

const FIXTURE = join(__dirname, '../fixtures/dtypes/halfs.safetensors');

/** TensorInfo of each tensor of the fixture (written by torch; header parsed by hand here). */
function tensors(path = FIXTURE): Record<string, TensorInfo> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: DType; shape: number[]; data_offsets: [number, number] }>;
  return Object.fromEntries(Object.entries(header).map(([name, v]) => [name, {
    name, dtype: v.dtype, shape: v.shape, location: { kind: 'contiguous', file: path, offset: 8 + n + v.data_offsets[0], littleEndian: true },
  } as TensorInfo]));
}

async function sumsOf(s: TensorInfo, t: TensorInfo, chunk: number, given?: FilePool): Promise<{ sums: PairSums; types: Set<string>; starts: number[] }> {
  const pool = given ?? new FilePool();
  try { return await sumsIn(s, t, chunk, pool); } finally { if (!given) await pool.closeAll(); }
}

async function sumsIn(s: TensorInfo, t: TensorInfo, chunk: number, pool: FilePool): Promise<{ sums: PairSums; types: Set<string>; starts: number[] }> {
  const sums = emptySums();
  const types = new Set<string>();
  const starts: number[] = [];
  for await (const c of streamPair(s, t, pool, chunk)) {
    types.add(c.source.constructor.name); types.add(c.target.constructor.name);
    starts.push(c.start);
    assert.equal(c.source.length >= c.length && c.target.length >= c.length, true);
    accumulatePair(sums, c.source, c.target, c.length);
  }
  return { sums, types, starts };
}

async function wholeSums(s: TensorInfo, t: TensorInfo): Promise<PairSums> {
  const pool = new FilePool();
  const [a, b] = [await readTensor(s, pool), await readTensor(t, pool)];
  await pool.closeAll();
  const acc = emptySums();
  accumulatePair(acc, a, b, a.length);
  return acc;
}

/** Streamed float32 pairs run in the SIMD kernel: float32 blocks folded into float64 (helpers/sumsClose.ts). */
const close = (a: PairSums, e: PairSums, what: string) => assertSumsClose(a, e, what);

test('a pair streamed in chunks that split at odd places gives the sums of reading both whole', async () => {
  const t = tensors();
  for (const [a, b] of [['src', 'tgt'], ['src_f16', 'tgt_f16'], ['src_bf16', 'tgt_bf16'], ['src', 'tgt_f16'], ['f16', 'bf16']]) {
    const whole = await wholeSums(t[a], t[b]);
    assert.ok(whole.n > 0);
    for (const chunk of [1, 3, 7, 64, 999, 1000, 1001, 1 << 18]) {
      const { sums, starts } = await sumsOf(t[a], t[b], chunk);
      close(sums, whole, `${a} vs ${b}, chunks of ${chunk}`);
      assert.equal(starts.length, Math.ceil(t[a].shape[0] / chunk));
    }
  }
});

test('float32, float16 and bfloat16 pairs stream as float32 (no float64 copy); others as float64', async () => {
  const t = tensors();
  assert.deepEqual([...(await sumsOf(t.src, t.tgt, 100)).types], ['Float32Array']);
  assert.deepEqual([...(await sumsOf(t.src_f16, t.tgt_bf16, 100)).types], ['Float32Array']);
  assert.deepEqual([...(await sumsOf(t.f16_bits, t.f16, 100)).types], ['Float64Array']);
});

test('streamTensor chunks put together equal readTensor, for every dtype in the fixture', async () => {
  const t = tensors();
  const pool = new FilePool();
  for (const info of Object.values(t)) {
    const whole = await readTensor(info, pool);
    for (const chunk of [1, 5, 333, 4096]) {
      const got = new Float64Array(whole.length);
      for await (const c of streamTensor(info, pool, chunk)) got.set(c.data.subarray(0, c.length), c.start);
      assert.deepEqual(got, whole, `${info.name} in chunks of ${chunk}`);
    }
  }
  await pool.closeAll();
});

test('two streams alive at once on one pool never share a buffer, and stopping early frees nothing still in use', async () => {
  const t = tensors();
  const pool = new FilePool();
  const expectA = await wholeSums(t.src, t.tgt), expectB = await wholeSums(t.src_f16, t.tgt_bf16);
  // Stop one stream after a chunk, so its buffers go back to the pool for the next ones.
  for await (const c of streamPair(t.src, t.tgt, pool, 7)) { assert.equal(c.start, 0); break; }
  const ga = streamPair(t.src, t.tgt, pool, 37), gb = streamPair(t.src_f16, t.tgt_bf16, pool, 37);
  const a = emptySums(), b = emptySums();
  for (;;) {
    const [x, y] = await Promise.all([ga.next(), gb.next()]);
    if (x.done || y.done) { assert.equal(x.done, y.done); break; }
    accumulatePair(a, x.value.source, x.value.target, x.value.length);
    accumulatePair(b, y.value.source, y.value.target, y.value.length);
  }
  close(a, expectA, 'first stream'); close(b, expectB, 'second stream');
  await pool.closeAll();
});

test('a permuted tensor streams in canonical order, paired with a contiguous one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-td-'));
  const file = join(dir, 'm.bin');
  // Stored [2,3] row-major: 0..5; canonical = transpose [3,2]: 0 3 1 4 2 5.
  writeFileSync(file, Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5, 0, 3, 1, 4, 2, 5]).buffer));
  const stored: TensorInfo = { name: 'k', dtype: 'F32', shape: [3, 2], storedShape: [2, 3], permute: [1, 0], location: { kind: 'contiguous', file, offset: 0, littleEndian: true } };
  const canonical: TensorInfo = { name: 'c', dtype: 'F32', shape: [3, 2], location: { kind: 'contiguous', file, offset: 24, littleEndian: true } };
  const seen: number[][] = [];
  const pool = new FilePool();
  for await (const c of streamPair(stored, canonical, pool, 4)) seen.push([...c.source.subarray(0, c.length)], [...c.target.subarray(0, c.length)]);
  await pool.closeAll();
  assert.deepEqual(seen, [[0, 3, 1, 4], [0, 3, 1, 4], [2, 5], [2, 5]]);
});

test('a tensor that runs past the end of its file is refused with a CheckpointError naming the file', async () => {
  const t = tensors();
  const loc = t.src.location as Extract<TensorInfo['location'], { kind: 'contiguous' }>;
  const bad: TensorInfo = { ...t.src, location: { ...loc, offset: 39_000 } };
  await assert.rejects(sumsOf(bad, t.tgt, 100), (e: unknown) => e instanceof CheckpointError && e.file === FIXTURE && /truncated/.test(e.message));
  const pool = new FilePool();
  await assert.rejects(async () => { for await (const c of streamTensor(bad, pool)) void c; }, CheckpointError);
  await pool.closeAll();
});

test('a cancelled stream stops with CancelledError', async () => {
  const t = tensors();
  const token = { cancelled: false };
  let chunks = 0;
  const pool = new FilePool();
  await assert.rejects(async () => {
    for await (const c of streamPair(t.src, t.tgt, pool, 10, token)) { void c; if (++chunks === 3) token.cancelled = true; }
  }, CancelledError);
  await pool.closeAll();
  assert.equal(chunks, 3);
});

test('values stay exact through streaming: float16 chunks hold what PyTorch reads', async () => {
  const t = tensors();
  const pool = new FilePool();
  const expected = await readTensor(t.f16_as_f32, pool);
  const got: number[] = [];
  for await (const c of streamPair(t.f16, t.f16_as_f32, pool, 77)) got.push(...(c.source as Values).subarray(0, c.length));
  await pool.closeAll();
  assert.equal(got.length, expected.length);
  for (let i = 0; i < got.length; i++) assert.ok(Object.is(got[i], expected[i]) || (Number.isNaN(got[i]) && Number.isNaN(expected[i])), `element ${i}`);
});

test('small tensors read through the file windows (buffers reused window after window) come out as the file holds them, two readers of one file at once included', async () => {
  // 3.5 MB of 40 KB pieces, each filled with its own index: four windows, each replaced while
  // the other reader may still copy out of the one before.
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-windows-'));
  const path = join(dir, 'many.bin');
  const piece = 40 * 1024, pieces = 90;
  const all = new Uint8Array(piece * pieces);
  for (let k = 0; k < pieces; k++) all.fill(k, k * piece, (k + 1) * piece);
  writeFileSync(path, all);
  const pool = new FilePool();
  try {
    const read = async (k: number): Promise<void> => {
      const into = new Uint8Array(piece);
      await pool.readSmall(path, k * piece, piece, into);
      assert.ok(into.every((b) => b === k), `piece ${k} holds its own bytes`);
    };
    // Forward, as a compare reads; and one reader forward, one backward, interleaved.
    for (let k = 0; k < pieces; k++) await read(k);
    for (let k = 0; k < pieces; k++) await Promise.all([read(k), read(pieces - 1 - k)]);
  } finally { await pool.closeAll(); rmSync(dir, { recursive: true, force: true }); }
});
