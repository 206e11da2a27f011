// Verdicts an ML engineer checks first, on pairs written by torch (test/fixtures/gen_verdicts.py),
// through the shipped CLI bundle: BN statistics re-estimated only (AdaBN), a kernel rescaled into
// its BatchNorm (the same function), a network where only a tiny stem transfers; and the PyTorch
// plan's recalibration run on the real model with the target data.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayerReport, Report } from '../../src/core/shared/reportTypes';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const DIR = join(FIXTURES, 'verdicts');
const PY = '/usr/bin/python3';
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));

before(() => {
  if (!existsSync(CLI)) {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
});

function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function compare(pair: string): Report {
  return JSON.parse(cli('compare', join(DIR, pair, 'source.pt'), join(DIR, pair, 'target.pt'), '--json')) as Report;
}

function layer(r: Report, name: string): LayerReport {
  const l = r.layers.find((x) => x.name === name);
  assert.ok(l, `layer ${name} in the report`);
  return l;
}

function close(actual: number | null | undefined, want: number, tol: number, what: string): void {
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - want) <= tol, `${what}: ${actual} vs torch ${want}`);
}

test('BN statistics re-estimated on target data only (AdaBN): BN layers recalibrate, convs and fc reuse, network reusable', () => {
  const r = compare('adabn');
  const e = expected.adabn;
  for (const n of e.recalibrate) {
    const l = layer(r, n);
    assert.equal(l.verdict, 'recalibrate', `${n}: ${l.reason}`);
    assert.match(l.reason, /γ\/β relative RMSE 0 < 0\.1: the learned affine transfers; running mean shift .* std/);
    assert.match(l.reason, /re-estimate the running statistics on target data/);
    // The statistics in the layer's own units, as torch computes them in float64.
    const t = e.bn_statistics[n];
    close(l.bnStats?.meanShift.rms, t.mean_shift_rms, 1e-6 * t.mean_shift_rms, `${n} mean shift`);
    close(l.bnStats?.meanShift.max, t.mean_shift_max, 1e-6 * t.mean_shift_max, `${n} largest mean shift`);
    close(l.bnStats?.logVarRatio.rms, t.log_var_rms, 1e-6 * t.log_var_rms, `${n} log variance ratio`);
    close(l.bnStats?.logVarRatio.max, t.log_var_max, 1e-6 * t.log_var_max, `${n} largest log variance ratio`);
  }
  for (const n of e.reuse) assert.equal(layer(r, n).verdict, 'reuse', n);
  assert.equal(r.summary.byVerdict.recalibrate, 4);
  assert.equal(r.summary.network.verdict, 'reusable', r.summary.network.reason);
  assert.equal(r.summary.weightedShare, 1);
  assert.match(r.summary.text, /^9 of 9 layers reusable \(.* 4 recalibrate\)/);
});

