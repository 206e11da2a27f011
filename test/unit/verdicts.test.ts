import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLayer, judgeLayers, summarise, rejudgeReport, fmt } from '../../src/core/shared/verdicts';
import { DEFAULT_OPTIONS, LayerReport, ParamReport, Report } from '../../src/core/shared/reportTypes';

function param(role: string, shape: number[], relRmse: number | null, extra: Partial<ParamReport> = {}): ParamReport {
  return { role, sourceName: `s.${role}`, targetName: `t.${role}`, shape, dtype: 'F32', rmse: relRmse === null ? null : relRmse / 10, relRmse, cosine: 1, maxAbsDiff: 0, ...extra };
}
function layer(kind: LayerReport['kind'], params: ParamReport[], extra: Partial<LayerReport> = {}): LayerReport {
  return { name: 'l', index: 0, kind, sourceName: 's', targetName: 't', matchedBy: 'name', verdict: 'retrain', reason: '', kernelRmse: null, kernelRelRmse: null,
    parameters: params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0), params, ...extra };
}
const O = DEFAULT_OPTIONS;

test('judges a conv layer by its kernel relative RMSE against the thresholds, with the numbers in the reason', () => {
  const j = (v: number) => judgeLayer(layer('conv', [param('weight', [8, 3, 3, 3], v), param('bias', [8], 5)]), O);
  assert.equal(j(0.034).verdict, 'reuse');
  assert.match(j(0.034).reason, /^kernel relative RMSE 0\.034 < 0\.1: reuse as is/);
  assert.equal(j(0.3).verdict, 'fine-tune');
  assert.match(j(0.3).reason, /0\.3 ≥ 0\.1 and < 0\.6/);
  assert.equal(j(1.41).verdict, 'retrain');
  // Conv bias changed a lot (5) yet does not drive the verdict, and the reason says why.
  assert.match(j(0.034).reason, /bias relative RMSE 5 \(conv bias is insensitive: reusable directly/);
  assert.equal(j(0.034).kernelRelRmse, 0.034);
});

test('judges a BN layer by the running statistic that changed most, BN weight/bias reported beside', () => {
  const bn = layer('bn', [param('weight', [8], 0.9), param('bias', [8], 0.9), param('running_mean', [8], 0.05), param('running_var', [8], 0.3),
    param('num_batches_tracked', [], 50, { dtype: 'I64' })]);
  const j = judgeLayer(bn, O);
  assert.equal(j.verdict, 'fine-tune');
  assert.equal(j.drivenBy, 'running_var');
  assert.match(j.reason, /running var relative RMSE 0\.3/);
  assert.match(j.reason, /BN weight 0\.9, bias 0\.9 \(BN weight\/bias matter less/);
});

test('integer counters (num_batches_tracked) never drive a verdict', () => {
  const j = judgeLayer(layer('other', [param('num_batches_tracked', [], 100, { dtype: 'I64' })]), O);
  assert.equal(j.verdict, 'reuse');
  assert.match(j.reason, /integer/);
});

test('a shape clash is incompatible with both shapes in the reason', () => {
  const p = param('weight', [1000, 512], null, { sourceShape: [1000, 512], targetShape: [5, 512] });
  const j = judgeLayer(layer('linear', [p]), O);
  assert.equal(j.verdict, 'incompatible');
  assert.match(j.reason, /\[1000, 512\] in the source, \[5, 512\] in the target/);
});

test('NaN in the source kernel makes the layer retrain and says so; in the target it is reported', () => {
  const bad = judgeLayer(layer('conv', [param('weight', [2, 2, 1, 1], 0.01, { nonFinite: { source: 3, target: 0 } })]), O);
  assert.equal(bad.verdict, 'retrain');
  assert.match(bad.reason, /3 NaN\/Inf/);
  const tgt = judgeLayer(layer('conv', [param('weight', [2, 2, 1, 1], 0.01, { nonFinite: { source: 0, target: 2 } })]), O);
  assert.equal(tgt.verdict, 'reuse');
  assert.match(tgt.reason, /target kernel holds 2 NaN\/Inf/);
});

test('source-only and target-only layers say where they are', () => {
  assert.equal(judgeLayer(layer('conv', [], { targetName: null }), O).verdict, 'source-only');
  assert.equal(judgeLayer(layer('conv', [], { sourceName: null }), O).verdict, 'target-only');
});

test('the absolute-RMSE metric uses rmse instead of relRmse', () => {
  const l = layer('linear', [param('weight', [4, 4], 0.5)]); // rmse 0.05
  assert.equal(judgeLayer(l, O).verdict, 'fine-tune');
  const j = judgeLayer(l, { ...O, metric: 'rmse' });
  assert.equal(j.verdict, 'reuse');
  assert.match(j.reason, /weight RMSE 0\.05 < 0\.1/);
});

test('the network verdict is an estimate from parameter shares, and the summary line says so', () => {
  const big = (rel: number, n: number) => layer('linear', [param('weight', [n, 1], rel)]);
  const layers = [big(0.01, 900), big(0.3, 50), big(2, 50)].map((l) => ({ ...l, ...judgeLayer(l, O) }));
  const s = summarise(layers);
  assert.equal(s.network.verdict, 'reusable');
  assert.equal(s.network.estimate, true);
  assert.match(s.network.reason, /^estimate/);
  assert.equal(s.text, '1 of 3 layers reusable (900 of 1000 parameters); 1 fine-tune, 1 retrain, 0 incompatible — network looks reusable (estimate)');
  const allRetrain = [big(2, 100), big(2, 900)].map((l) => ({ ...l, ...judgeLayer(l, O) }));
  assert.equal(summarise(allRetrain).network.verdict, 'not reusable');
  assert.match(summarise(allRetrain).network.reason, /split point \w+: the first kernel layer already changed too much/);
});

test('a network whose early kernel layers transfer is partly reusable even when the late layers hold most parameters', () => {
  // The paper's pattern: a small early conv reused, a big late layer retrained.
  const named = (name: string, rel: number, n: number) => ({ ...layer('linear', [param('weight', [n, 1], rel)]), name });
  const layers = [named('conv1', 0.01, 100), named('conv2', 0.3, 100), named('fc1', 2, 5000), named('fc2', 2, 100)].map((l) => ({ ...l, ...judgeLayer(l, O) }));
  const s = summarise(layers);
  assert.equal(s.network.verdict, 'partly reusable');
  assert.match(s.network.reason, /split point fc1: conv1 … conv2 transfer \(2 of 4 kernel layers, 50% of the depth, 3% of the parameters weighted; mean 0\.264 ≥ 0\.2\): copy them \(as judged, reuse or fine-tune\) and retrain from fc1/);
  const lateOnly = [named('conv1', 2, 100), named('conv2', 0.01, 100), named('fc1', 2, 5000)].map((l) => ({ ...l, ...judgeLayer(l, O) }));
  assert.equal(summarise(lateOnly).network.verdict, 'not reusable', 'a reusable late layer alone does not make the network reusable');
  // A layer only the target has was never compared: the run of transferable layers starts after it.
  const extra = { ...named('stem', 0, 100), verdict: 'target-only' as const };
  const withExtra = summarise([extra, ...layers]);
  assert.match(withExtra.network.reason, /conv1 … conv2 transfer \(2 of 4 kernel layers/);
});

test('re-judging under new thresholds changes verdicts and summary from stored metrics alone', () => {
  const layers = [layer('conv', [param('weight', [8, 3, 3, 3], 0.3)])].map((l) => ({ ...l, ...judgeLayer(l, O) }));
  const report: Report = {
    schema: 'reuse-lens/report@1', source: { path: 'a', format: 'npy', tensors: 1, parameters: 216 }, target: { path: 'b', format: 'npy', tensors: 1, parameters: 216 },
    options: O, layers, unmatched: { source: [], target: [] }, summary: summarise(layers), warnings: [],
  };
  assert.equal(report.layers[0].verdict, 'fine-tune');
  const loose = rejudgeReport(report, { ...O, reuseBelow: 0.5, fineTuneBelow: 0.9 });
  assert.equal(loose.layers[0].verdict, 'reuse');
  assert.equal(loose.summary.byVerdict.reuse, 1);
  assert.equal(loose.options.reuseBelow, 0.5);
  assert.equal(report.layers[0].verdict, 'fine-tune', 'the original report is left as it was');
});

test('formats numbers for reasons with three significant digits', () => {
  assert.deepEqual([fmt(0.0341234), fmt(1.41421), fmt(0), fmt(null), fmt(0.00001234)], ['0.0341', '1.41', '0', 'n/a', '1.23e-5']);
});

const stats = (shift: number, logVar: number) => ({ channels: 8, eps: 1e-5, meanShift: { rms: shift, max: 2 * shift }, logVarRatio: { rms: logVar, max: 2 * logVar } });
const bnLayer = (affine: number, shift: number, logVar: number, name = 'bn') => ({
  ...layer('bn', [param('weight', [8], affine), param('bias', [8], affine), param('running_mean', [8], 5), param('running_var', [8], 5)]),
  name, affine: { rmse: affine / 10, relRmse: affine }, bnStats: stats(shift, logVar),
});

test('a BN layer is judged by its γ/β like a weight; statistics that moved in its own units make it recalibrate, not retrain', () => {
  const moved = judgeLayer(bnLayer(0.01, 0.8, 0.1), O);
  assert.equal(moved.verdict, 'recalibrate');
  assert.match(moved.reason, /BN γ\/β relative RMSE 0\.01 < 0\.1: the learned affine transfers; running mean shift 0\.8 std .*: recalibrate: keep γ\/β and re-estimate the running statistics on target data/);
  // The relative RMSE of running_mean (5 here, unstable near zero means) no longer decides.
  assert.equal(judgeLayer(bnLayer(0.01, 0.05, 0.05), O).verdict, 'reuse');
  assert.equal(judgeLayer(bnLayer(0.01, 0.05, 0.3), O).verdict, 'recalibrate', 'a variance ratio of e^0.3 moved');
  assert.equal(judgeLayer(bnLayer(0.3, 0.8, 0.1), O).verdict, 'fine-tune');
  assert.equal(judgeLayer(bnLayer(1.2, 0.8, 0.1), O).verdict, 'retrain');
  // Without a learned affine only the statistics are there to judge.
  const noAffine = { ...layer('bn', [param('running_mean', [8], 5), param('running_var', [8], 5)]), bnStats: stats(0.5, 0) };
  assert.equal(judgeLayer(noAffine, O).verdict, 'recalibrate');
});

test('a kernel that feeds a BatchNorm is judged on its scale-invariant change, and the reason shows both numbers', () => {
  const w = param('weight', [8, 3, 3, 3], 0.9, { scaleInvariant: { per: 'filter', relRmse: 0.02, rmse: 0.002, meanCosine: 0.9998, minCosine: 0.999, scaleRatio: 0.3 } });
  const conv = layer('conv', [w], { normalizedBy: { layer: 'bn1', kind: 'bn', evidence: 'order' } });
  const j = judgeLayer(conv, O);
  assert.equal(j.verdict, 'reuse');
  assert.equal(j.judgedOn, 'scale-invariant');
  assert.equal(j.kernelRelRmse, 0.02);
  assert.match(j.reason, /kernel relative RMSE 0\.02 with the scale removed \(it feeds bn1, a BatchNorm.*raw relative RMSE 0\.9, filter norms ×0\.3 \(median\), filter cosines mean 1, min 0\.999\)/);
  assert.equal(judgeLayer(conv, { ...O, metric: 'rmse', reuseBelow: 0.001, fineTuneBelow: 0.01 }).verdict, 'fine-tune', 'the rmse metric uses the invariant change in the kernel\'s units');
  // Without the normalization the raw number decides.
  assert.equal(judgeLayer(layer('conv', [w]), O).verdict, 'retrain');
});

test('a BN after a retrained conv is retrained with it; after a fine-tuned one it fine-tunes', () => {
  const conv = (rel: number) => ({ ...layer('conv', [param('weight', [8, 3, 3, 3], rel)], { normalizedBy: { layer: 'bn', kind: 'bn' as const, evidence: 'order' as const } }), name: 'conv' });
  const [, bnAfterRetrain] = judgeLayers([conv(1.4), bnLayer(0.01, 0.8, 0.1)], O);
  assert.equal(bnAfterRetrain.verdict, 'retrain');
  assert.match(bnAfterRetrain.reason, /^its input layer conv is judged retrain, so this normalization is learned anew with it \(on its own: recalibrate;/);
  assert.equal(judgeLayers([conv(0.3), bnLayer(0.01, 0.8, 0.1)], O)[1].verdict, 'fine-tune');
  assert.equal(judgeLayers([conv(0.01), bnLayer(0.01, 0.8, 0.1)], O)[1].verdict, 'recalibrate');
});

test('fine-tune counts half toward the network verdict, recalibrate fully', () => {
  const big = (rel: number, n: number) => layer('linear', [param('weight', [n, 1], rel)]);
  const allFineTune = [big(0.3, 500), big(0.3, 500)].map((l) => ({ ...l, ...judgeLayer(l, O) }));
  const s = summarise(allFineTune);
  assert.equal(s.weightedShare, 0.5);
  assert.equal(s.network.verdict, 'partly reusable', 'a network to fine-tune entirely is not reusable as is');
  assert.match(s.network.reason, /50% of the target's parameters \(500 of 1000, fine-tune layers counting 50%\) transfer/);
  const recal = summarise([{ ...bnLayer(0.01, 0.8, 0.1), ...judgeLayer(bnLayer(0.01, 0.8, 0.1), O) }]);
  assert.equal(recal.byVerdict.recalibrate, 1);
  assert.equal(recal.network.verdict, 'reusable');
  assert.equal(recal.reusableParameters, recal.totalParameters);
});

test('re-judging keeps the BN statistics verdict and the scale-invariant judging', () => {
  const r = { schema: 'reuse-lens/report@1', source: { path: 's', format: 'safetensors', tensors: 4, parameters: 32 }, target: { path: 't', format: 'safetensors', tensors: 4, parameters: 32 },
    options: O, layers: [bnLayer(0.05, 0.8, 0.1)], unmatched: { source: [], target: [] }, summary: summarise([]), warnings: [] } as unknown as Report;
  assert.equal(rejudgeReport(r, O).layers[0].verdict, 'recalibrate');
  assert.equal(rejudgeReport(r, { ...O, reuseBelow: 0.01, fineTuneBelow: 0.6 }).layers[0].verdict, 'fine-tune');
});
