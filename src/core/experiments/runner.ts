// What an in-process runner (TF.js, ONNX Runtime) offers the experiment: evaluate the target as
// built from its file, with some of its tensors replaced by the source's. Also: turning a tensor
// of either checkpoint into the target file's own layout, which is what its runtime consumes.
import { TensorInfo } from '../common/types';
import { FilePool, permute, readTensor } from '../tensor/tensorData';
import type { ExperimentMetric } from './types';

export interface EvalRunner {
  /** What ran it, in words: `TensorFlow.js 4.22.0, WebAssembly backend (SIMD, 1 thread)`. */
  runtime: string;
  /**
   * The metric on the evaluation set with these [source, target] tensor pairs put in place
   * (none: the baseline). The first call also settles `metric` and `samples`.
   */
  evaluate(pairs: [string, string][]): Promise<number>;
  metric(): ExperimentMetric;
  /** Evaluated samples (label elements for per-pixel tasks). */
  samples(): number;
  dispose(): Promise<void>;
}

/**
 * A tensor's values in the layout `layoutOf` is stored in (the target's file layout: Keras
 * kernels channels-last), from `t` read in canonical layout. Source and target are paired in
 * canonical layout, so this is what lets a PyTorch source replace a Keras target's kernel.
 */
export async function valuesInLayoutOf(t: TensorInfo, layoutOf: TensorInfo, pool: FilePool): Promise<Float32Array> {
  const canonical = await readTensor(t, pool);
  if (!layoutOf.permute) return Float32Array.from(canonical);
  const stored = layoutOf.storedShape ?? layoutOf.shape;
  const perm = layoutOf.permute;
  // canonical[k] = stored[perm[k]]: the values are laid out as perm.map(p => stored[p]) (for a
  // depthwise kernel that is [in, mult, k...], the same memory as canonical [in*mult, 1, k...]).
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, k) => { inverse[p] = k; });
  return Float32Array.from(permute(canonical, perm.map((p) => stored[p]), inverse));
}
