// The ONNX model bytes an experiment builds a session from: only the replaced initializers change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withInitializers } from '../../src/core/experiments/onnxEdit';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';

const MODEL = join(__dirname, '..', 'fixtures', 'experiments', 'onnx_target.onnx');

test('an initializer replaced in the model bytes reads back with the new values; every other tensor and byte is as it was', async () => {
  const original = new Uint8Array(readFileSync(MODEL));
  assert.equal(withInitializers(original, new Map()), original, 'nothing to replace: the same bytes');
  const values = Float32Array.from({ length: 6 }, (_, i) => i / 4 - 0.5);
  const edited = withInitializers(original, new Map([['conv2.bias', { dataType: 1, dims: [6], raw: new Uint8Array(values.buffer) }]]));
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-onnx-edit-'));
  try {
    writeFileSync(join(dir, 'edited.onnx'), edited);
    const [a, b] = await Promise.all([openCheckpoint(MODEL), openCheckpoint(join(dir, 'edited.onnx'))]);
    assert.deepEqual(b.tensors.map((t) => [t.name, t.shape]), a.tensors.map((t) => [t.name, t.shape]));
    assert.deepEqual(b.layerOrder, a.layerOrder, 'the graph (nodes) is untouched');
    const pool = new FilePool();
    for (const t of b.tensors) {
      const got = await readTensor(t, pool);
      const want = t.name === 'conv2.bias' ? Float64Array.from(values) : await readTensor(a.tensors.find((x) => x.name === t.name)!, pool);
      assert.deepEqual([...got], [...want], t.name);
    }
    await pool.closeAll();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
