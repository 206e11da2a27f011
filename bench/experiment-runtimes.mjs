#!/usr/bin/env node
// `npm run bench` (after the PyTorch experiment): the in-process runtimes of experiments on models
// whose architecture is in the file (src/core/experiments/fileExperimentThread.ts), through dist/cli.js.
// - TensorFlow.js backends on the demo-sized CNN (demo/model.py's ShapeNet as a TF.js layers
//   model, 32x32 inputs): WebAssembly (SIMD) against the plain-JavaScript CPU backend, per
//   evaluation of 128 samples. (tfjs-node is not a contender: its install downloads libtensorflow,
//   which fails here, and a bundled engine could not use it; see tfjsBackend.ts.)
// - ONNX Runtime on the same network exported by torch.onnx.export: onnxruntime-node (what the
//   runner uses) against onnxruntime-web's WebAssembly build in Node, one pass over 512 samples.
// - The whole experiment on a MobileNet-sized TF.js model (MobileNet v1, 4.2 M parameters, 55
//   layers, 128x128, 16 samples): target < 60 s on this machine (2 cores). Exit 1 when missed.
// Models come from bench/gen_experiment_models.py (Debian's python3 with numpy and torch).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIR = join(tmpdir(), 'reuse-lens-bench-runtimes');
const GOAL_S = 60;

function run(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: DIR, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) { process.stderr.write(`${cmd} ${args.join(' ')} failed: ${r.stderr}`); process.exit(1); }
  return { s, out: r.stdout };
}

/**
 * The CLI's experiment, whole process, with the CPU seconds it used (GNU time): on a machine
 * shared with other builds the wall clock says more about them than about us.
 */
function experiment(source, target, data, env = {}) {
  const cpuFile = join(DIR, 'cpu-seconds.txt');
  const { s, out } = run('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, join(ROOT, 'dist/cli.js'), 'experiment', source, target, '--data', data, '--json'], env);
  const cpu = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0);
  const x = JSON.parse(out);
  const evaluations = 1 + x.layers.length + x.roles.length + (x.reuseSet ? 1 : 0);
  return { s, cpu, x, evaluations, perEval: x.durationMs / 1000 / evaluations };
}

mkdirSync(DIR, { recursive: true });
run('/usr/bin/python3', [join(ROOT, 'bench/gen_experiment_models.py'), DIR]);
// The demo set's first 128 samples for the TF.js backends (the CPU backend takes seconds per pass).
run('/usr/bin/python3', ['-c', 'import numpy as np; d = np.load("demo_val_nhwc.npz"); np.savez("demo_val_128.npz", x=d["x"][:128], y=d["y"][:128])']);

// --mobilenet: only the MobileNet-sized row (its < 60 s goal), without the backend comparison.
const onlyMobile = process.argv.includes('--mobilenet');
if (onlyMobile) {
  reportMobile();
  process.exit(process.exitCode ?? 0);
}

const wasm = experiment('demo_tfjs_source/model.json', 'demo_tfjs_target/model.json', 'demo_val_128.npz', { REUSE_LENS_TFJS_BACKEND: 'wasm' });
const cpu = experiment('demo_tfjs_source/model.json', 'demo_tfjs_target/model.json', 'demo_val_128.npz', { REUSE_LENS_TFJS_BACKEND: 'cpu' });
const onnx = experiment('demo_source.onnx', 'demo_target.onnx', 'demo_val_nchw.npz');

// One inference pass over the 512 samples in each ONNX Runtime build, best of three.
const passScript = `
const which = process.argv[1];
const ort = require(which);
if (which === 'onnxruntime-web') ort.env.wasm.numThreads = 1;
const { readFileSync } = require('node:fs');
(async () => {
  const s = await ort.InferenceSession.create(readFileSync('demo_target.onnx'));
  const n = 512, per = 3 * 32 * 32, x = new Float32Array(n * per).map(() => Math.random());
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < n; b += 32) await s.run({ input: new ort.Tensor('float32', x.subarray(b * per, (b + 32) * per), [32, 3, 32, 32]) });
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(best);
})();`;
const pass = (pkg) => Number(spawnSync(process.execPath, ['-e', passScript, pkg], { cwd: DIR, encoding: 'utf8', env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } }).stdout.trim());
const ortNode = pass('onnxruntime-node');
const ortWeb = pass('onnxruntime-web');

const mobileRow = reportMobile({ print: false });
process.stdout.write([
  `In-process experiment runtimes (${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end).`,
  '',
  '| Row | Measured | Ratio | Goal | |',
  '|---|---:|---:|---:|---|',
  `| demo CNN, TF.js, ${wasm.evaluations} evaluations of ${wasm.x.samples} samples: WebAssembly (SIMD) per evaluation | ${wasm.perEval.toFixed(2)} s | ${(cpu.perEval / wasm.perEval).toFixed(1)}x faster than CPU | | |`,
  `| demo CNN, TF.js, same: CPU backend (JavaScript) per evaluation | ${cpu.perEval.toFixed(2)} s | 1 | | |`,
  `| demo CNN, ONNX, one pass over 512 samples: onnxruntime-node | ${ortNode.toFixed(0)} ms | ${(ortWeb / ortNode).toFixed(1)}x faster than web | | |`,
  `| demo CNN, ONNX, same: onnxruntime-web (WebAssembly, 1 thread) | ${ortWeb.toFixed(0)} ms | 1 | | |`,
  `| demo CNN, ONNX experiment (${onnx.evaluations} evaluations of ${onnx.x.samples} samples), whole process | ${onnx.s.toFixed(1)} s (CPU ${onnx.cpu.toFixed(1)} s) | | | |`,
  mobileRow,
  '',
].join('\n'));

/**
 * The whole experiment on a MobileNet-sized TF.js model through the CLI: judged on the wall clock
 * when the machine is quiet; on a shared one, on the CPU time used (the runtimes use one thread: on
 * 2 free cores, wall clock ~ CPU time). Sets the exit code when the goal is missed.
 */
function reportMobile({ print = true } = {}) {
  const loadBefore = loadavg()[0];
  const mobile = experiment('mobilenet_tfjs_source/model.json', 'mobilenet_tfjs_target/model.json', 'mobilenet_val.npz');
  const load = Math.max(loadBefore, loadavg()[0]);
  const busy = load > cpus().length;
  const judged = busy ? mobile.cpu : mobile.s;
  const ok = judged < GOAL_S;
  if (!ok) process.exitCode = 1;
  const params = JSON.parse(readFileSync(join(DIR, 'mobilenet_tfjs_target/model.json'), 'utf8')).weightsManifest[0].weights
    .reduce((a, w) => a + w.shape.reduce((p, q) => p * q, 1), 0);
  const row = `| MobileNet v1 TF.js (${(params / 1e6).toFixed(1)} M parameters, ${mobile.x.layers.length} layers), ${mobile.evaluations} evaluations of ${mobile.x.samples} samples at 128x128, whole process | ${mobile.s.toFixed(1)} s wall (CPU ${mobile.cpu.toFixed(1)} s; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after) | | < ${GOAL_S} s${busy ? ' CPU (machine busy)' : ' wall'} | ${ok ? 'met' : '**not met**'} |`;
  if (print) process.stdout.write(`${row}\n`);
  return row;
}
