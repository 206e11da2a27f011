import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';

const DIR = join(__dirname, '..', 'fixtures', 'pairs');

test('the report has every field DESIGN.md names for reuse-lens/report@1, and survives JSON', async () => {
  const r = JSON.parse(JSON.stringify(await analyzePaths(join(DIR, 'source.safetensors'), join(DIR, 'target_renamed_inserted.safetensors'))));
  assert.equal(r.schema, 'reuse-lens/report@1');
  for (const side of [r.source, r.target]) {
    assert.deepEqual(Object.keys(side).sort(), ['format', 'order', 'parameters', 'path', 'tensors']);
    assert.equal(side.format, 'safetensors');
  }
  assert.equal(r.source.parameters, 4749);
  assert.deepEqual(Object.keys(r.options).sort(), ['fineTuneBelow', 'metric', 'prefixRules', 'reuseBelow']);
  for (const l of r.layers) {
    for (const k of ['name', 'kind', 'sourceName', 'targetName', 'matchedBy', 'verdict', 'reason', 'params']) assert.ok(k in l, `layer.${k}`);
    for (const p of l.params) for (const k of ['role', 'sourceName', 'targetName', 'shape', 'rmse', 'relRmse', 'cosine', 'maxAbsDiff']) assert.ok(k in p, `param.${k}`);
  }
  assert.deepEqual(r.layers.map((l: { index: number }) => l.index), r.layers.map((_: unknown, i: number) => i));
  assert.deepEqual(Object.keys(r.unmatched).sort(), ['source', 'target']);
  assert.equal(r.summary.layers, 10);
  assert.deepEqual(r.summary.byVerdict, { reuse: 2, 'fine-tune': 2, recalibrate: 0, retrain: 3, incompatible: 1, 'source-only': 0, 'target-only': 2 });
  assert.equal(r.summary.network.estimate, true);
  assert.match(r.summary.text, /^2 of 10 layers reusable \(257 of 5089 parameters\); 2 fine-tune, 3 retrain, 1 incompatible, 2 target-only — network looks partly reusable \(estimate\)$/);
  // Conv weights carry the per-filter detail; the numbers judged on are copied onto the layer
  // (this conv feeds a BatchNorm: the scale-invariant change).
  const conv = r.layers[0];
  assert.equal(conv.params[0].filterRmse.length, 8);
  assert.deepEqual([conv.params[0].filterGrid.rows, conv.params[0].filterGrid.cols], [8, 3]);
  assert.equal(conv.judgedOn, 'scale-invariant');
  assert.equal(conv.kernelRelRmse, conv.params[0].scaleInvariant.relRmse);
});

test('the shared room (verdicts, exports) stays pure (no node imports, no I/O) so the webview can bundle it', () => {
  const dir = join(__dirname, '..', '..', 'src', 'core', 'shared');
  for (const file of readdirSync(dir)) {
    const src = readFileSync(join(dir, file), 'utf8');
    const imports = [...src.matchAll(/^import\s.*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    assert.ok(imports.every((i) => i.startsWith('./') || i === '../common/types'), `${file} imports ${imports.join(', ')}`);
    assert.doesNotMatch(src, /require\(|process\.|fs\./, file);
  }
});
