// What users run is what is tested here: the production bundles (minified, no source maps) that
// `npm run package` puts in the .vsix and `npm test` builds the same way (`node esbuild.mjs
// --production`). `dist/cli.js` and `dist/worker.js` (over JSON-RPC, as the extension forks it)
// read a fixture of every format, and their numbers are held to the committed numpy/torch/onnx
// readings. The unit tests of the readers run the sources through tsx, where module loading
// differs from the bundles (h5wasm's ESM bindings broke Keras only in the bundles).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerClient } from '../../src/extension/worker/client';
import type { InspectResponse, Report } from '../../src/protocol';
import { FIXTURES, listTruth, meanStd, pytorchTruth, TensorTruth, valuesTruth } from './helpers/fixtureTruth';
import { checkAgainstNumpy, checkKerasTorchCross } from './helpers/reportTruth';
import { DIST, ensureProductionBuild, isProductionBuild, ROOT, SHIPPED } from './helpers/shippedBundles';

/** One fixture of each format the product reads, with its committed truth. */
const CASES: { label: string; file: string; format: string; truth: () => TensorTruth[] }[] = [
  { label: 'a PyTorch zip .pt', file: 'pytorch/conv_net.pt', format: 'pytorch-zip', truth: () => pytorchTruth('conv_net.pt') },
  { label: 'a legacy (pre-1.6) PyTorch .pt', file: 'pytorch/conv_net_legacy.pt', format: 'pytorch-legacy', truth: () => pytorchTruth('conv_net_legacy.pt') },
  { label: 'a safetensors file', file: 'safetensors/conv_bn_linear.safetensors', format: 'safetensors', truth: () => listTruth('safetensors/expected.json', 'safetensors/conv_bn_linear.safetensors') },
  { label: 'a sharded safetensors index', file: 'safetensors/sharded/model.safetensors.index.json', format: 'safetensors-sharded', truth: () => listTruth('safetensors/expected.json', 'safetensors/sharded/model.safetensors.index.json') },
  { label: 'a NumPy .npy', file: 'numpy/c_order.npy', format: 'npy', truth: () => listTruth('numpy/expected.json', 'numpy/c_order.npy') },
  { label: 'a deflated NumPy .npz', file: 'numpy/state_deflated.npz', format: 'npz', truth: () => listTruth('numpy/expected.json', 'numpy/state_deflated.npz') },
  { label: 'a tf.keras model .h5', file: 'keras/cnn_model.h5', format: 'keras-h5', truth: () => valuesTruth('keras/cnn_expected.json') },
  { label: 'a tf.keras save_weights .h5 (gzip-chunked)', file: 'keras/cnn_weights.h5', format: 'keras-h5', truth: () => valuesTruth('keras/cnn_expected.json') },
  { label: 'a Keras 3 .keras archive', file: 'keras/cnn.keras', format: 'keras-v3', truth: () => valuesTruth('keras/cnn_keras3_expected.json') },
  { label: 'a TF.js model.json with two shards', file: 'tfjs/cnn/model.json', format: 'tfjs', truth: () => valuesTruth('tfjs/cnn_expected.json') },
  { label: 'an ONNX model', file: 'onnx/cnn.onnx', format: 'onnx', truth: () => valuesTruth('onnx/cnn_expected.json') },
  { label: 'an ONNX model with external data', file: 'onnx/cnn_external.onnx', format: 'onnx', truth: () => valuesTruth('onnx/cnn_expected.json') },
];

const fixture = (rel: string) => join(FIXTURES, rel);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const near = (got: number, want: number, scale: number, what: string) =>
  assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(scale, 1e-9), `${what}: got ${got}, truth ${want}`);

