// The extension's path of a replacement experiment on a TF.js / Keras / ONNX model: the shipped
// worker (dist/worker.js, forked as the extension forks it) runs it in its experiment thread
// (dist/experiment-thread.js), relays progress with an ETA, keeps answering pings meanwhile, gives
// the same result as `reuse-lens experiment --json`, and a cancel ends the compute within a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { WorkerClient } from '../../src/extension/worker/client';
import type { WorkerRequestError } from '../../src/extension/worker/errors';
import type { ExperimentResult, ProgressParams, Report } from '../../src/protocol';
import { DIST, ensureProductionBuild, ROOT } from './helpers/shippedBundles';

const FX = join(ROOT, 'test', 'fixtures', 'experiments');
const SOURCE = join(FX, 'tfjs_source', 'model.json');
const TARGET = join(FX, 'tfjs_target', 'model.json');
const DATA = join(FX, 'keras_val.npz');
let dir = '';
let big = '';

function cliJson(...args: string[]): unknown {
  const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args, '--json'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function workerClient() {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  return new WorkerClient({ workerPath: join(DIST, 'worker.js'), memoryLimitMb: 2048, log });
}

const withoutTime = (x: ExperimentResult) => ({ ...x, durationMs: 0 });

before(() => {
  ensureProductionBuild();
  dir = mkdtempSync(join(tmpdir(), 'reuse-lens-file-experiment-'));
  // The fixture's 96 samples repeated to 96 x 400: each evaluation takes long enough that a cancel
  // lands mid-evaluation and a blocked event loop would show in the pings.
  big = join(dir, 'big_val.npz');
  const g = spawnSync('/usr/bin/python3', ['-c', `import numpy as np, sys; d = np.load(sys.argv[1]); np.savez(sys.argv[2], x=np.tile(d['x'], (400, 1, 1, 1)), y=np.tile(d['y'], 400))`, DATA, big], { encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
});

after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

test('the worker runs a TF.js experiment without Python: progress per evaluation with an ETA, and the result the CLI gives', async () => {
  const report = cliJson('compare', SOURCE, TARGET) as Report;
  const c = workerClient();
  try {
    const progress: ProgressParams[] = [];
    const x = await c.fileExperiment({ report, data: DATA }, (p) => progress.push(p));
    const total = 1 + x.layers.length + x.roles.length + (x.reuseSet ? 1 : 0);
    assert.deepEqual(progress.map((p) => p.done), Array.from({ length: total + 1 }, (_, i) => i), 'one step per evaluation');
    assert.ok(progress.every((p) => p.total === total));
    assert.ok(progress.slice(1).every((p) => typeof p.etaSeconds === 'number' && p.etaSeconds >= 0), 'an ETA from the first evaluation on');
    assert.equal(progress.at(-1)!.etaSeconds, 0);
    assert.match(x.runtime ?? '', /^TensorFlow\.js 4\.\d+\.\d+, WebAssembly backend/, 'the result says which backend ran');
    const fromCli = cliJson('experiment', SOURCE, TARGET, '--data', DATA) as ExperimentResult;
    assert.deepEqual(withoutTime(x), withoutTime(fromCli));
    assert.equal(x.layers[0].delta, 0, 'conv2d is equal on both sides');
  } finally { c.dispose(); }
});

test('the worker normalises an image folder with the mean and std the extension passes (settings imageMean/imageStd)', async () => {
  const truth = JSON.parse(readFileSync(join(FX, 'onnx_images_normalized_expected.json'), 'utf8'));
  const report = cliJson('compare', join(FX, 'onnx_source.onnx'), join(FX, 'onnx_target.onnx')) as Report;
  const c = workerClient();
  try {
    const x = await c.fileExperiment({ report, data: join(FX, 'onnx_images'), normalize: { mean: truth.mean, std: truth.std } });
    assert.equal(x.baseline.value, truth.baseline);
    assert.match(x.runtime ?? '', /^ONNX Runtime 1\.\d+\.\d+ \(onnxruntime-node, CPU/);
  } finally { c.dispose(); }
});

test('a bad evaluation set is a checkpoint error naming the file, not an internal error', async () => {
  const report = cliJson('compare', SOURCE, TARGET) as Report;
  const c = workerClient();
  try {
    await assert.rejects(c.fileExperiment({ report, data: join(FX, 'keras_val_nchw.npz') }),
      (e: WorkerRequestError) => e.kind === 'checkpoint' && /keras_val_nchw\.npz: x has samples of shape \[3, 8, 8\].*channels-last/.test(e.message));
    const pt = cliJson('compare', join(ROOT, 'test/fixtures/pairs/source.pt'), join(ROOT, 'test/fixtures/pairs/target.safetensors')) as Report;
    await assert.rejects(c.fileExperiment({ report: pt, data: DATA }),
      (e: WorkerRequestError) => e.kind === 'checkpoint' && /target\.safetensors: is a safetensors checkpoint, which holds weights but not the architecture/.test(e.message));
  } finally { c.dispose(); }
});

test('while the experiment computes, the worker answers pings at once; cancel ends the compute within a second', async () => {
  const report = cliJson('compare', SOURCE, TARGET) as Report;
  const c = workerClient();
  try {
    const cts = new CancellationTokenSource();
    let done = 0;
    const run = c.fileExperiment({ report, data: big }, (p) => { done = p.done; }, cts.token);
    run.catch(() => undefined);
    for (let i = 0; i < 600 && done < 1; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(done >= 1, 'the baseline was evaluated');
    const pings: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const p = await c.ping();
      pings.push(performance.now() - t);
      assert.equal(p.active, 1, 'the experiment is running');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(Math.max(...pings) < 250, `pings answered while computing: ${pings.map((p) => p.toFixed(0)).join(', ')} ms`);
    assert.ok(done < 10, `still running when cancelled (${done} evaluations done)`);
    const workerPid = c.pid;
    const t0 = performance.now();
    cts.cancel();
    await assert.rejects(run, (e: WorkerRequestError) => e.kind === 'cancelled');
    const took = performance.now() - t0;
    assert.ok(took < 1000, `cancelled within a second (${took.toFixed(0)} ms)`);
    // The thread is gone: the worker's CPU time stops growing.
    const cpu = () => Number(spawnSync('ps', ['-o', 'times=', '-p', String(workerPid)], { encoding: 'utf8' }).stdout.trim());
    const before = cpu();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(cpu() - before <= 1, 'the worker does not keep computing after the cancel');
    assert.equal(c.pid, workerPid, 'the worker itself lives on');
    assert.equal((await c.ping()).active, 0);
  } finally { c.dispose(); }
});
