// Large Keras kernels stored plainly (what h5py writes by default) are read at their file offset,
// found from the dataset's HDF5 object header, and streamed transposed a band at a time, instead
// of whole through h5wasm: version-1 headers (dense_a.h5) and version-2 headers behind a user
// block (dense_b.h5) alike. The numbers, through the shipped CLI, are numpy's
// (test/fixtures/gen_keras_direct.py), Keras with Keras and Keras with PyTorch layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';

const ROOT = resolve(__dirname, '../..');
const DIR = join(ROOT, 'test', 'fixtures', 'keras-direct');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, { rmse: number; maxAbsDiff: number; cosine: number; filterRmse?: number[] }>;

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-9 + 1e-6 * Math.abs(b), `${what}: ${a} vs numpy ${b}`);
}

for (const target of ['dense_b.h5', 'dense_b.safetensors']) {
  test(`dense_a.h5 against ${target} (dist/cli.js) gives numpy's RMSE, max |diff|, cosine and per-filter RMSE`, () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'compare', join(DIR, 'dense_a.h5'), join(DIR, target), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { layers: { params: { sourceName: string; rmse: number; maxAbsDiff: number; cosine: number; filterRmse?: number[] }[] }[] };
    const params = report.layers.flatMap((l) => l.params);
    assert.deepEqual(params.map((p) => p.sourceName).sort(), Object.keys(expected).sort());
    for (const p of params) {
      const e = expected[p.sourceName];
      close(p.rmse, e.rmse, `${p.sourceName} rmse`);
      close(p.maxAbsDiff, e.maxAbsDiff, `${p.sourceName} max |diff|`);
      close(p.cosine, e.cosine, `${p.sourceName} cosine`);
      if (e.filterRmse) e.filterRmse.forEach((x, i) => close(p.filterRmse![i], x, `${p.sourceName} filter ${i}`));
    }
  });
}

test('the large kernels are located in the file (v1 and v2 object headers, a user block), the small biases read through HDF5', async () => {
  for (const file of ['dense_a.h5', 'dense_b.h5']) {
    const c = await openCheckpoint(join(DIR, file));
    const kinds = Object.fromEntries(c.tensors.map((t) => [t.name, t.location.kind]));
    assert.deepEqual(kinds, { 'conv2d/kernel': 'contiguous', 'conv2d/bias': 'loader', 'dense/kernel': 'contiguous', 'dense/bias': 'loader' }, file);
  }
});
