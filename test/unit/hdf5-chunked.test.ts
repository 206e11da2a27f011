// Chunked HDF5 kernels (gzip, shuffle, fletcher32, a chunk stored raw by its filter mask, edge
// chunks partly outside the dataset) are read without HDF5: chunk by chunk at the offsets the
// chunk table gives, inflated by Node's zlib (formats/hdf5Chunks.ts). Every box equals h5py's
// reading byte for byte (test/fixtures/gen_hdf5_filters.py, run here); through the shipped CLI
// the filtered file compares with the same values stored plainly as identical, and a kernel in a
// .keras is read inside the archive. A plugin filter h5wasm lacks (lzf) is refused when the file
// is opened, unless it is on a string variable that is skipped anyway; a damaged chunk is an
// error naming the file, never wrong numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { chunksDecodedNatively } from '../../src/core/formats/hdf5Chunks';
import { ensureProductionBuild } from './helpers/shippedBundles';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-hdf5-chunked-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let manifest: Record<string, { shape: number[]; dtype: string }>;

test.before(() => {
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'test/fixtures/gen_hdf5_filters.py'), dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
});

/** The box [start, start + count) of a C-order array of `shape` with `size`-byte elements. */
function box(all: Buffer, shape: number[], size: number, start: number[], count: number[]): Buffer {
  const out: Buffer[] = [];
  const idx = [...start];
  const rank = shape.length;
  for (;;) {
    let off = 0;
    for (let k = 0; k < rank; k++) off = off * shape[k] + idx[k];
    out.push(all.subarray(off * size, (off + count[rank - 1]) * size));
    let k = rank - 2;
    while (k >= 0 && ++idx[k] >= start[k] + count[k]) { idx[k] = start[k]; k--; }
    if (k < 0) break;
  }
  return Buffer.concat(out);
}

test('every box of a gzip, shuffle+gzip, fletcher32, raw-chunk, float64 or 4-D chunked kernel equals h5py\'s reading, read without HDF5', async () => {
  const ck = await openCheckpoint(join(dir, 'filters.h5'));
  for (const [layer, m] of Object.entries(manifest)) {
    const t = ck.tensors.find((x) => x.name === `${layer}/kernel`);
    assert.ok(t, layer);
    assert.equal(t.location.kind, 'slabs', `${layer} is read by boxes`);
    const loc = t.location as Extract<typeof t.location, { kind: 'slabs' }>;
    const truth = readFileSync(join(dir, `${layer}.bin`));
    const size = m.dtype.endsWith('8') ? 8 : 4;
    const shape = m.shape;
    // The whole dataset, a box across chunk edges, and a one-element box in the last (edge) chunk.
    const boxes: Array<[number[], number[]]> = [
      [shape.map(() => 0), shape],
      [shape.map((d) => Math.floor(d / 3)), shape.map((d) => Math.max(1, Math.floor(d / 2)))],
      [shape.map((d) => d - 1), shape.map(() => 1)],
    ];
    const before = chunksDecodedNatively();
    for (const [start, count] of boxes) {
      const n = count.reduce((a, b) => a * b, 1) * size;
      const got = await loc.read(start, count, new Uint8Array(n));
      assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(box(truth, shape, size, start, count)), `${layer} box at [${start}] of [${count}]`);
    }
    assert.ok(chunksDecodedNatively() - before > 2, `${layer}: chunks were decoded here, not by HDF5`);
  }
});

test('a shuffle+gzip kernel inside a .keras (its weights stored in the zip) is read natively inside the archive, equal to h5py\'s reading', async () => {
  const ck = await openCheckpoint(join(dir, 'filters.keras'));
  const t = ck.tensors.find((x) => x.name === 'dense/kernel')!;
  assert.equal(t.location.kind, 'slabs');
  const loc = t.location as Extract<typeof t.location, { kind: 'slabs' }>;
  const shape = manifest.shuffle.shape;
  const before = chunksDecodedNatively();
  const got = await loc.read(shape.map(() => 0), shape, new Uint8Array(shape[0] * shape[1] * 4));
  assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(readFileSync(join(dir, 'shuffle.bin'))));
  assert.ok(chunksDecodedNatively() - before > 2, 'chunks were decoded here, at offsets inside the archive');
});

test('the shipped CLI reads the filtered kernels as the same values stored plainly (RMSE and max |diff| exactly 0)', () => {
  ensureProductionBuild();
  const r = spawnSync(process.execPath, [CLI, 'compare', join(dir, 'filters.h5'), join(dir, 'plain.h5'), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const params = (JSON.parse(r.stdout) as { layers: { params: { sourceName: string; rmse: number; maxAbsDiff: number }[] }[] }).layers.flatMap((l) => l.params);
  assert.deepEqual(params.map((p) => p.sourceName).sort(), Object.keys(manifest).map((l) => `${l}/kernel`).sort());
  for (const p of params) assert.deepEqual([p.sourceName, p.rmse, p.maxAbsDiff], [p.sourceName, 0, 0]);
});

test('a kernel compressed with a plugin filter HDF5 lacks here (lzf) is refused when the file is opened, naming the file, the dataset and the filter', () => {
  const file = join(dir, 'lzf.h5');
  const r = spawnSync(process.execPath, [CLI, 'inspect', file], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout);
  assert.ok(r.stderr.includes(`${file}: dataset dense/dense/kernel:0 is compressed with the HDF5 filter lzf (id 32000), which Reuse Lens cannot decode`), r.stderr);
});

test('a string variable compressed with a plugin filter (lzf) is skipped with a warning, and the file\'s kernel is still read', () => {
  ensureProductionBuild();
  const file = join(dir, 'lzf-string.h5');
  const r = spawnSync(process.execPath, [CLI, 'inspect', file, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tensors: { name: string; shape: number[] }[]; warnings: string[] };
  assert.deepEqual(out.tensors.map((t) => [t.name, t.shape]), [['lookup/kernel', [120, 160]]]); // the [160, 120] Dense kernel, shown [out, in]
  assert.deepEqual(out.warnings, ['lookup/vocabulary: string of 4 bytes is not a numeric type Reuse Lens compares; skipped']);
});

test('a damaged gzip chunk ends the compare with an error naming the file and the dataset, not with numbers', () => {
  const file = join(dir, 'damaged.h5');
  const r = spawnSync(process.execPath, [CLI, 'compare', file, join(dir, 'plain.h5')], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: dataset gzip/gzip/kernel:0: a gzip chunk does not inflate .*: the file is damaged`));
});
