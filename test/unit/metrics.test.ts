import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareTensors, gridValue } from '../../src/core/analysis/metrics';
import { FilePool } from '../../src/core/tensor/tensorData';
import { TensorInfo } from '../../src/core/common/types';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An in-memory tensor: float64 little-endian bytes handed out by a loader. */
function mem(name: string, shape: number[], values: number[]): TensorInfo {
  const bytes = new Uint8Array(new Float64Array(values).buffer);
  return { name, dtype: 'F64', shape, location: { kind: 'loader', load: async () => bytes, littleEndian: true } };
}

function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => { x = (x * 1664525 + 1013904223) >>> 0; return x / 2 ** 32 - 0.5; };
}

/** The same metrics computed the obvious way, whole arrays at once. */
function reference(s: number[], t: number[], shape: number[]) {
  const n = s.length;
  let dd = 0, ss = 0, tt = 0, st = 0, mx = 0;
  for (let i = 0; i < n; i++) { const d = s[i] - t[i]; dd += d * d; ss += s[i] ** 2; tt += t[i] ** 2; st += s[i] * t[i]; mx = Math.max(mx, Math.abs(d)); }
  const [out, inp] = shape;
  const cell = n / (out * inp);
  const filterRmse = Array.from({ length: out }, (_, o) => {
    let a = 0; for (let k = o * inp * cell; k < (o + 1) * inp * cell; k++) a += (s[k] - t[k]) ** 2;
    return Math.sqrt(a / (inp * cell));
  });
  const grid = Array.from({ length: out * inp }, (_, c) => {
    let a = 0; for (let k = c * cell; k < (c + 1) * cell; k++) a += (s[k] - t[k]) ** 2;
    return Math.sqrt(a / cell);
  });
  return { rmse: Math.sqrt(dd / n), relRmse: Math.sqrt(dd / n) / Math.sqrt(ss / n), cosine: st / Math.sqrt(ss * tt), maxAbsDiff: mx, filterRmse, grid };
}

