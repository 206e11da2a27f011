// Replacement experiments on models whose architecture is in the file (TF.js, Keras, ONNX), run
// through the shipped CLI bundle (dist/cli.js running it in dist/experiment-thread.js), against the
// answers the real frameworks give: a numpy forward pass with Keras semantics for the TF.js pair,
// torch for the ONNX pair (test/fixtures/gen_experiments.py).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult, ReplacementResult } from '../../src/core/experiments/types';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const FX = join(ROOT, 'test', 'fixtures', 'experiments');

interface Variant { replaced: string[]; accuracy: number; loss: number }
const expected = (name: string): { samples: number; variants: Variant[] } => JSON.parse(readFileSync(join(FX, name), 'utf8'));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function experiment(source: string, target: string, data: string, ...extra: string[]): ExperimentResult {
  const r = cli(['experiment', join(FX, source), join(FX, target), '--data', join(FX, data), '--json', ...extra]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

/** Every evaluation of a result, with what it replaced. */
function evaluations(x: ExperimentResult): { what: string; r: ReplacementResult }[] {
  return [...x.layers.map((r) => ({ what: `layer ${r.name}`, r })), ...x.roles.map((r) => ({ what: `role ${r.role}`, r })),
    ...(x.reuseSet ? [{ what: 'reuse set', r: x.reuseSet }] : [])];
}

/** Checks each evaluation against the framework's value for the same set of replaced tensors. */
function assertMatches(x: ExperimentResult, truth: Variant[], metric: 'accuracy' | 'loss', tolerance: number): void {
  const byKey = new Map(truth.map((v) => [v.replaced.join(','), v]));
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  close(x.baseline.value, byKey.get('')![metric], 'baseline');
  const all = evaluations(x);
  assert.ok(all.length >= 9, `layers, roles and the reuse set were evaluated (${all.length})`);
  for (const { what, r } of all) {
    // Replaced tensors are named as each file spells them (`conv2d/kernel`); the fixture's truth in dotted form.
    const v = byKey.get(r.replaced.map((n) => n.replace(/\//g, '.')).sort().join(','));
    assert.ok(v, `${what} replaced ${r.replaced.join(', ')}, a set the fixture computed`);
    close(r.value, v[metric], what);
    assert.equal(r.delta, r.value - x.baseline.value);
  }
}

before(() => {
  if (!existsSync(CLI) || !existsSync(join(ROOT, 'dist', 'experiment-thread.js'))) {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
});

test('a TF.js layers-model pair: the accuracies of a numpy forward pass, Δ = 0 for the layer equal on both sides, no Python', () => {
  const x = experiment('tfjs_source/model.json', 'tfjs_target/model.json', 'keras_val.npz');
  const truth = expected('keras_expected.json');
  assert.equal(x.schema, 'reuse-lens/experiment@1');
  assert.deepEqual(x.metric, { name: 'accuracy', higherIsBetter: true, unit: '%' });
  assert.equal(x.samples, truth.samples);
  assert.match(x.runtime ?? '', /^TensorFlow\.js 4\.\d+\.\d+, WebAssembly backend \(SIMD/);
  assert.deepEqual(x.layers.map((l) => l.name), ['conv2d', 'batch_normalization', 'depthwise_conv2d', 'conv2d_1', 'dense']);
  assert.equal(x.layers[0].delta, 0, 'conv2d is equal on both sides');
  assertMatches(x, truth.variants, 'accuracy', 0);
  assert.ok(x.roles.find((r) => r.role === 'conv-weight')!.delta < -30, 'the fixture has a replacement that costs accuracy');
  assert.deepEqual(x.reuseSet?.layers, ['conv2d', 'batch_normalization']);
  assert.equal(x.network.measured, true);
});

test('a Keras full model (.h5 from model.save, config in its model_config attribute) as the target: the same answers', () => {
  const x = experiment('tfjs_source/model.json', 'keras_target.h5', 'keras_val.npz');
  assert.deepEqual(x.layers.map((l) => l.name), ['conv2d', 'batch_normalization', 'depthwise_conv2d', 'conv2d_1', 'dense']);
  assertMatches(x, expected('keras_expected.json').variants, 'accuracy', 0);
});

test('a Keras 3 .keras (config.json translated to the Keras 2 form TensorFlow.js reads) as the target: the same losses', () => {
  const x = experiment('tfjs_source/model.json', 'keras_target.keras', 'keras_val.npz', '--metric', 'loss');
  // Keras 3 names the depthwise kernel `kernel`.
  const truth = expected('keras_expected.json').variants.map((v) => ({ ...v, replaced: v.replaced.map((n) => n.replace('.depthwise_kernel', '.kernel')).sort() }));
  assert.deepEqual(x.layers.map((l) => l.name), ['conv2d', 'batch_normalization', 'depthwise_conv2d', 'conv2d_1', 'dense']);
  assertMatches(x, truth, 'loss', 1e-5);
});

test('the loss of every replacement matches numpy\'s cross-entropy, on the WebAssembly and the CPU backend alike', () => {
  const truth = expected('keras_expected.json').variants;
  const wasm = experiment('tfjs_source/model.json', 'tfjs_target/model.json', 'keras_val.npz', '--metric', 'loss');
  assert.deepEqual(wasm.metric, { name: 'loss', higherIsBetter: false, loss: 'cross-entropy' });
  assertMatches(wasm, truth, 'loss', 1e-5);
  const r = cli(['experiment', join(FX, 'tfjs_source/model.json'), join(FX, 'tfjs_target/model.json'), '--data', join(FX, 'keras_val.npz'), '--json', '--metric', 'loss'], { REUSE_LENS_TFJS_BACKEND: 'cpu' });
  assert.equal(r.code, 0, r.err);
  const cpu: ExperimentResult = JSON.parse(r.out);
  assert.match(cpu.runtime ?? '', /CPU backend/);
  assertMatches(cpu, truth, 'loss', 1e-5);
});

test('an ONNX pair exported by torch.onnx.export: the accuracies and losses torch computes, with a free or a fixed batch axis', () => {
  const truth = expected('onnx_expected.json');
  for (const target of ['onnx_target.onnx', 'onnx_target_batch1.onnx']) {
    const x = experiment('onnx_source.onnx', target, 'onnx_val.npz');
    assert.match(x.runtime ?? '', /^ONNX Runtime 1\.\d+\.\d+ \(onnxruntime-node, CPU/);
    assert.equal(x.samples, truth.samples);
    assert.deepEqual(x.layers.map((l) => l.name), ['conv1', 'bn1', 'conv2', 'fc']);
    assert.equal(x.layers[0].delta, 0, `${target}: conv1 is equal on both sides`);
    assertMatches(x, truth.variants, 'accuracy', 0);
    assert.ok(x.layers[3].delta < -20, 'replacing the head costs accuracy');
  }
  const loss = experiment('onnx_source.onnx', 'onnx_target.onnx', 'onnx_val.npz', '--metric', 'loss');
  assertMatches(loss, truth.variants, 'loss', 1e-5);
});

test('a folder of images in class subfolders: labels from the sorted subfolders, pixels / 255, the accuracy torch computes', () => {
  const truth = JSON.parse(readFileSync(join(FX, 'onnx_images_expected.json'), 'utf8'));
  const x = experiment('onnx_source.onnx', 'onnx_target.onnx', 'onnx_images');
  assert.equal(x.samples, truth.samples);
  assert.equal(x.baseline.value, truth.baseline);
  // JPEGs of another size are decoded (jpeg-js) and resized to the model's 8x8 input.
  const j = experiment('onnx_source.onnx', 'onnx_target.onnx', 'onnx_jpegs');
  assert.equal(j.samples, 4);
  assert.ok(Number.isFinite(j.baseline.value));
});

test('what the runtime cannot run ends with an error naming it: a custom Keras layer, a custom ONNX op', () => {
  const keras = cli(['experiment', join(FX, 'tfjs_source/model.json'), join(FX, 'tfjs_custom/model.json'), '--data', join(FX, 'keras_val.npz')]);
  assert.equal(keras.code, 1);
  assert.match(keras.err, /tfjs_custom\/model\.json: has layer classes TensorFlow\.js cannot build: MyScaler \(layer my_scaler\)/);
  assert.doesNotMatch(keras.err, /internal error/);
  const onnx = cli(['experiment', join(FX, 'onnx_source.onnx'), join(FX, 'onnx_custom_op.onnx'), '--data', join(FX, 'onnx_val.npz')]);
  assert.equal(onnx.code, 1);
  assert.match(onnx.err, /onnx_custom_op\.onnx: ONNX Runtime cannot run this model: .*FancyScale/);
});

test('a quantized ONNX target is refused before any replacement: its int8 weights cannot take float32 bytes', () => {
  const quant = join(ROOT, 'test', 'fixtures', 'onnx', 'quant');
  const r = cli(['experiment', join(quant, 'qdq_source.onnx'), join(quant, 'qdq_target.onnx'), '--data', join(FX, 'onnx_images')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /qdq_target\.onnx: initializer conv1\.weight_quantized is stored as int8; experiments replace float32 and float64 initializers only/);
});

test('an evaluation set in the wrong layout or shape is refused with what the model takes', () => {
  const nchw = cli(['experiment', join(FX, 'tfjs_source/model.json'), join(FX, 'tfjs_target/model.json'), '--data', join(FX, 'keras_val_nchw.npz')]);
  assert.equal(nchw.code, 1);
  assert.match(nchw.err, /keras_val_nchw\.npz: x has samples of shape \[3, 8, 8\] but .*model\.json takes \[N, 8, 8, 3\] \(channels-last\); .*x\.transpose\(0, 2, 3, 1\)/);
  const wrong = cli(['experiment', join(FX, 'onnx_source.onnx'), join(FX, 'onnx_target.onnx'), '--data', join(FX, 'keras_val.npz')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /keras_val\.npz: x has samples of shape \[8, 8, 3\] but .*takes \[N, 3, 8, 8\] \(channels-first\); .*x\.transpose\(0, 3, 1, 2\)/);
  const noY = cli(['experiment', join(FX, 'onnx_source.onnx'), join(FX, 'onnx_target.onnx'), '--data', join(ROOT, 'test/fixtures/numpy/positional.npz')]);
  assert.equal(noY.code, 1);
  assert.match(noY.err, /positional\.npz: has no array 'x'/);
});

test('a checkpoint without an architecture asks for the PyTorch factories', () => {
  const r = cli(['experiment', join(ROOT, 'test/fixtures/pairs/source.pt'), join(ROOT, 'test/fixtures/pairs/target.safetensors'), '--data', join(FX, 'onnx_val.npz')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /target\.safetensors: is a safetensors checkpoint, which holds weights but not the architecture: run the experiment with --model FILE\.py:CALLABLE/);
});

// ---- models of several inputs (test/fixtures/gen_experiment_inputs.py)

/**
 * Runs the pair on its two evaluation sets (arrays named as the inputs, and x0/x1) and holds each
 * run to the committed truth: samples, baseline, layers in order and each replacement's accuracy.
 */
function twoInputRuns(stem: string, source: string, target: string, layers: string[]): ReturnType<typeof experiment>[] {
  const truth = JSON.parse(readFileSync(join(FX, `${stem}_expected.json`), 'utf8'));
  return [`${stem}_named.npz`, `${stem}_xi.npz`].map((data) => {
    const x = experiment(source, target, data);
    assert.equal(x.samples, truth.samples, data);
    assert.equal(x.baseline.value, truth.baseline, `${data}: baseline`);
    assert.deepEqual(x.layers.map((l) => l.name), layers);
    for (const l of x.layers) assert.equal(l.value, truth.layers[l.name], `${data}: ${l.name} replaced`);
    return x;
  });
}

test('a TF.js model of two inputs: arrays named as its inputs, or x0 and x1, give the accuracies of a numpy forward pass', () => {
  for (const x of twoInputRuns('tfjs_two_inputs', 'tfjs_two_inputs_source/model.json', 'tfjs_two_inputs_target/model.json', ['dense_a', 'dense_b', 'dense'])) {
    assert.equal(x.layers[0].delta, 0, 'dense_a is equal on both sides');
  }
  // An input without its array, and a folder of images for a model of two inputs: said so.
  const missing = cli(['experiment', join(FX, 'tfjs_two_inputs_source/model.json'), join(FX, 'tfjs_two_inputs_target/model.json'), '--data', join(FX, 'tfjs_two_inputs_missing.npz')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /tfjs_two_inputs_missing\.npz: has no array for the model's input extra \(input 2 of 2; arrays: features, y\); the model takes 2 inputs \(features \[N, 6\], extra \[N, 3\]\): save np\.savez\(path, features=\.\.\., extra=\.\.\., y=labels\) or x0=\.\.\., x1=\.\.\., y=labels/);
  const images = cli(['experiment', join(FX, 'tfjs_two_inputs_source/model.json'), join(FX, 'tfjs_two_inputs_target/model.json'), '--data', join(FX, 'onnx_images')]);
  assert.equal(images.code, 1);
  assert.match(images.err, /onnx_images: is a folder of images, but the model takes 2 inputs/);
});

test('an ONNX model of two inputs exported by torch: the accuracies torch computes, the inputs found by name or as x0 and x1', () => {
  twoInputRuns('onnx_two_inputs', 'onnx_two_inputs_source.onnx', 'onnx_two_inputs_target.onnx', ['conv', 'bn', 'fc']);
  // One array for a model of two inputs: which input lacks one, and how to save them.
  const one = cli(['experiment', join(FX, 'onnx_two_inputs_source.onnx'), join(FX, 'onnx_two_inputs_target.onnx'), '--data', join(FX, 'onnx_val.npz')]);
  assert.equal(one.code, 1);
  assert.match(one.err, /onnx_val\.npz: has no array for the model's input image \(input 1 of 2; arrays: x, y\); the model takes 2 inputs \(image \[N, 3, 8, 8\], extra \[N, 4\]\)/);
});

// ---- image folders normalised per channel

test('--mean/--std normalise an image folder per channel as torchvision does: the accuracy torch computes on (pixel/255 − mean)/std', () => {
  const truth = JSON.parse(readFileSync(join(FX, 'onnx_images_normalized_expected.json'), 'utf8'));
  assert.notEqual(truth.baseline, truth.baselineUnnormalized, 'the fixture is one where normalisation changes the answer');
  const x = experiment('onnx_source.onnx', 'onnx_target.onnx', 'onnx_images', '--mean', truth.mean.join(','), '--std', truth.std.join(','));
  assert.equal(x.samples, truth.samples);
  assert.equal(x.baseline.value, truth.baseline);
  const plain = experiment('onnx_source.onnx', 'onnx_target.onnx', 'onnx_images');
  assert.equal(plain.baseline.value, truth.baselineUnnormalized);
  const bad = [
    [['--mean', '0.5,0.5', '--std', '0.2'], /onnx_images: the images are normalised with 2 mean values but the model takes 3 channels: give 3 \(or one for all\)/, 1],
    [['--mean', '0.5', '--std', '0'], /--std needs positive numbers, got '0'/, 2],
    [['--mean', 'a,b,c'], /--mean needs comma-separated numbers/, 2],
  ] as const;
  for (const [flags, message, code] of bad) {
    const r = cli(['experiment', join(FX, 'onnx_source.onnx'), join(FX, 'onnx_target.onnx'), '--data', join(FX, 'onnx_images'), ...flags]);
    assert.equal(r.code, code, flags.join(' '));
    assert.match(r.err, message);
  }
  const npz = cli(['experiment', join(FX, 'onnx_source.onnx'), join(FX, 'onnx_target.onnx'), '--data', join(FX, 'onnx_val.npz'), '--mean', '0.5', '--std', '0.2']);
  assert.equal(npz.code, 1);
  assert.match(npz.err, /onnx_val\.npz: is an \.npz, whose arrays are fed as saved: --mean\/--std normalise images decoded from a folder/);
});