/** An inspect result's tensors (with stats) against the truth: names in order, shapes, min/max/mean/std. */
function checkInspect(r: InspectResponse, truth: TensorTruth[], what: string): void {
  assert.deepEqual(r.tensors.map((t) => t.name), truth.map((t) => t.name), `${what}: tensor names`);
  for (const e of truth) {
    const t = r.tensors.find((x) => x.name === e.name)!;
    assert.deepEqual(t.shape, e.shape, `${what} ${e.name} shape`);
    assert.ok(t.stats, `${what} ${e.name} has stats`);
    const rms = Math.sqrt(e.sumsq / e.n);
    const { mean, std } = meanStd(e);
    near(t.stats.mean, mean, rms, `${what} ${e.name} mean`);
    // std from sums loses digits where std << mean; its square is what the sums pin down.
    near(t.stats.std ** 2, std ** 2, e.sumsq / e.n, `${what} ${e.name} std²`);
    if (e.min !== undefined) near(t.stats.min, e.min, rms, `${what} ${e.name} min`);
    if (e.max !== undefined) near(t.stats.max, e.max, rms, `${what} ${e.name} max`);
    assert.equal(t.stats.nan, 0);
  }
}

before(ensureProductionBuild);

test('npm test runs the bundles the .vsix ships: built with --production (minified, no source maps)', () => {
  assert.ok(isProductionBuild(), 'dist/ holds a development build: npm test must build with `node esbuild.mjs --production`, as npm run package does');
  const pkg = readFileSync(join(ROOT, 'package.json'), 'utf8');
  assert.match(JSON.parse(pkg).scripts.test, /esbuild\.mjs --production/);
  assert.match(readFileSync(join(ROOT, 'scripts', 'package-vsix.mjs'), 'utf8'), /'esbuild\.mjs', '--production'/);
});

test('h5wasm is in the HDF5 thread bundle only, once', () => {
  // h5wasm's WebAssembly factory is 5 MB; a second copy would show as a bundle of that size.
  for (const b of SHIPPED) {
    const size = readFileSync(join(DIST, b)).length;
    if (b === 'hdf5-thread.js') assert.ok(size > 3e6, `${b} holds h5wasm (${size} bytes)`);
    else assert.ok(size < 2e6, `${b} does not hold h5wasm (${size} bytes)`);
  }
});

test('TensorFlow.js and ONNX Runtime are in the experiment thread bundle only: no bundle imports another\'s copy of them', () => {
  // A runtime's module state (the registered TF.js backends, the wasm paths, ORT's binding) set
  // after load is seen only inside the bundle that holds it; a second bundle importing it would get
  // a frozen copy (as h5wasm's `Module` was). The experiment thread holds both and exports nothing.
  const tfjs = /WASM_HAS_SIMD_SUPPORT/, ort = /onnxruntime_binding\.node/;
  for (const b of SHIPPED) {
    const text = readFileSync(join(DIST, b), 'utf8');
    const inThread = b === 'experiment-thread.js';
    assert.equal(tfjs.test(text), inThread, `${b} ${inThread ? 'holds' : 'does not hold'} TensorFlow.js`);
    assert.equal(ort.test(text), inThread, `${b} ${inThread ? 'holds' : 'does not hold'} ONNX Runtime`);
  }
  assert.ok(!existsSync(join(DIST, 'experiment-runtimes.js')), 'no separate runtimes bundle (esbuild.mjs removes a stale one)');
});

