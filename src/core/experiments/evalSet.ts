// The evaluation set of an experiment on a model whose architecture is in its file (Keras, TF.js,
// ONNX): one array per model input and labels `y`, from an .npz (np.savez(x=..., y=...); for a
// model of several inputs, arrays named as its inputs or x0, x1, ...) or a folder of images in
// class subfolders (imageFolder.ts). Loaded whole, as float32, and checked against the model's
// inputs before anything runs, so a wrong layout is a sentence, not a runtime's stack trace.
import { stat } from 'node:fs/promises';
import { CheckpointError } from '../common/errors';
import { TensorInfo } from '../common/types';
import { openCheckpoint } from '../formats/open';
import { FilePool, readTensor } from '../tensor/tensorData';
import { numel } from '../tensor/dtypes';
import { loadImageFolder } from './imageFolder';

/** One input of the model as its runtime declares it: batch axis first; null or a name: any size. */
export interface ModelInput { name: string; shape: (number | string | null)[] }

/** The values fed to one model input. */
export interface EvalInput {
  /** The model's input name. */
  name: string;
  /** The .npz array it came from (`x`, `x0`, the input's name), or `images`. */
  array: string;
  data: Float32Array;
  /** [samples, ...one sample's shape] */
  shape: number[];
}

export interface EvalSet {
  path: string;
  /** One per model input, in the model's input order. */
  inputs: EvalInput[];
  y: Float32Array;
  yShape: number[];
  /** Integer labels (class indices): what accuracy and cross-entropy need. */
  yInteger: boolean;
  /** Class names by label, for a folder of images. */
  classes?: string[];
}

/** Per-channel normalisation of decoded images: (pixel / 255 − mean) / std. */
export interface ImageNormalization { mean: number[]; std: number[] }

/** Elements of the inputs we load at once (256 MB of float32): past it, the user passes a subset. */
export const MAX_EVAL_ELEMENTS = 1 << 26;

