// The same small CNN saved by Keras (.h5, channels-last kernels) and by PyTorch (.pt, fine-tuned
// a little): no tensor name matches, so layers pair by order and shape, and every metric is
// computed in PyTorch's layout. Expected RMSEs come from numpy (test/fixtures/gen_keras_tfjs_onnx.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';

const dir = join(__dirname, '..', 'fixtures', 'keras');
interface ExpectedLayer { keras: string; torch: string; params: { role: string; kerasName: string; torchName: string; shape: number[]; rmse: number }[] }
const expected: { layers: ExpectedLayer[] } = JSON.parse(readFileSync(join(dir, 'cross_expected.json'), 'utf8'));

test('compares a Keras .h5 and a PyTorch .pt of the same small CNN and gets the numpy RMSE of every layer within 1e-6 relative, all layers matched by order+shape', async () => {
  const report = await analyzePaths(join(dir, 'cross_cnn.h5'), join(dir, 'cross_cnn.pt'));
  assert.equal(report.source.format, 'keras-h5');
  assert.equal(report.target.format, 'pytorch-zip');
  const matched = report.layers.filter((l) => l.sourceName && l.targetName);
  assert.equal(matched.length, expected.layers.length);
  // Keras keeps no BatchNorm step counter: PyTorch's num_batches_tracked is all that is left over.
  assert.deepEqual(report.unmatched.source, []);
  assert.ok(report.unmatched.target.every((n) => n.endsWith('.num_batches_tracked')), report.unmatched.target.join(', '));
  for (const [i, exp] of expected.layers.entries()) {
    const layer = matched[i];
    assert.equal(layer.sourceName, exp.keras);
    assert.equal(layer.targetName, exp.torch);
    assert.equal(layer.matchedBy, 'order+shape', `${exp.keras} matched by ${layer.matchedBy}`);
    for (const p of exp.params) {
      const got = layer.params.find((x) => x.sourceName === p.kerasName);
      assert.ok(got, `${p.kerasName} compared`);
      assert.equal(got.targetName, p.torchName);
      assert.deepEqual(got.shape, p.shape);
      assert.ok(got.rmse !== null && Math.abs(got.rmse - p.rmse) <= 1e-6 * p.rmse, `${p.kerasName}: rmse ${got.rmse} vs numpy ${p.rmse}`);
    }
  }
  assert.equal(report.summary.matchedBy['order+shape'], expected.layers.length);
});