for (const c of CASES) {
  test(`reuse-lens inspect --stats reads every tensor of ${c.label} to the committed truth`, () => {
    const r = cli('inspect', fixture(c.file), '--stats', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as InspectResponse;
    assert.equal(j.format, c.format);
    checkInspect(j, c.truth(), c.file);
  });
}

test('reuse-lens compare --json: PyTorch source against a safetensors target, every pair as numpy computed it', () => {
  const r = cli('compare', fixture('pairs/source.pt'), fixture('pairs/target.safetensors'), '--json');
  assert.equal(r.code, 0, r.err);
  const truth = JSON.parse(readFileSync(fixture('pairs/expected.json'), 'utf8'));
  checkAgainstNumpy(JSON.parse(r.out), truth.pairs['source-target']);
});

test('reuse-lens compare --json: a Keras .h5 source against a PyTorch target, pairing and RMSEs as numpy computed them', () => {
  const r = cli('compare', fixture('keras/cross_cnn.h5'), fixture('keras/cross_cnn.pt'), '--json');
  assert.equal(r.code, 0, r.err);
  checkKerasTorchCross(JSON.parse(r.out), JSON.parse(readFileSync(fixture('keras/cross_expected.json'), 'utf8')));
});

test('reuse-lens compare --json: a Keras .h5 against a TF.js model, each pair\'s RMSE and cosine as computed from both truths', () => {
  const r = cli('compare', fixture('keras/cnn_model.h5'), fixture('tfjs/cnn/model.json'), '--json');
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as Report;
  const src = valuesTruth('keras/cnn_expected.json'), tgt = valuesTruth('tfjs/cnn_expected.json');
  const params = rep.layers.flatMap((l) => l.params);
  assert.equal(params.length, src.length);
  for (const s of src) {
    // Both files spell `conv2d/kernel`.
    const t = tgt.find((x) => x.name === s.name)!;
    let d2 = 0, dot = 0;
    s.first.forEach((a, i) => { d2 += (a - t.first[i]) ** 2; dot += a * t.first[i]; });
    const p = params.find((x) => x.sourceName === s.name && x.targetName === t.name)!;
    assert.ok(p, `${s.name} is paired by name`);
    near(p.rmse!, Math.sqrt(d2 / s.n), Math.sqrt(d2 / s.n), `${s.name} rmse`);
    near(p.cosine!, dot / Math.sqrt(s.sumsq * t.sumsq), 1, `${s.name} cosine`);
  }
});

test('inspect and compare name tensors as the file spells them (Keras conv2d/kernel, npz keys with a slash); matching still pairs them with PyTorch\'s', () => {
  // Keras writes `conv2d/kernel:0`: shown as conv2d/kernel (the :0 is TF's output index), not conv2d.kernel.
  const h5 = cli('inspect', fixture('keras/cnn_model.h5'), '--json');
  assert.equal(h5.code, 0, h5.err);
  const names = (JSON.parse(h5.out) as InspectResponse).tensors.map((t) => t.name);
  assert.ok(names.includes('conv2d/kernel') && names.includes('depthwise_conv2d/depthwise_kernel'), names.join(', '));
  assert.ok(names.every((n) => !n.includes('.') && !n.endsWith(':0')), names.join(', '));
  const text = cli('inspect', fixture('keras/cnn_model.h5'));
  assert.match(text.out, /conv2d\/kernel/);
  // np.savez(head/weight=...) stores member head/weight.npy: the key as numpy spells it.
  const npz = cli('inspect', fixture('numpy/state_stored.npz'), '--json');
  assert.ok((JSON.parse(npz.out) as InspectResponse).tensors.some((t) => t.name === 'head/weight'));
  // The report keeps each side's spelling; Keras/TF.js pair by name, Keras/PyTorch by order and shape.
  const keras = cli('compare', fixture('keras/cnn_model.h5'), fixture('tfjs/cnn/model.json'), '--json');
  const kt = JSON.parse(keras.out) as Report;
  assert.ok(kt.layers.every((l) => l.matchedBy === 'name'), kt.layers.map((l) => `${l.name} ${l.matchedBy}`).join(', '));
  assert.ok(kt.layers.flatMap((l) => l.params).some((p) => p.sourceName === 'conv2d/kernel' && p.targetName === 'conv2d/kernel'));
  const torch = JSON.parse(cli('compare', fixture('keras/cross_cnn.h5'), fixture('keras/cross_cnn.pt'), '--json').out) as Report;
  const first = torch.layers.flatMap((l) => l.params).find((p) => p.sourceName === 'conv2d/kernel');
  assert.equal(first?.targetName, 'features.0.weight');
  const csv = cli('compare', fixture('keras/cross_cnn.h5'), fixture('keras/cross_cnn.pt'), '--csv');
  assert.equal(csv.code, 0, csv.err);
  assert.match(csv.out, /conv2d\/kernel.*features\.0\.weight/);
});

test('reuse-lens compare --json: an ONNX model against the same model with external data is identical tensor by tensor', () => {
  const r = cli('compare', fixture('onnx/cnn.onnx'), fixture('onnx/cnn_external.onnx'), '--json');
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as Report;
  assert.deepEqual(rep.layers.map((l) => l.name), JSON.parse(readFileSync(fixture('onnx/cnn_expected.json'), 'utf8')).layerOrder);
  const params = rep.layers.flatMap((l) => l.params);
  assert.equal(params.length, 10);
  for (const p of params) assert.equal(p.rmse, 0, p.targetName ?? '');
});

// ---- dist/worker.js over JSON-RPC, forked as the extension forks it ----

let worker: WorkerClient;
after(() => worker?.dispose());
const rpc = () => (worker ??= new WorkerClient({ workerPath: join(DIST, 'worker.js'), memoryLimitMb: 1024, log: { info() {}, warn() {}, error() {} }, onWorkerLost: () => {} }));

for (const c of CASES) {
  test(`the worker bundle inspects ${c.label} with stats and reads its first tensor's values over JSON-RPC`, async () => {
    const truth = c.truth();
    const r = await rpc().inspect({ path: fixture(c.file), stats: true });
    assert.equal(r.format, c.format);
    checkInspect(r, truth, c.file);
    const first = truth[0];
    const t = await rpc().readTensor({ path: fixture(c.file), name: first.name });
    assert.deepEqual(t.shape, first.shape);
    assert.equal(t.values.length, first.n);
    first.first.forEach((v, i) => near(t.values[i], v, Math.abs(v), `${c.file} ${first.name}[${i}]`));
  });
}

test('the worker bundle analyzes a PyTorch/safetensors pair and a Keras/PyTorch pair to numpy\'s numbers', async () => {
  const pairs = JSON.parse(readFileSync(fixture('pairs/expected.json'), 'utf8'));
  const a = await rpc().analyze({ source: fixture('pairs/source.pt'), target: fixture('pairs/target.safetensors') });
  checkAgainstNumpy(a.report, pairs.pairs['source-target']);
  const k = await rpc().analyze({ source: fixture('keras/cross_cnn.h5'), target: fixture('keras/cross_cnn.pt') });
  checkKerasTorchCross(k.report, JSON.parse(readFileSync(fixture('keras/cross_expected.json'), 'utf8')));
});

// ---- real published weights (npm devDependencies), held to numpy's readings ----

test('reuse-lens compare --json: two uint8-quantized face-api weights manifests, each kernel\'s relative RMSE as numpy dequantizes them', () => {
  const faceApi = join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'model');
  const r = cli('compare', join(faceApi, 'face_landmark_68_model-weights_manifest.json'), join(faceApi, 'face_expression_model-weights_manifest.json'), '--json');
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as Report;
  const truth = JSON.parse(readFileSync(fixture('published/truth.json'), 'utf8')).faceapi_landmark68_vs_expression as Record<string, { relRmse: number }>;
  for (const [name, e] of Object.entries(truth)) {
    const l = rep.layers.find((x) => x.name === name)!;
    near(l.kernelRelRmse!, e.relRmse, e.relRmse, `${name} relative RMSE`);
    assert.equal(l.verdict, e.relRmse < 0.1 ? 'reuse' : e.relRmse < 0.6 ? 'fine-tune' : 'retrain', name);
  }
});

