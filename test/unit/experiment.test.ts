// Replacement experiments (the paper's first condition, measured in the user's PyTorch) through
// the shipped CLI bundle, on a tiny model whose answers are known exactly: a layer frozen during
// fine-tuning, and the accuracies torch computes in the fixture script (helpers/experiment_fixture.py).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import { runExperiment } from '../../src/core/experiments/experiment';
import { CancelledError } from '../../src/core/common/errors';
import type { ExperimentResult } from '../../src/core/experiments/types';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { WorkerClient } from '../../src/extension/worker/client';
import { WorkerRequestError } from '../../src/extension/worker/errors';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const PYTHON = '/usr/bin/python3';
let dir = '';
let truth: { baseline: number; conv2Replaced: number; samples: number; conv1Equal: boolean };

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function experiment(...extra: string[]) {
  return cli('experiment', 'source.pt', 'target.pt', '--python', PYTHON, ...extra);
}

before(() => {
  if (!existsSync(CLI)) {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
  dir = mkdtempSync(join(tmpdir(), 'reuse-lens-experiment-'));
  const g = spawnSync(PYTHON, [join(__dirname, 'helpers', 'experiment_fixture.py'), dir], { encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
  truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
  assert.ok(truth.conv1Equal, 'the fixture froze conv1');
});

after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

test('a layer frozen during fine-tuning changes nothing when replaced (Δ = 0 exactly); the baseline is the accuracy torch computes', () => {
  const r = experiment('--model', 'factories.py:build', '--data', 'factories.py:data', '--json');
  assert.equal(r.code, 0, r.err);
  const x: ExperimentResult = JSON.parse(r.out);
  assert.equal(x.schema, 'reuse-lens/experiment@1');
  assert.deepEqual(x.metric, { name: 'accuracy', higherIsBetter: true, unit: '%' });
  assert.equal(x.samples, truth.samples);
  assert.equal(x.baseline.value, truth.baseline);
  assert.ok(truth.baseline > 50 && truth.baseline < 100, `a baseline with room both ways: ${truth.baseline}`);
  assert.deepEqual(x.layers.map((l) => l.name), ['conv1', 'conv2', 'bn2', 'fc'], 'layers in network order, named as in the compare report');
  const conv1 = x.layers[0];
  assert.deepEqual(conv1.replaced, ['conv1.weight', 'conv1.bias']);
  assert.equal(conv1.delta, 0);
  assert.equal(conv1.value, truth.baseline);
  assert.equal(x.layers[1].value, truth.conv2Replaced, 'conv2 replaced: the accuracy torch computes with the source conv2');
  assert.equal(x.layers[1].delta, truth.conv2Replaced - truth.baseline);
  assert.deepEqual(x.layers[2].replaced, ['bn2.weight', 'bn2.bias', 'bn2.running_mean', 'bn2.running_var'], 'the step counter is no parameter');
  assert.deepEqual(x.roles.map((g) => g.role), ['conv-weight', 'conv-bias', 'bn-affine', 'bn-statistics']);
  assert.deepEqual(x.roles[0].replaced, ['conv1.weight', 'conv2.weight']);
  assert.equal(x.roles[0].value, truth.conv2Replaced, 'conv1 is the same on both sides, so all conv weights = conv2 alone');
  assert.deepEqual(x.reuseSet?.layers, ['conv1']);
  assert.equal(x.reuseSet?.delta, 0);
  assert.deepEqual({ ...x.network, reason: undefined }, { verdict: 'reusable', reason: undefined, measured: true, tolerance: 0.5, toleranceUnit: 'points' });
  assert.match(x.network.reason, /^reusable: replacing the 1 reuse-verdict layer keeps accuracy within 0\.5 points/);
});

test('the table shows per layer both conditions side by side: RMSE verdict and whether the replacement keeps accuracy', () => {
  const r = experiment('--model', 'factories.py:build', '--data', 'factories.py:data');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`baseline \\(target as is\\): ${truth.baseline.toFixed(2)} %`));
  assert.match(r.out, /^conv1\s+0\s+reuse\s+\S+ %\s+±0\.00 points\s+keeps$/m);
  assert.match(r.out, /^network \(measured\): reusable: /m);
});

test('--metric loss measures the cross-entropy (lower is better); the frozen layer still changes nothing', () => {
  const r = experiment('--model', 'factories.py:build', '--data', 'factories.py:data', '--metric', 'loss', '--json');
  assert.equal(r.code, 0, r.err);
  const x: ExperimentResult = JSON.parse(r.out);
  assert.deepEqual(x.metric, { name: 'loss', higherIsBetter: false, loss: 'cross-entropy' });
  assert.ok(x.baseline.value > 0);
  assert.equal(x.layers[0].delta, 0);
  assert.ok(x.layers[1].delta > 0, 'the source conv2 raises the target loss');
  assert.equal(x.network.toleranceUnit, '% of baseline');
});

function fails(r: { code: number | null; out: string; err: string }, re: RegExp) {
  assert.equal(r.code, 1, r.err);
  assert.equal(r.out, '');
  assert.match(r.err.trim(), re);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
}

test('a factory that cannot be imported: the traceback\'s last line', () => {
  fails(experiment('--model', 'broken.py:build', '--data', 'factories.py:data'),
    /^reuse-lens: model factory broken\.py:build: broken\.py could not be imported: ModuleNotFoundError: No module named 'reuse_lens_no_such_module'$/);
  fails(experiment('--model', 'factories.py:no_such', '--data', 'factories.py:data'), /factories\.py has no 'no_such'/);
  fails(experiment('--model', 'nowhere.py:build', '--data', 'factories.py:data'), /model factory nowhere\.py:build: no file nowhere\.py in /);
});

test('a model that does not take the checkpoint\'s tensors: missing and unexpected keys listed', () => {
  fails(experiment('--model', 'factories.py:build_renamed', '--data', 'factories.py:data'),
    /the model does not take .*target\.pt's tensors: missing keys \(the model has them, the checkpoint does not\): first\.bias, first\.weight; unexpected keys \(in the checkpoint, not in the model\): conv1\.bias, conv1\.weight$/);
});

test('data that yields nothing says so', () => {
  fails(experiment('--model', 'factories.py:build', '--data', 'factories.py:nothing'), /data factories\.py:nothing yielded nothing/);
});

test('an interpreter without torch: "… has no torch; pick another interpreter"; a missing one: not found', () => {
  // Debian's python3 with site-packages off (-S) is an interpreter without torch.
  const noTorch = join(dir, 'python-without-torch');
  writeFileSync(noTorch, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`);
  chmodSync(noTorch, 0o755);
  fails(cli('experiment', 'source.pt', 'target.pt', '--python', noTorch, '--model', 'factories.py:build', '--data', 'factories.py:data'),
    /^reuse-lens: \S*python3\S* has no torch; pick another interpreter$/);
  fails(cli('experiment', 'source.pt', 'target.pt', '--python', join(dir, 'no-python'), '--model', 'factories.py:build', '--data', 'factories.py:data'),
    /Python interpreter '.*no-python' not found; pick another interpreter/);
});

test('experiment without --model or --data is a usage error (exit 2)', () => {
  const r = experiment('--data', 'factories.py:data');
  assert.equal(r.code, 2);
  assert.match(r.err, /--model needs FILE\.py:CALLABLE, got nothing/);
});

test('cancel ends the driver and its process group within a second', async () => {
  const report = await analyzePaths(join(dir, 'source.pt'), join(dir, 'target.pt'));
  const abort = new AbortController();
  let started = 0;
  const run = runExperiment(report, {
    python: PYTHON, cwd: dir, model: 'factories.py:build', data: 'factories.py:slow', signal: abort.signal,
  });
  const pidFile = join(dir, 'slow.pid');
  for (let i = 0; i < 300 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((r) => setTimeout(r, 300)); // it is inside the endless evaluation now
  started = Date.now();
  abort.abort();
  await assert.rejects(run, CancelledError);
  let alive = true;
  while (alive && Date.now() - started < 1000) {
    try { process.kill(pid, 0); await new Promise((r) => setTimeout(r, 20)); } catch { alive = false; }
  }
  assert.equal(alive, false, 'the driver still runs a second after cancel');
});

// ---- the extension's path: the shipped worker (dist/worker.js) over JSON-RPC

function workerClient() {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  return new WorkerClient({ workerPath: join(ROOT, 'dist', 'worker.js'), memoryLimitMb: 512, log });
}

test('the worker runs an experiment for the extension: progress per evaluation with an ETA, then the result', async () => {
  const c = workerClient();
  try {
    const report = await analyzePaths(join(dir, 'source.pt'), join(dir, 'target.pt'));
    const progress: { done: number; total: number; etaSeconds?: number }[] = [];
    const x = await c.experiment({ report, python: PYTHON, cwd: dir, model: 'factories.py:build', data: 'factories.py:data' }, (p) => progress.push(p));
    assert.equal(x.baseline.value, truth.baseline);
    assert.equal(x.layers[0].delta, 0);
    const total = 1 + x.layers.length + x.roles.length + 1;
    assert.deepEqual(progress.map((p) => p.done), Array.from({ length: total + 1 }, (_, i) => i), 'one step per evaluation, after building the model');
    assert.ok(progress.every((p) => p.total === total));
    assert.ok(progress.slice(1).every((p) => typeof p.etaSeconds === 'number' && p.etaSeconds >= 0), 'an ETA from the first evaluation on');
    assert.equal(progress.at(-1)!.etaSeconds, 0);
  } finally { c.dispose(); }
});

test('the worker reports a bad factory as an experiment error (the message as is), and cancel ends the driver within a second', async () => {
  const c = workerClient();
  try {
    const report = await analyzePaths(join(dir, 'source.pt'), join(dir, 'target.pt'));
    await assert.rejects(c.experiment({ report, python: PYTHON, cwd: dir, model: 'broken.py:build', data: 'factories.py:data' }),
      (e: WorkerRequestError) => e.kind === 'experiment' && /^model factory broken\.py:build: broken\.py could not be imported: ModuleNotFoundError/.test(e.message));
    rmSync(join(dir, 'slow.pid'), { force: true });
    const cts = new CancellationTokenSource();
    const run = c.experiment({ report, python: PYTHON, cwd: dir, model: 'factories.py:build', data: 'factories.py:slow' }, undefined, cts.token);
    const pidFile = join(dir, 'slow.pid');
    for (let i = 0; i < 300 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const workerPid = c.pid;
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    cts.cancel();
    await assert.rejects(run, (e: WorkerRequestError) => e.kind === 'cancelled');
    let alive = true;
    while (alive && Date.now() - t0 < 1000) {
      try { process.kill(pid, 0); await new Promise((r) => setTimeout(r, 20)); } catch { alive = false; }
    }
    assert.equal(alive, false, 'the driver still runs a second after cancel');
    assert.equal(c.pid, workerPid, 'the worker itself was not killed: the driver was');
    assert.equal((await c.ping()).active, 0);
  } finally { c.dispose(); }
});

test('a worker killed outright (as the extension ends a hung one) takes the user\'s Python with it within seconds', async () => {
  // The driver looks for its parent every 0.2 s; 5 s leaves room for a loaded machine.
  const c = workerClient();
  try {
    const report = await analyzePaths(join(dir, 'source.pt'), join(dir, 'target.pt'));
    const pidFile = join(dir, 'slow.pid');
    rmSync(pidFile, { force: true });
    const run = c.experiment({ report, python: PYTHON, cwd: dir, model: 'factories.py:build', data: 'factories.py:slow' });
    run.catch(() => undefined);
    for (let i = 0; i < 300 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 300)); // inside the endless evaluation
    const t0 = Date.now();
    process.kill(c.pid!, 'SIGKILL'); // no exit handler of the worker runs
    let alive = true;
    while (alive && Date.now() - t0 < 5000) {
      try { process.kill(pid, 0); await new Promise((r) => setTimeout(r, 20)); } catch { alive = false; }
    }
    assert.equal(alive, false, 'the user\'s evaluation still runs five seconds after its worker was killed');
  } finally { c.dispose(); }
});
