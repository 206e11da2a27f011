// The evaluation set of an experiment on a model whose architecture is in its file (Keras, TF.js,
// ONNX): inputs `x` and labels `y`, from an .npz (np.savez(x=..., y=...)) or a folder of images
// in class subfolders (imageFolder.ts). Loaded whole, as float32, and checked against the model's
// input before anything runs, so a wrong layout is a sentence, not a runtime's stack trace.
import { stat } from 'node:fs/promises';
import { CheckpointError } from '../common/errors';
import { TensorInfo } from '../common/types';
import { openCheckpoint } from '../formats/open';
import { FilePool, readTensor } from '../tensor/tensorData';
import { numel } from '../tensor/dtypes';
import { loadImageFolder } from './imageFolder';

export interface EvalSet {
  path: string;
  x: Float32Array;
  /** [samples, ...one input's shape] */
  xShape: number[];
  y: Float32Array;
  yShape: number[];
  /** Integer labels (class indices): what accuracy and cross-entropy need. */
  yInteger: boolean;
  /** Class names by label, for a folder of images. */
  classes?: string[];
}

/** Elements of `x` we load at once (256 MB of float32): past it, the user passes a subset. */
export const MAX_EVAL_ELEMENTS = 1 << 26;

const INTEGER = new Set(['I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);

export type InputLayout = 'channels-last' | 'channels-first';

/**
 * The evaluation set at `path` for a model taking `input` (batch axis first; null or a name: any
 * size) in `layout`.
 */
export async function loadEvalSet(path: string, input: (number | string | null)[], layout: InputLayout): Promise<EvalSet> {
  let folder: boolean;
  try { folder = (await stat(path)).isDirectory(); } catch { throw new CheckpointError(path, 'no such file or folder'); }
  return folder ? loadImageFolder(path, input, layout) : loadNpzEvalSet(path);
}

/** Reads `x` and `y` of an .npz. */
export async function loadNpzEvalSet(path: string): Promise<EvalSet> {
  const ck = await openCheckpoint(path);
  if (ck.format !== 'npz') throw new CheckpointError(path, `is not an .npz evaluation set (it reads as ${ck.format}); save one with np.savez(path, x=inputs, y=labels)`);
  const find = (n: string): TensorInfo => {
    const t = ck.tensors.find((c) => c.name === n);
    if (!t) throw new CheckpointError(path, `has no array '${n}' (arrays: ${ck.tensors.map((c) => c.name).join(', ') || 'none'}); save it with np.savez(path, x=inputs, y=labels)`);
    return t;
  };
  const xt = find('x'), yt = find('y');
  if (xt.shape.length < 2) throw new CheckpointError(path, `x has shape [${xt.shape.join(', ')}]; it needs a first axis of samples and the model's input after it`);
  if (yt.shape.length < 1 || yt.shape[0] !== xt.shape[0]) {
    throw new CheckpointError(path, `y has shape [${yt.shape.join(', ')}] but x holds ${xt.shape[0]} samples: y needs one label (or target) per sample on its first axis`);
  }
  if (xt.shape[0] === 0) throw new CheckpointError(path, 'x holds no samples');
  for (const [n, t] of [['x', xt], ['y', yt]] as const) {
    const k = numel(t.shape);
    if (k > MAX_EVAL_ELEMENTS) throw new CheckpointError(path, `${n} has ${k.toLocaleString('en-US')} elements; an evaluation set is loaded whole, up to ${MAX_EVAL_ELEMENTS.toLocaleString('en-US')}: pass a subset`);
  }
  const pool = new FilePool();
  try {
    const [x, y] = await Promise.all([readTensor(xt, pool), readTensor(yt, pool)]);
    const yInteger = INTEGER.has(yt.dtype);
    if (yInteger) for (const v of y) if (v < 0) throw new CheckpointError(path, `y holds the label ${v}; class labels are 0, 1, 2, ...`);
    return { path, x: Float32Array.from(x), xShape: xt.shape, y: Float32Array.from(y), yShape: yt.shape, yInteger };
  } finally { await pool.closeAll(); }
}

/**
 * Checks the inputs against the model's input shape (`null` or a name: any size) and returns the
 * batch size the model allows (a fixed first axis, as torch.onnx.export writes without
 * dynamic_axes, means batches of exactly that many). The message says which layout the model takes.
 */
export function checkInput(set: EvalSet, input: (number | string | null)[], layout: InputLayout, modelPath: string): number | undefined {
  const want = input.slice(1);
  const have = set.xShape.slice(1);
  const shown = `[N, ${input.slice(1).map((d) => (typeof d === 'number' && d >= 0 ? d : '?')).join(', ')}]`;
  const fits = (a: number[]) => a.length === want.length && a.every((d, i) => typeof want[i] !== 'number' || (want[i] as number) < 0 || want[i] === d);
  if (!fits(have)) {
    let hint = '';
    if (have.length === 3 && want.length === 3) {
      const last = [have[1], have[2], have[0]], first = [have[2], have[0], have[1]];
      if (layout === 'channels-last' && fits(last)) hint = '; x is channels-first and this model takes channels-last (Keras/TF.js layout): save x.transpose(0, 2, 3, 1)';
      if (layout === 'channels-first' && fits(first)) hint = '; x is channels-last and this model takes channels-first (PyTorch/ONNX layout): save x.transpose(0, 3, 1, 2)';
    }
    throw new CheckpointError(set.path, `x has samples of shape [${have.join(', ')}] but ${modelPath} takes ${shown} (${layout})${hint}`);
  }
  const b = input[0];
  return typeof b === 'number' && b > 0 ? b : undefined;
}
