// The metric of an in-process experiment (TF.js, ONNX Runtime), as the Python driver judges it:
// accuracy (percent) when the model returns class scores and the labels are class indices,
// otherwise the loss (cross-entropy for class indices, mean squared error for targets of the
// output's shape). Summed in float64 over batches, so the value does not depend on batch size.
import { CheckpointError } from '../common/errors';
import type { EvalSet } from './evalSet';
import type { ExperimentMetric } from './types';

export type MetricRequest = 'auto' | 'accuracy' | 'loss';

export interface MetricPlan {
  metric: ExperimentMetric;
  /** Axis of the output holding the class scores (accuracy, cross-entropy). */
  classAxis?: number;
}

/**
 * Chooses the metric from the output's shape (batch axis included) and the labels. `preferAxis`
 * is where the runtime's convention puts classes: last for Keras/TF.js, 1 for PyTorch exports.
 */
export function chooseMetric(outShape: number[], set: EvalSet, requested: MetricRequest, preferAxis: 'last' | 1): MetricPlan {
  const labelShape = set.yShape.slice(1);
  const out = outShape.slice(1);
  const axes = preferAxis === 'last' ? [outShape.length - 1, 1] : [1, outShape.length - 1];
  const integral = set.yInteger || set.y.every((v) => Number.isInteger(v) && v >= 0);
  const classAxis = integral ? axes.find((a) => a >= 1 && a < outShape.length && outShape[a] > 1 && sameShape(outShape.filter((_, i) => i !== a).slice(1), labelShape)) : undefined;
  if (classAxis !== undefined && requested !== 'loss') {
    const classes = outShape[classAxis];
    for (const v of set.y) if (v >= classes) throw new CheckpointError(set.path, `y holds the label ${v} but the model returns ${classes} class scores`);
    return { metric: { name: 'accuracy', higherIsBetter: true, unit: '%' }, classAxis };
  }
  if (requested === 'accuracy') {
    throw new CheckpointError(set.path, `accuracy needs class labels of shape [N${labelShape.length ? ', ' : ''}${labelShape.join(', ')}] for outputs [N, ${out.join(', ')}] with a class axis; y has shape [${set.yShape.join(', ')}]: use --metric loss`);
  }
  if (classAxis !== undefined) return { metric: { name: 'loss', higherIsBetter: false, loss: 'cross-entropy' }, classAxis };
  if (sameShape(out, labelShape) || out.reduce((a, b) => a * b, 1) === labelShape.reduce((a, b) => a * b, 1)) {
    return { metric: { name: 'loss', higherIsBetter: false, loss: 'mse' } };
  }
  throw new CheckpointError(set.path, `y has shape [${set.yShape.join(', ')}], which fits neither class labels nor targets for the model's outputs [N, ${out.join(', ')}]`);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Sums a metric over batches. */
export class MetricSum {
  private total = 0;
  private count = 0;
  constructor(private readonly plan: MetricPlan) {}

  /** `out` is a batch's output of `outShape`; `y` the batch's labels or targets. */
  add(out: Float32Array | Float64Array, outShape: number[], y: Float32Array): void {
    const { metric, classAxis } = this.plan;
    if (classAxis === undefined) {
      if (out.length !== y.length) throw new Error(`output of ${out.length} values for ${y.length} targets`);
      for (let i = 0; i < out.length; i++) { const d = out[i] - y[i]; this.total += d * d; }
      this.count += out.length;
      return;
    }
    const C = outShape[classAxis];
    const outer = outShape.slice(0, classAxis).reduce((a, b) => a * b, 1);
    const inner = outShape.slice(classAxis + 1).reduce((a, b) => a * b, 1);
    const probabilities = metric.name === 'loss' && looksLikeProbabilities(out, outer, C, inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * C * inner + i;
        const label = y[o * inner + i];
        let best = 0, bestV = -Infinity, max = -Infinity;
        for (let k = 0; k < C; k++) {
          const v = out[base + k * inner];
          if (v > bestV) { bestV = v; best = k; }
          if (v > max) max = v;
        }
        if (metric.name === 'accuracy') { if (best === label) this.total += 1; }
        else if (probabilities) this.total -= Math.log(Math.max(out[base + label * inner], 1e-7));
        else {
          let sum = 0;
          for (let k = 0; k < C; k++) sum += Math.exp(out[base + k * inner] - max);
          this.total -= out[base + label * inner] - max - Math.log(sum);
        }
        this.count += 1;
      }
    }
  }

  /** Accuracy in percent, or the mean loss. */
  value(): number {
    const mean = this.count ? this.total / this.count : NaN;
    return this.plan.metric.name === 'accuracy' ? mean * 100 : mean;
  }

  get samples(): number { return this.count; }
}

/** Outputs of a softmax layer (Keras models often end in one): non-negative, summing to 1. */
function looksLikeProbabilities(out: Float32Array | Float64Array, outer: number, C: number, inner: number): boolean {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let k = 0; k < C; k++) { const v = out[o * C * inner + k * inner + i]; if (v < 0 || v > 1) return false; s += v; }
      if (Math.abs(s - 1) > 1e-3) return false;
    }
  }
  return true;
}
