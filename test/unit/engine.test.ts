import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePaths, inspectPath, rejudge } from '../../src/core/analysis/engine';
import { DEFAULT_OPTIONS, Report } from '../../src/core/shared/reportTypes';
import { CancelledError, CheckpointError } from '../../src/core/common/errors';
import { checkAgainstNumpy, checkKerasTorchCross, CrossTruth, near } from './helpers/reportTruth';

const DIR = join(__dirname, '..', 'fixtures', 'pairs');
const f = (name: string) => join(DIR, name);
const expected = JSON.parse(readFileSync(f('expected.json'), 'utf8'));

const DESIGNED: Record<string, string> = {
  'features.0': 'reuse', 'features.1': 'reuse', 'features.3': 'fine-tune', 'features.4': 'fine-tune',
  'features.6': 'retrain', 'features.7': 'retrain', 'classifier.0': 'retrain', 'classifier.2': 'incompatible',
};

function verdicts(r: Report): Record<string, string> {
  return Object.fromEntries(r.layers.filter((l) => l.name in DESIGNED).map((l) => [l.name, l.verdict]));
}

test('compares safetensors checkpoints with every number within 1e-6 of numpy, verdicts as designed', async () => {
  const r = await analyzePaths(f('source.safetensors'), f('target.safetensors'));
  checkAgainstNumpy(r, expected.pairs['source-target']);
  assert.deepEqual(verdicts(r), DESIGNED);
  assert.deepEqual(r.layers.map((l) => l.name), Object.keys(DESIGNED), 'network order');
  assert.ok(r.layers.every((l) => l.matchedBy === 'name'));
});

test('reports the new classifier head as incompatible with both shapes', async () => {
  const r = await analyzePaths(f('source.safetensors'), f('target.safetensors'));
  const head = r.layers.find((l) => l.name === 'classifier.2')!;
  assert.equal(head.verdict, 'incompatible');
  const w = head.params.find((p) => p.role === 'weight')!;
  assert.deepEqual([w.sourceShape, w.targetShape], [[10, 32], [5, 32]]);
  assert.match(head.reason, /\[10, 32\] in the source, \[5, 32\] in the target/);
  assert.equal(r.summary.byVerdict.incompatible, 1);
});

test('aligns renamed layers by order and shape around an inserted block, numbers still numpy\'s', async () => {
  const r = await analyzePaths(f('source.safetensors'), f('target_renamed_inserted.safetensors'));
  checkAgainstNumpy(r, expected.pairs['source-renamed_inserted']);
  assert.deepEqual(verdicts(r), DESIGNED);
  assert.equal(r.summary.matchedBy['order+shape'], 8);
  assert.deepEqual(r.layers.filter((l) => l.verdict === 'target-only').map((l) => l.targetName), ['body.extra0', 'body.extra1']);
  assert.deepEqual(r.unmatched.target, expected.inserted);
  assert.deepEqual(r.layers.map((l) => l.targetName), ['stem.conv', 'stem.bn', 'body.conv1', 'body.bn1', 'body.extra0', 'body.extra1', 'body.conv2', 'body.bn2', 'head.fc1', 'head.fc2']);
});

test('compares a torch.save .pt with a .safetensors of the same weights (cross-format)', async () => {
  const r = await analyzePaths(f('source.pt'), f('target.safetensors'));
  checkAgainstNumpy(r, expected.pairs['source-target']);
  assert.deepEqual(verdicts(r), DESIGNED);
  const r2 = await analyzePaths(f('source.pt'), f('target.pt'));
  checkAgainstNumpy(r2, expected.pairs['source-target']);
});

test('matches a DataParallel training checkpoint (module. prefix, optimizer state) by prefix rule', async () => {
  const r = await analyzePaths(f('source.pt'), f('target_wrapped.pt'));
  const strip = (n: string) => n.replace(/^(state_dict\.)?module\./, '');
  checkAgainstNumpy(r, expected.pairs['source-target'], strip);
  assert.deepEqual(verdicts(r), DESIGNED);
  assert.equal(r.summary.matchedBy['prefix-rule'], 8);
  assert.equal(r.summary.matchedBy['order+shape'], 0);
  assert.deepEqual(r.unmatched, { source: [], target: [] }, 'optimizer state is not compared');
});

test('reports progress in elements, ending at the total, and stops when cancelled', async () => {
  const seen: { done: number; total: number }[] = [];
  await analyzePaths(f('source.safetensors'), f('target.safetensors'), {}, { onProgress: (p) => seen.push(p) });
  const last = seen.at(-1)!;
  assert.ok(last.total > 4000);
  assert.equal(last.done, last.total);
  assert.ok(seen.every((p, i) => i === 0 || p.done >= seen[i - 1].done));
  await assert.rejects(analyzePaths(f('source.safetensors'), f('target.safetensors'), {}, { token: { cancelled: true } }), CancelledError);
});

test('re-judges a report under new thresholds without reading any file', async () => {
  const r = await analyzePaths(f('source.safetensors'), f('target.safetensors'));
  const strict = rejudge(r, { ...DEFAULT_OPTIONS, reuseBelow: 0.01, fineTuneBelow: 0.015 });
  assert.equal(strict.layers.find((l) => l.name === 'features.0')!.verdict, 'retrain');
  assert.equal(strict.layers[0].kernelRelRmse, r.layers[0].kernelRelRmse);
  assert.notEqual(strict.summary.text, r.summary.text);
});

test('a missing source file is a CheckpointError naming it', async () => {
  await assert.rejects(analyzePaths(f('nope.safetensors'), f('target.safetensors')), (e: unknown) => e instanceof CheckpointError && /nope\.safetensors/.test(e.message));
});

test('inspect lists tensors and layers from the header, and with stats matches numpy', async () => {
  const plain = await inspectPath(f('source.safetensors'));
  assert.equal(plain.schema, 'reuse-lens/inspect@1');
  assert.equal(plain.tensors.length, 25);
  assert.ok(plain.tensors.every((t) => t.stats === undefined));
  assert.deepEqual(plain.layers.map((l) => [l.name, l.kind]).slice(0, 2), [['features.0', 'conv'], ['features.1', 'bn']]);
  const r = await inspectPath(f('source.safetensors'), { stats: true });
  for (const t of r.tensors) {
    const e = expected.sourceStats[t.name];
    for (const k of ['min', 'max', 'mean', 'std', 'zeros'] as const) near(t.stats![k], e[k], `${t.name} ${k}`);
    assert.equal(t.stats!.nan, 0);
  }
});

test('compares a Keras .h5 with a PyTorch .pt of the same CNN: all layers by order+shape, RMSE as numpy', async () => {
  const cross = JSON.parse(readFileSync(join(DIR, '..', 'keras', 'cross_expected.json'), 'utf8')) as CrossTruth;
  const r = await analyzePaths(join(DIR, '..', 'keras', 'cross_cnn.h5'), join(DIR, '..', 'keras', 'cross_cnn.pt'));
  checkKerasTorchCross(r, cross);
  assert.doesNotMatch(r.layers[1].reason, /num batches tracked/, 'a counter only PyTorch keeps is not worth a word');
});
