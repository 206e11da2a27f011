// A report's numbers against the truth numpy computed in float64 (test/fixtures/pairs/expected.json,
// keras/cross_expected.json), for the engine run from source and for the shipped bundles alike.
import assert from 'node:assert/strict';
import type { Report } from '../../../src/core/shared/reportTypes';

export interface Expected { source: string; rmse: number; relRmse: number | null; cosine: number | null; maxAbsDiff: number; filterRmse?: number[]; filterGrid?: number[] }

export function near(actual: number | null | undefined, want: number | null, what: string) {
  if (want === null) { assert.equal(actual, null, what); return; }
  assert.ok(typeof actual === 'number', `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - want) <= 1e-6 * Math.abs(want) + 1e-12, `${what}: ${actual} vs numpy ${want}`);
}

/** Every compared tensor pair of the report against numpy's float64 numbers. */
export function checkAgainstNumpy(report: Report, table: Record<string, Expected>, targetName = (n: string) => n) {
  const params = new Map(report.layers.flatMap((l) => l.params).filter((p) => p.targetName).map((p) => [targetName(p.targetName!), p]));
  let checked = 0;
  for (const [name, e] of Object.entries(table)) {
    const p = params.get(name);
    assert.ok(p, `${name} is in the report`);
    assert.equal(p.sourceName !== null && targetName(p.sourceName) === e.source || p.sourceName === e.source, true, `${name} paired with ${e.source}, got ${p.sourceName}`);
    near(p.rmse, e.rmse, `${name} rmse`); near(p.relRmse, e.relRmse, `${name} relRmse`);
    near(p.cosine, e.cosine, `${name} cosine`); near(p.maxAbsDiff, e.maxAbsDiff, `${name} maxAbsDiff`);
    if (e.filterRmse) {
      assert.equal(p.filterRmse?.length, e.filterRmse.length, `${name} filters`);
      e.filterRmse.forEach((v, i) => near(p.filterRmse![i], v, `${name} filter ${i}`));
      assert.equal(p.filterGrid?.values.length, e.filterGrid!.length);
      e.filterGrid!.forEach((v, i) => near(p.filterGrid!.values[i], v, `${name} cell ${i}`));
    }
    checked++;
  }
  assert.ok(checked >= 20, `checked ${checked} tensors`);
}


export interface CrossTruth { layers: { keras: string; torch: string; params: { role: string; torchName: string; rmse: number }[] }[] }

/** A Keras-source, PyTorch-target report of test/fixtures/keras/cross_cnn.*: pairing and RMSEs as numpy computed them. */
export function checkKerasTorchCross(r: Report, cross: CrossTruth): void {
  assert.deepEqual(r.layers.map((l) => [l.sourceName, l.targetName, l.matchedBy]), cross.layers.map((l) => [l.keras, l.torch, 'order+shape']));
  for (const l of cross.layers) {
    const got = r.layers.find((x) => x.targetName === l.torch)!;
    for (const p of l.params) near(got.params.find((x) => x.targetName === p.torchName)?.rmse, p.rmse, p.torchName);
  }
}
