// What the extension and the report panel make of a replacement experiment, without VS Code:
// the factories offered from the workspace's Python files, the two conditions side by side,
// the rank correlation shown, and the messages crossing the webview boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFactorySpec, rankFactories, topLevelDefs } from '../../src/extension/experiments/factories';
import { conditionRows, rmseHarmCorrelation, scatterPoints, spearman } from '../../webview/report/experimentModel';
import { isExperiment, parseFromReportWebview, parseToReportWebview } from '../../src/protocol';
import type { ExperimentResult, Report } from '../../src/protocol';
import { planExperiments } from '../../src/core/experiments/plan';

test('factories are offered from top-level defs only (not methods, not private helpers)', () => {
  const src = [
    'import torch', 'def build_model(num_classes=4):', '    def inner():', '        pass', '    return Net()',
    'class Net(torch.nn.Module):', '    def forward(self, x):', '        return x', 'async def val_loader():', '    ...',
    'def _private():', '    pass', '# def commented():', 'def  spaced (x):', '    pass',
  ].join('\n');
  assert.deepEqual(topLevelDefs(src), ['build_model', 'val_loader', 'spaced']);
});

test('the likely model and data factories come first in the pickers', () => {
  const c = ['util.py:seed', 'data.py:val_loader', 'train.py:build_model'].map((spec) => ({ spec, file: spec.split(':')[0], name: spec.split(':')[1] }));
  assert.deepEqual(rankFactories(c, 'model').map((x) => x.spec), ['train.py:build_model', 'util.py:seed', 'data.py:val_loader']);
  assert.deepEqual(rankFactories(c, 'data').map((x) => x.spec), ['data.py:val_loader', 'util.py:seed', 'train.py:build_model']);
  assert.ok(isFactorySpec('train.py:build_model') && isFactorySpec('sub/dir/m.py:Factory.make'));
  assert.ok(!isFactorySpec('train.py') && !isFactorySpec('train:build') && !isFactorySpec('train.py:1x'));
});

test('Spearman rank correlation: ties share ranks; too few points or no spread give none', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4])! - 0.9487) < 1e-4);
  assert.equal(spearman([1, 2], [1, 2]), null);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
});

const layer = (name: string, index: number, relRmse: number | null, verdict: 'reuse' | 'retrain' | 'incompatible') => ({
  name, index, kind: 'conv', sourceName: name, targetName: name, matchedBy: 'name', verdict, reason: '', kernelRmse: relRmse, kernelRelRmse: relRmse, parameters: 1, params: [],
});
const report = { layers: [layer('c2', 1, 0.8, 'retrain'), layer('c1', 0, 0.01, 'reuse'), layer('c3', 2, 0.3, 'retrain'), layer('head', 3, null, 'incompatible')] } as unknown as Report;
const rep = (name: string, delta: number, keeps: boolean) => ({ name, value: 90 + delta, delta, replaced: [`${name}.weight`], keeps });
const result: ExperimentResult = {
  schema: 'reuse-lens/experiment@1', source: 's.pt', target: 't.pt', model: 'm.py:f', data: 'd.py:g', cwd: '/w', python: 'python3', torch: '2', device: 'cpu', samples: 100,
  metric: { name: 'accuracy', higherIsBetter: true, unit: '%' }, baseline: { value: 90 },
  layers: [rep('c1', 0, true), rep('c3', -2, false), rep('c2', -40, false)],
  roles: [{ role: 'conv-weight', label: 'conv weights', layers: ['c1', 'c2', 'c3'], ...rep('x', -50, false) }],
  reuseSet: { layers: ['c1'], ...rep('c1', 0, true) },
  network: { verdict: 'reusable', reason: 'reusable: …', measured: true, tolerance: 0.5, toleranceUnit: 'points' }, durationMs: 1000,
};

test('per layer the two conditions side by side, in network order, under the live verdicts', () => {
  const rows = conditionRows(report, result);
  assert.deepEqual(rows.map((r) => [r.name, r.rmseSmall, r.keeps]), [['c1', true, true], ['c2', false, false], ['c3', false, false]]);
  assert.deepEqual(scatterPoints(rows).map((p) => [p.name, p.x, p.y]), [['c1', 0.01, 0], ['c2', 0.8, -40], ['c3', 0.3, -2]]);
  // Larger kernel change, more accuracy lost: a perfect rank agreement.
  assert.equal(rmseHarmCorrelation(result.metric, rows), 1);
});

test('experiment messages cross the webview boundary only when well-formed', () => {
  assert.ok(isExperiment(result));
  assert.deepEqual(parseToReportWebview({ type: 'experiment', result, running: false }), { type: 'experiment', result, running: false });
  assert.deepEqual(parseToReportWebview({ type: 'experiment', result: null, running: true }), { type: 'experiment', result: null, running: true });
  assert.equal(parseToReportWebview({ type: 'experiment', result: { ...result, network: { ...result.network, measured: false } }, running: false }), undefined);
  assert.equal(parseToReportWebview({ type: 'experiment', result: { ...result, layers: [{ name: 'x' }] }, running: false }), undefined);
  assert.equal(parseToReportWebview({ type: 'experiment', result }), undefined);
  assert.deepEqual(parseFromReportWebview({ type: 'runExperiment', extra: 'ignored' }), { type: 'runExperiment' });
});

test('the reuse set replaces reuse layers whole and the γ/β of recalibrate layers (their statistics stay the target\'s); other shapes and counters never', () => {
  const p = (role: string, name: string, extra: Record<string, unknown> = {}) => ({ role, sourceName: name, targetName: name, shape: [4], rmse: 0, relRmse: 0, cosine: 1, maxAbsDiff: 0, dtype: 'F32', ...extra });
  const l = (name: string, index: number, kind: string, verdict: string, params: unknown[]) => ({ name, index, kind, verdict, params, sourceName: name, targetName: name, matchedBy: 'name', reason: '', kernelRmse: 0, kernelRelRmse: 0, parameters: 4 });
  const r = { layers: [
    l('bn1', 1, 'bn', 'recalibrate', [p('weight', 'bn1.weight'), p('bias', 'bn1.bias'), p('running_mean', 'bn1.running_mean'), p('running_var', 'bn1.running_var'), p('num_batches_tracked', 'bn1.num_batches_tracked', { dtype: 'I64' })]),
    l('conv1', 0, 'conv', 'reuse', [p('weight', 'conv1.weight')]),
    l('fc', 2, 'linear', 'incompatible', [p('weight', 'fc.weight', { sourceShape: [6, 4], targetShape: [4, 4] })]),
  ] } as unknown as Report;
  const plan = planExperiments(r);
  assert.deepEqual(plan.layers.map((x) => [x.label, x.pairs.map((q) => q[1])]), [['conv1', ['conv1.weight']], ['bn1', ['bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']]]);
  assert.deepEqual(plan.reuseSet?.layers, ['conv1', 'bn1']);
  assert.deepEqual(plan.reuseSet?.pairs.map((q) => q[1]), ['conv1.weight', 'bn1.weight', 'bn1.bias']);
  assert.deepEqual(plan.roles.map((x) => [x.role, x.pairs.length]), [['conv-weight', 1], ['bn-affine', 2], ['bn-statistics', 2]]);
});