const INTEGER = new Set(['I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);

export type InputLayout = 'channels-last' | 'channels-first';

/** The model's inputs in words: `image [N, 3, 8, 8], extra [N, 4]`. */
export function describeInputs(inputs: ModelInput[]): string {
  return inputs.map((i) => `${i.name} [N, ${i.shape.slice(1).map((d) => (typeof d === 'number' && d >= 0 ? d : '?')).join(', ')}]`).join(', ');
}

/** The evaluation set at `path` for a model taking `inputs` in `layout`. */
export async function loadEvalSet(path: string, inputs: ModelInput[], layout: InputLayout, normalize?: ImageNormalization): Promise<EvalSet> {
  let folder: boolean;
  try { folder = (await stat(path)).isDirectory(); } catch { throw new CheckpointError(path, 'no such file or folder'); }
  if (folder) {
    if (inputs.length !== 1) throw new CheckpointError(path, `is a folder of images, but the model takes ${inputs.length} inputs (${describeInputs(inputs)}): pass an .npz with one array per input and y`);
    return loadImageFolder(path, inputs[0], layout, normalize);
  }
  if (normalize) throw new CheckpointError(path, 'is an .npz, whose arrays are fed as saved: --mean/--std normalise images decoded from a folder; save x normalised');
  return loadNpzEvalSet(path, inputs);
}

/** Reads an .npz's array per model input (`x`, the input's name, or x0, x1, ...) and `y`. */
export async function loadNpzEvalSet(path: string, inputs: ModelInput[]): Promise<EvalSet> {
  const ck = await openCheckpoint(path);
  if (ck.format !== 'npz') throw new CheckpointError(path, `is not an .npz evaluation set (it reads as ${ck.format}); save one with np.savez(path, x=inputs, y=labels)`);
  const byName = new Map(ck.tensors.map((t) => [t.name, t]));
  const arrays = ck.tensors.map((c) => c.name).join(', ') || 'none';
  const yt = byName.get('y');
  const saveHint = inputs.length === 1
    ? 'save it with np.savez(path, x=inputs, y=labels)'
    : `the model takes ${inputs.length} inputs (${describeInputs(inputs)}): save np.savez(path, ${inputs.map((i) => `${i.name}=...`).join(', ')}, y=labels) or ${inputs.map((_, k) => `x${k}=...`).join(', ')}, y=labels`;
  const chosen = inputs.map((input, k) => {
    const candidates = inputs.length === 1 ? ['x', input.name, 'x0'] : [input.name, `x${k}`];
    const name = candidates.find((c) => byName.has(c) && c !== 'y');
    if (!name && inputs.length === 1) throw new CheckpointError(path, `has no array 'x' (arrays: ${arrays}); ${saveHint}`);
    if (!name) throw new CheckpointError(path, `has no array for the model's input ${input.name} (input ${k + 1} of ${inputs.length}; arrays: ${arrays}); ${saveHint}`);
    return { input, name, t: byName.get(name)! };
  });
  if (!yt) throw new CheckpointError(path, `has no array 'y' (arrays: ${arrays}); ${saveHint}`);
  const n = chosen[0].t.shape[0];
  for (const { name, t } of chosen) {
    if (t.shape.length < 2) throw new CheckpointError(path, `${name} has shape [${t.shape.join(', ')}]; it needs a first axis of samples and the model's input after it`);
    if (t.shape[0] !== n) throw new CheckpointError(path, `${name} holds ${t.shape[0]} samples but ${chosen[0].name} holds ${n}: every input needs one entry per sample`);
  }
  if (yt.shape.length < 1 || yt.shape[0] !== n) {
    throw new CheckpointError(path, `y has shape [${yt.shape.join(', ')}] but ${chosen[0].name} holds ${n} samples: y needs one label (or target) per sample on its first axis`);
  }
  if (n === 0) throw new CheckpointError(path, `${chosen[0].name} holds no samples`);
  const total = chosen.reduce((s, c) => s + numel(c.t.shape), 0);
  if (total > MAX_EVAL_ELEMENTS) throw new CheckpointError(path, `the inputs have ${total.toLocaleString('en-US')} elements; an evaluation set is loaded whole, up to ${MAX_EVAL_ELEMENTS.toLocaleString('en-US')}: pass a subset`);
  if (numel(yt.shape) > MAX_EVAL_ELEMENTS) throw new CheckpointError(path, `y has ${numel(yt.shape).toLocaleString('en-US')} elements; an evaluation set is loaded whole, up to ${MAX_EVAL_ELEMENTS.toLocaleString('en-US')}: pass a subset`);
  const pool = new FilePool();
  try {
    const read = (t: TensorInfo) => readTensor(t, pool).then((v) => Float32Array.from(v));
    const data = await Promise.all(chosen.map((c) => read(c.t)));
    const y = await read(yt);
    const yInteger = INTEGER.has(yt.dtype);
    if (yInteger) for (const v of y) if (v < 0) throw new CheckpointError(path, `y holds the label ${v}; class labels are 0, 1, 2, ...`);
    return {
      path, y, yShape: yt.shape, yInteger,
      inputs: chosen.map((c, k) => ({ name: c.input.name, array: c.name, data: data[k], shape: c.t.shape })),
    };
  } finally { await pool.closeAll(); }
}

/**
 * Checks each input's values against the model's input shape and returns the batch size the model
 * allows (a fixed first axis, as torch.onnx.export writes without dynamic_axes, means batches of
 * exactly that many). The message says which layout the model takes.
 */
export function checkInputs(set: EvalSet, inputs: ModelInput[], layout: InputLayout, modelPath: string): number | undefined {
  let batch: number | undefined;
  for (const [k, model] of inputs.entries()) {
    const got = set.inputs[k];
    const want = model.shape.slice(1);
    const have = got.shape.slice(1);
    const shown = `[N, ${want.map((d) => (typeof d === 'number' && d >= 0 ? d : '?')).join(', ')}]`;
    const fits = (a: number[]) => a.length === want.length && a.every((d, i) => typeof want[i] !== 'number' || (want[i] as number) < 0 || want[i] === d);
    if (!fits(have)) {
      let hint = '';
      if (have.length === 3 && want.length === 3) {
        const last = [have[1], have[2], have[0]], first = [have[2], have[0], have[1]];
        if (layout === 'channels-last' && fits(last)) hint = `; ${got.array} is channels-first and this model takes channels-last (Keras/TF.js layout): save ${got.array}.transpose(0, 2, 3, 1)`;
        if (layout === 'channels-first' && fits(first)) hint = `; ${got.array} is channels-last and this model takes channels-first (PyTorch/ONNX layout): save ${got.array}.transpose(0, 3, 1, 2)`;
      }
      const which = inputs.length > 1 ? `its input ${model.name} takes` : 'takes';
      throw new CheckpointError(set.path, `${got.array} has samples of shape [${have.join(', ')}] but ${modelPath} ${which} ${shown} (${layout})${hint}`);
    }
    const b = model.shape[0];
    if (typeof b === 'number' && b > 0) batch ??= b;
  }
  return batch;
}