test('a kernel rescaled per output channel into its BatchNorm (the same function) is reuse, judged on the scale-invariant change with the raw one beside', () => {
  const r = compare('rescaled');
  const e = expected.rescaled;
  assert.ok(e.largest_output_difference < 1e-3 * e.output_scale, 'the generator made the same function');
  const conv = layer(r, e.rescaled_conv);
  assert.deepEqual(conv.normalizedBy, { layer: e.its_bn, kind: 'bn', evidence: 'order' });
  assert.equal(conv.verdict, 'reuse', conv.reason);
  assert.equal(conv.judgedOn, 'scale-invariant');
  const w = conv.params.find((p) => p.role === 'weight')!;
  assert.ok(w.relRmse! > 0.6, `raw relative RMSE ${w.relRmse} would say retrain`);
  assert.ok(w.scaleInvariant!.relRmse! < 1e-3, `invariant ${w.scaleInvariant!.relRmse}`);
  assert.equal(w.scaleInvariant!.filterCosine!.length, w.shape[0]);
  assert.match(conv.reason, /with the scale removed \(it feeds blocks\.1\.1, a BatchNorm, which undoes each output filter's scale: filters compared at unit norm; raw relative RMSE 1\.\d+/);
  assert.equal(r.summary.network.verdict, 'reusable', r.summary.network.reason);
  for (const n of e.reuse) assert.equal(layer(r, n).verdict, 'reuse', n);
  // The raw and the invariant numbers are both in the CSV.
  const csv = cli('compare', join(DIR, 'rescaled', 'source.pt'), join(DIR, 'rescaled', 'target.pt'), '--csv').split('\r\n');
  const head = csv[0].split(',');
  // Only the reason is quoted (it holds commas): the fields before and after it split plainly.
  const line = csv.find((l) => l.startsWith('2,blocks.1.0,conv,name,reuse,weight,'))!;
  const before = line.slice(0, line.indexOf('"')).split(','), after = line.slice(line.lastIndexOf('"') + 2).split(',');
  assert.ok(Number(before[head.indexOf('rel_rmse')]) > 0.6);
  assert.ok(Number(after[head.indexOf('scale_invariant_rel_rmse') - head.indexOf('reason') - 1]) < 1e-3);
});

test('the scale-invariant change agrees with torch: per row before a BatchNorm1d, per tensor before a LayerNorm', () => {
  const r = compare('invariant');
  const e = expected.invariant;
  const fc1 = layer(r, 'fc1'), fc2 = layer(r, 'fc2');
  assert.equal(fc1.normalizedBy?.kind, 'bn');
  assert.equal(fc2.normalizedBy?.kind, 'norm');
  const w1 = fc1.params[0].scaleInvariant!, w2 = fc2.params[0].scaleInvariant!;
  assert.equal(w1.per, 'filter');
  assert.equal(w2.per, 'tensor');
  close(w1.relRmse, e.fc1.rel_rmse, 1e-5, 'fc1 invariant relative RMSE');
  close(w1.minCosine, e.fc1.min_cosine, 1e-6, 'fc1 smallest row cosine');
  close(fc1.params[0].relRmse, e.fc1.raw_rel_rmse, 1e-6, 'fc1 raw relative RMSE');
  close(w2.relRmse, e.fc2.rel_rmse, 1e-5, 'fc2 invariant relative RMSE');
  close(fc2.params[0].relRmse, e.fc2.raw_rel_rmse, 1e-6, 'fc2 raw relative RMSE');
  for (const n of e.reuse) assert.equal(layer(r, n).verdict, 'reuse', `${n}: ${layer(r, n).reason}`);
});

test('a network where only a stem of under 1% of the parameters transfers is not "partly reusable", and the reason names the split point', () => {
  const r = compare('stem');
  const e = expected.stem;
  assert.ok(e.stem_share < 0.01);
  assert.equal(layer(r, 'stem').verdict, 'reuse');
  assert.equal(r.summary.network.verdict, 'not reusable', r.summary.network.reason);
  assert.equal(r.summary.network.splitAt, e.split_at);
  assert.match(r.summary.network.reason, /split point body\.0: stem transfer \(1 of 8 kernel layers/);
  // The BN layers after retrained convs follow them, whatever their own γ/β look like.
  for (const l of r.layers.filter((x) => x.kind === 'bn' && x.name.startsWith('body'))) assert.equal(l.verdict, 'retrain', `${l.name}: ${l.reason}`);
});

function python(): string | undefined {
  const r = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `needs ${PY} with torch`;
}

test('the PyTorch plan recalibrates on the real model and target data: its BN statistics become the target data\'s', (t) => {
  const skip = python();
  if (skip) { t.skip(skip); return; }
  const dir = mkdtempSync(join(tmpdir(), 'reuse-recal-'));
  try {
    const plan = cli('compare', join(DIR, 'adabn', 'source.pt'), join(DIR, 'adabn', 'target.pt'), '--plan', 'pytorch');
    assert.match(plan, /RECALIBRATE = \[\n {4}"blocks\.0\.1",/);
    writeFileSync(join(dir, 'plan.py'), plan);
    const check = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(FIXTURES)})
from gen_verdicts import SmallCNN, batches
exec(open(${JSON.stringify(join(dir, 'plan.py'))}).read())
torch.manual_seed(99)
model = SmallCNN()
model.eval()
apply_reuse_plan(model)
data = torch.load(${JSON.stringify(join(DIR, 'adabn', 'target_data.pt'))})
source = torch.load(SOURCE_CHECKPOINT, weights_only=True)
target = torch.load(${JSON.stringify(join(DIR, 'adabn', 'target.pt'))}, weights_only=True)
recalibrate_bn(model, batches(data))
state = model.state_dict()
out = {"vs_target": 0.0, "vs_source": 0.0, "weights_equal_source": True, "mode_kept": not model.training}
for k in state:
    if k.endswith("running_mean") or k.endswith("running_var"):
        out["vs_target"] = max(out["vs_target"], float((state[k] - target[k]).abs().max()))
        out["vs_source"] = max(out["vs_source"], float((state[k] - source[k]).abs().max()))
    elif state[k].is_floating_point():
        out["weights_equal_source"] &= bool(torch.equal(state[k], source[k]))
# The first BN's input does not depend on any BN: its statistics are the target data's, measured directly.
with torch.no_grad():
    x = model.blocks[0][0](data)
out["first_mean"] = float((state["blocks.0.1.running_mean"] - x.mean(dim=(0, 2, 3))).abs().max())
out["first_var"] = float((state["blocks.0.1.running_var"] / x.var(dim=(0, 2, 3)) - 1).abs().max())
print(json.dumps(out))
`;
    const run = spawnSync(PY, ['-c', check], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    assert.ok(out.vs_target < 1e-5, `statistics equal the target's (AdaBN on the same data): ${out.vs_target}`);
    assert.ok(out.vs_source > 0.1, `and moved away from the source's: ${out.vs_source}`);
    assert.equal(out.weights_equal_source, true, 'every weight, γ and β is the source\'s: nothing was trained');
    assert.equal(out.mode_kept, true, 'the model is back in the mode it was in');
    assert.ok(out.first_mean < 1e-5, `first BN mean is the target data's: ${out.first_mean}`);
    // Per-batch unbiased variances averaged, against the variance over all the data: close, not equal.
    assert.ok(out.first_var < 0.02, `first BN variance is the target data's: ${out.first_var}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