function close(a: number, b: number, what: string, rel = 1e-12) {
  assert.ok(Math.abs(a - b) <= rel * Math.max(1e-300, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

test('per-filter and per-cell RMSE are right when chunk boundaries fall inside filters and cells', async () => {
  const shape = [5, 3, 3, 3];
  const rnd = seeded(7);
  const s = Array.from({ length: 135 }, rnd);
  const t = s.map((v, i) => v + (i % 11 === 0 ? 0.3 : 0.01) * rnd());
  const ref = reference(s, t, shape);
  const pool = new FilePool();
  // 7 and 13 divide neither a cell (9) nor a filter (27); 1000 holds the whole tensor in one chunk.
  for (const chunkElements of [7, 13, 1000]) {
    const m = await compareTensors(mem('s', shape, s), mem('t', shape, t), pool, { conv: true, chunkElements });
    close(m.rmse!, ref.rmse, 'rmse'); close(m.relRmse!, ref.relRmse, 'relRmse'); close(m.cosine!, ref.cosine, 'cosine');
    close(m.maxAbsDiff!, ref.maxAbsDiff, 'maxAbsDiff');
    assert.equal(m.filterRmse!.length, 5);
    m.filterRmse!.forEach((v, i) => close(v, ref.filterRmse[i], `filter ${i} at chunk ${chunkElements}`));
    assert.deepEqual([m.filterGrid!.rows, m.filterGrid!.cols], [5, 3]);
    // Grid cells are display detail, kept to 7 significant digits.
    m.filterGrid!.values.forEach((v, i) => close(v, ref.grid[i], `cell ${i} at chunk ${chunkElements}`, 1e-6));
  }
  await pool.closeAll();
});

test('counts NaN and Inf instead of returning a NaN RMSE', async () => {
  const pool = new FilePool();
  const m = await compareTensors(mem('s', [4], [1, NaN, 3, 4]), mem('t', [4], [1, 2, Infinity, 5]), pool, { conv: false });
  assert.deepEqual(m.nonFinite, { source: 1, target: 1 });
  // Only the finite pairs (1,1) and (4,5) count.
  close(m.rmse!, Math.sqrt(1 / 2), 'rmse');
  assert.ok(Number.isFinite(m.rmse!));
});

test('relative RMSE of identical tensors is 0 and of an all-zero source with a change is undefined (null)', async () => {
  const pool = new FilePool();
  const same = await compareTensors(mem('s', [3], [1, 2, 3]), mem('t', [3], [1, 2, 3]), pool, { conv: false });
  assert.deepEqual([same.rmse, same.relRmse, same.maxAbsDiff], [0, 0, 0]);
  const zero = await compareTensors(mem('s', [2], [0, 0]), mem('t', [2], [1, 1]), pool, { conv: false });
  assert.equal(zero.relRmse, null);
  assert.equal(zero.rmse, 1);
});

test('stops between chunks when cancelled', async () => {
  const pool = new FilePool();
  const token = { cancelled: false };
  const n = 100;
  await assert.rejects(compareTensors(mem('s', [n], new Array(n).fill(1)), mem('t', [n], new Array(n).fill(2)), pool, {
    conv: false, chunkElements: 10, token, onElements: () => { token.cancelled = true; },
  }), /cancelled/);
});

test('grid cells are rounded to the 7 significant digits toPrecision gives, at every magnitude', () => {
  let x = 0x2545f491;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
  const values = [1, 10, 0.1, 1e-7, 9.9999995, 0.00099999995, 123456.75, 1e22, 1e-30, -3.14159265, 5e-324];
  for (let i = 0; i < 50_000; i++) values.push((next() - 0.25) * 10 ** Math.floor(next() * 40 - 20));
  for (const v of values) {
    const expected = Number(v.toPrecision(7));
    const got = gridValue(v);
    assert.ok(got === expected || Math.abs(got - expected) <= 1e-6 * Math.abs(expected), `${v}: ${got} vs ${expected}`);
  }
  assert.ok(Number.isNaN(gridValue(NaN)));
  assert.equal(gridValue(0), 0);
});

test('per-cell RMSE of float32 files (summed in WebAssembly) is right across chunk edges, past the output area, and around NaN', async () => {
  // [1000, 10, 3, 3]: 10,000 cells, more than the module writes per call (CELL_SLOTS).
  const shape = [1000, 10, 3, 3];
  const n = shape.reduce((a, b) => a * b);
  const rnd = seeded(11);
  const s = Float32Array.from({ length: n }, rnd);
  const t = s.map((v, i) => v + (i % 7 === 0 ? 0.2 : 0.01) * rnd());
  s[4] = NaN; t[40_000] = Infinity; // cells 0 and 4444: their other pairs still count
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-cells-'));
  const file = (name: string, v: Float32Array) => { const p = join(dir, name); writeFileSync(p, Buffer.concat([Buffer.alloc(3), Buffer.from(v.buffer)])); return p; };
  const info = (name: string, p: string): TensorInfo => ({ name, dtype: 'F32', shape, location: { kind: 'contiguous', file: p, offset: 3, littleEndian: true } });
  const [sp, tp] = [file('s.bin', s), file('t.bin', t)];
  const expected = Array.from({ length: 10_000 }, (_, c) => {
    let a = 0, k = 0;
    for (let i = c * 9; i < c * 9 + 9; i++) { const d = s[i] - t[i]; if (Number.isFinite(d)) { a += d * d; k++; } }
    return Math.sqrt(a / k);
  });
  const pool = new FilePool();
  try {
    for (const chunkElements of [13, 4096, 1 << 18]) {
      const m = await compareTensors(info('s', sp), info('t', tp), pool, { conv: true, chunkElements });
      assert.equal(m.filterGrid!.values.length, 10_000);
      m.filterGrid!.values.forEach((v, i) => close(v, expected[i], `cell ${i} at chunk ${chunkElements}`, 2e-6));
    }
  } finally {
    await pool.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a "conv" with more filters than any real one gets no per-filter detail (bounded memory), only its totals', async () => {
  const shape = [70_000, 1, 3];
  const rnd = seeded(3);
  const s = Array.from({ length: 210_000 }, rnd), t = s.map((v) => v + 0.01 * rnd());
  const pool = new FilePool();
  const m = await compareTensors(mem('s', shape, s), mem('t', shape, t), pool, { conv: true });
  await pool.closeAll();
  assert.equal(m.filterRmse, undefined);
  assert.equal(m.filterGrid, undefined);
  assert.equal(m.n, 210_000);
  assert.ok(m.rmse! > 0);
});