test('reuse-lens compare: a reference-ordered safetensors pair in network order, split point named', () => {
  const r = cli('compare', fixture('safetensors/order_source.safetensors'), fixture('safetensors/order_target.safetensors'), '--json');
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as Report;
  assert.deepEqual(rep.layers.map((l) => l.name), JSON.parse(readFileSync(fixture('safetensors/order_expected.json'), 'utf8')).networkOrder);
  assert.match(rep.summary.network.reason, /retrain from features\.9/);
});

// Files others published, through both bundles: TFLite (float16 behind DEQUANTIZE), ONNX whose
// weights are Constant nodes, TF.js graph models (float32 and float16). Truth: numpy, onnx, flatc.
const PUBLISHED_TRUTH = () => JSON.parse(readFileSync(fixture('published/truth.json'), 'utf8'));
const NM = join(ROOT, 'node_modules');
const SELFIE = join(NM, '@mediapipe', 'selfie_segmentation', 'selfie_segmentation.tflite');
const SELFIE_LANDSCAPE = join(NM, '@mediapipe', 'selfie_segmentation', 'selfie_segmentation_landscape.tflite');
const PADDLE_CLS = join(NM, '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const HUMAN_EMOTION = join(NM, '@vladmandic', 'human', 'models', 'emotion.json');
interface PublishedEntry { shape: number[]; sum: number; sumsq: number; first: number[] }
const PUBLISHED: { label: string; file: string; format: string; storage?: string; truth: () => Record<string, PublishedEntry> }[] = [
  { label: 'MediaPipe\'s selfie_segmentation.tflite (float16 weights)', file: SELFIE, format: 'tflite', storage: 'float16', truth: () => PUBLISHED_TRUTH().mediapipe_selfie.values },
  { label: 'PaddleOCR\'s cls model (ONNX, weights in Constant nodes)', file: PADDLE_CLS, format: 'onnx', truth: () => PUBLISHED_TRUTH().paddle_ocr_cls.values },
  { label: 'human\'s emotion.json (TF.js graph model)', file: HUMAN_EMOTION, format: 'tfjs', truth: () => PUBLISHED_TRUTH().human_emotion },
  { label: 'human\'s faceres.json (TF.js graph model, float16)', file: join(NM, '@vladmandic', 'human', 'models', 'faceres.json'), format: 'tfjs', storage: 'float16', truth: () => PUBLISHED_TRUTH().human_faceres_float16 },
];

/** Inspect stats of the named tensors against sums from numpy: mean, std², the first values' range. */
function checkPublishedInspect(r: InspectResponse, truth: Record<string, PublishedEntry>, storage: string | undefined, what: string): void {
  for (const [name, e] of Object.entries(truth)) {
    const t = r.tensors.find((x) => x.name === name);
    assert.ok(t, `${what}: ${name} is listed`);
    assert.deepEqual(t.shape, e.shape, `${what} ${name} shape`);
    assert.equal(t.dtype, 'F32', `${what} ${name} is judged as float32`);
    if (storage) assert.equal(t.storage, storage, `${what} ${name} storage`);
    assert.ok(t.stats, `${what} ${name} has stats`);
    const n = e.shape.reduce((a, b) => a * b, 1);
    const mean = e.sum / n, ms = e.sumsq / n;
    near(t.stats.mean, mean, Math.sqrt(ms), `${what} ${name} mean`);
    near(t.stats.std ** 2, ms - mean * mean, ms, `${what} ${name} std²`);
    assert.ok(t.stats.min <= Math.min(...e.first) && t.stats.max >= Math.max(...e.first), `${what} ${name} min/max hold the first values`);
  }
}

for (const c of PUBLISHED) {
  test(`reuse-lens inspect --stats reads ${c.label} to the committed truth`, () => {
    const r = cli('inspect', c.file, '--stats', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as InspectResponse;
    assert.equal(j.format, c.format);
    assert.equal(j.order, 'declared', 'network order from the file\'s own graph');
    checkPublishedInspect(j, c.truth(), c.storage, c.label);
  });

  test(`the worker bundle inspects ${c.label} and reads a tensor's values over JSON-RPC to the committed truth`, async () => {
    const truth = c.truth();
    const r = await rpc().inspect({ path: c.file, stats: true });
    assert.equal(r.format, c.format);
    checkPublishedInspect(r, truth, c.storage, c.label);
    const [name, e] = Object.entries(truth)[0];
    const t = await rpc().readTensor({ path: c.file, name });
    assert.deepEqual(t.shape, e.shape);
    e.first.forEach((v, i) => near(t.values[i], v, Math.abs(v), `${c.label} ${name}[${i}]`));
    let sum = 0;
    for (const v of t.values) sum += v;
    near(sum, e.sum, Math.abs(e.sum), `${c.label} ${name} sum`);
  });
}

test('reuse-lens inspect: a TFLite model\'s kernels come in the order and kinds of its operators', () => {
  const r = cli('inspect', SELFIE, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as InspectResponse;
  const kernels = j.layers.filter((l) => l.kind === 'conv').map((l) => l.tensors.find((t) => t.role === 'weight')!.name);
  assert.deepEqual(kernels, PUBLISHED_TRUTH().mediapipe_selfie.kernelOrder);
});

/** Each truth kernel's pair in a report: relative RMSE as numpy computed it, and the verdict it implies. */
function checkSelfiePair(rep: Report): void {
  const truth = PUBLISHED_TRUTH().mediapipe_selfie_vs_landscape as Record<string, { relRmse: number }>;
  assert.ok(Object.keys(truth).length >= 50);
  for (const [name, e] of Object.entries(truth)) {
    const l = rep.layers.find((x) => x.params.some((p) => p.sourceName === name && p.role === 'weight'));
    assert.ok(l, `${name} is in the report`);
    assert.equal(l.matchedBy, 'name', name);
    near(l.kernelRelRmse!, e.relRmse, e.relRmse, `${name} relative RMSE`);
    assert.equal(l.verdict, e.relRmse < 0.1 ? 'reuse' : e.relRmse < 0.6 ? 'fine-tune' : 'retrain', `${name}: ${l.reason}`);
  }
}

test('reuse-lens compare --json: MediaPipe\'s portrait and landscape selfie models (TFLite), each kernel\'s relative RMSE as numpy computes it', () => {
  const r = cli('compare', SELFIE, SELFIE_LANDSCAPE, '--json');
  assert.equal(r.code, 0, r.err);
  checkSelfiePair(JSON.parse(r.out) as Report);
});

test('the worker bundle compares the two MediaPipe TFLite models to numpy\'s relative RMSEs', async () => {
  const a = await rpc().analyze({ source: SELFIE, target: SELFIE_LANDSCAPE });
  checkSelfiePair(a.report);
});

for (const [label, file] of [['a Paddle2ONNX model (Constant-node weights)', PADDLE_CLS], ['a TF.js graph model', HUMAN_EMOTION]] as const) {
  test(`reuse-lens compare --json and the worker bundle: ${label} against itself pairs every tensor by name at RMSE 0`, async () => {
    const r = cli('compare', file, file, '--json');
    assert.equal(r.code, 0, r.err);
    for (const rep of [JSON.parse(r.out) as Report, (await rpc().analyze({ source: file, target: file })).report]) {
      const params = rep.layers.flatMap((l) => l.params).filter((p) => p.rmse !== null);
      assert.ok(params.length >= 10, `${label}: ${params.length} pairs compared`);
      for (const p of params) assert.equal(p.rmse, 0, p.sourceName ?? '');
      assert.equal(rep.summary.network.verdict, 'reusable');
    }
  });
}

// Quantized (QDQ, QOperator, dynamic) and half-precision ONNX through both bundles: weights read
// as the float32 numpy dequantizes them to (test/fixtures/gen_onnx_quant.py).
const QUANT_TRUTH = () => JSON.parse(readFileSync(fixture('onnx/quant/expected.json'), 'utf8'));
for (const [file, key] of [['qdq_source.onnx', 'qdq_source'], ['qoperator.onnx', 'qoperator'], ['embedding.onnx', 'embedding'], ['fp16.onnx', 'fp16'], ['bf16.onnx', 'bf16'], ['contrib_source.onnx', 'contrib_source'], ['constant_scales.onnx', 'constant_scales'], ['blocked.onnx', 'blocked']] as const) {
  test(`reuse-lens inspect --stats and the worker bundle read ${file} as the float32 its weights stand for, storage beside`, async () => {
    const truth = QUANT_TRUTH()[key] as Record<string, PublishedEntry & { storage: string }>;
    const r = cli('inspect', fixture(`onnx/quant/${file}`), '--stats', '--json');
    assert.equal(r.code, 0, r.err);
    const viaWorker = await rpc().inspect({ path: fixture(`onnx/quant/${file}`), stats: true });
    for (const j of [JSON.parse(r.out) as InspectResponse, viaWorker]) {
      for (const [name, e] of Object.entries(truth)) checkPublishedInspect(j, { [name]: e }, e.storage, file);
    }
  });
}

/** Each quantized kernel's pair: numpy's relative RMSE on the dequantized values, and the verdict it implies. */
function checkQuantPair(rep: Report, key: 'qdq_pair' | 'contrib_pair', verdicts: string[]): void {
  const truth = QUANT_TRUTH()[key] as Record<string, { relRmse: number }>;
  for (const [name, e] of Object.entries(truth)) {
    const l = rep.layers.find((x) => x.params.some((p) => p.sourceName === name && p.role === 'weight'));
    assert.ok(l, `${name} is in the report`);
    near(l.kernelRelRmse!, e.relRmse, e.relRmse, `${name} relative RMSE`);
    assert.equal(l.verdict, e.relRmse < 0.1 ? 'reuse' : e.relRmse < 0.6 ? 'fine-tune' : 'retrain', `${name}: ${l.reason}`);
  }
  assert.deepEqual(rep.layers.filter((l) => l.kind !== 'other').map((l) => l.verdict), verdicts);
}
/** `reuse-lens compare --json` and the worker bundle's analyze on one pair of fixtures, each report handed to `check`. */
async function compareInBoth(source: string, target: string, check: (rep: Report) => void): Promise<void> {
  const [s, t] = [fixture(source), fixture(target)];
  const r = cli('compare', s, t, '--json');
  assert.equal(r.code, 0, r.err);
  check(JSON.parse(r.out) as Report);
  check((await rpc().analyze({ source: s, target: t })).report);
}

test('reuse-lens compare --json and the worker bundle: two QDQ-quantized ONNX models, each kernel\'s relative RMSE as numpy computes it on the dequantized values', async () => {
  await compareInBoth('onnx/quant/qdq_source.onnx', 'onnx/quant/qdq_target.onnx', (rep) => checkQuantPair(rep, 'qdq_pair', ['reuse', 'fine-tune', 'retrain', 'reuse']));
});

test('reuse-lens compare --json and the worker bundle: two ONNX models quantized with onnxruntime\'s contrib ops (QGemm, MatMulIntegerToFloat, DynamicQuantizeMatMul, QAttention), each kernel\'s relative RMSE as numpy computes it', async () => {
  await compareInBoth('onnx/quant/contrib_source.onnx', 'onnx/quant/contrib_target.onnx', (rep) => checkQuantPair(rep, 'contrib_pair', ['reuse', 'fine-tune', 'retrain', 'reuse', 'reuse']));
});

test('reuse-lens compare and the worker bundle on a contrib-op model with a wrong-length scale and a zero point of another type: warnings name the file and tensor, those layers are incompatible, no crash', async () => {
  const t = fixture('onnx/quant/contrib_hostile.onnx');
  await compareInBoth('onnx/quant/contrib_source.onnx', 'onnx/quant/contrib_hostile.onnx', (rep) => {
    assert.ok(rep.warnings.includes(`${t}: gemm1.weight_quantized: 5 scales and 12 zero points do not fit its shape [12, 16] along axis 0; left as integers, not judged`), rep.warnings.join('\n'));
    assert.ok(rep.warnings.includes(`${t}: mm.weight_quantized: uint8 weights whose zero point mm.weight_zero_point is int8, not uint8; left as integers, not judged`));
    assert.deepEqual(rep.layers.filter((l) => l.kind === 'linear').map((l) => l.verdict), ['incompatible', 'reuse', 'incompatible', 'reuse', 'reuse']);
  });
});

// ---- No user-facing text built from names the minifier changes ----

test('a pickle that calls or appends to the wrong thing is refused by the bundle in Python\'s words, not minified class names', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // PROTO 2, then: EMPTY_LIST EMPTY_TUPLE REDUCE STOP (a list called with no arguments) ...
  const calls = join(dir, 'calls_list.pkl');
  writeFileSync(calls, Buffer.from([0x80, 0x02, 0x5d, 0x29, 0x52, 0x2e]));
  // ... and EMPTY_DICT BININT1 1 APPEND STOP (an item appended to a dict).
  const appends = join(dir, 'appends_dict.pkl');
  writeFileSync(appends, Buffer.from([0x80, 0x02, 0x7d, 0x4b, 0x01, 0x61, 0x2e]));
  const a = cli('inspect', calls);
  assert.equal(a.code, 1);
  assert.equal(a.err.trim(), `reuse-lens: ${calls}: pickle calls a list value, which is not allowed`);
  const b = cli('inspect', appends);
  assert.equal(b.code, 1);
  assert.equal(b.err.trim(), `reuse-lens: ${appends}: pickle appends to a dict, which is not a list`);
});

test('no source builds text from a class or function name (minified in the shipped bundles)', () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name)) {
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          if (/constructor\.name|new\.target\.name|\.prototype\.name|Function\.name/.test(line.replace(/\/\/.*$/, ''))) offenders.push(`${p.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'webview'));
  assert.deepEqual(offenders, []);
});

test('the worker bundle tells which files each checkpoint was read from: index and shards, model and external data, nothing beside them', async () => {
  const rel = (fs: { path: string }[]) => fs.map((f) => f.path.slice(FIXTURES.length + 1));
  const a = await rpc().analyze({ source: fixture('safetensors/sharded/model.safetensors.index.json'), target: fixture('onnx/cnn_external.onnx') });
  assert.deepEqual(rel(a.files.source), ['safetensors/sharded/model.safetensors.index.json', 'safetensors/sharded/model-00001-of-00002.safetensors', 'safetensors/sharded/model-00002-of-00002.safetensors']);
  assert.deepEqual(rel(a.files.target), ['onnx/cnn_external.onnx', 'onnx/cnn_external.onnx.data']);
  const b = await rpc().analyze({ source: fixture('tfjs/cnn/model.json'), target: fixture('keras/cnn.keras') });
  assert.deepEqual(rel(b.files.source), ['tfjs/cnn/model.json', 'tfjs/cnn/group1-shard1of2.bin', 'tfjs/cnn/group1-shard2of2.bin']);
  assert.deepEqual(rel(b.files.target), ['keras/cnn.keras']);
  for (const f of [...a.files.source, ...b.files.target]) assert.ok(f.size > 0 && f.mtimeMs > 0, `${f.path} is stamped`);
});

test('the demo\'s Keras and ONNX copies of its PyTorch pair give the same layers, RMSEs and verdicts through the CLI bundle', () => {
  const demo = (rel: string) => join(ROOT, 'demo', 'runs', rel);
  const compare = (s: string, t: string) => {
    const r = cli('compare', demo(s), demo(t), '--json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as Report;
  };
  const pt = compare('pretrained/source.pt', 'pretrained/finetuned.pt');
  for (const [s, t] of [['keras/source.h5', 'keras/finetuned.h5'], ['onnx/source.onnx', 'onnx/finetuned.onnx']]) {
    const other = compare(s, t);
    let compared = 0;
    assert.deepEqual(other.layers.map((l) => [l.name, l.verdict]), pt.layers.map((l) => [l.name, l.verdict]), s);
    for (const l of pt.layers) {
      const o = other.layers.find((x) => x.name === l.name)!;
      for (const p of l.params) {
        const q = o.params.find((x) => x.role === p.role);
        if (p.rmse === null || !q) continue; // counters only PyTorch keeps (num_batches_tracked)
        near(q.rmse!, p.rmse, Math.abs(p.rmse), `${s} ${l.name} ${p.role} rmse`);
        compared++;
      }
    }
    assert.ok(compared >= 25, `${s}: ${compared} tensors compared`);
  }
});
