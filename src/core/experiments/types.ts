// The replacement experiment's schema: what `reuse-lens experiment --json` prints, what the
// worker returns, what the report panel draws. Stable: change only by adding fields.
// A replacement experiment measures the paper's first condition (Wang et al. 2020): the target
// model evaluated as is (baseline) and with source parameters put in place of its own.

/** Which way of judging the metric: accuracy in percent (higher is better) or a loss (lower is better). */
export interface ExperimentMetric {
  name: 'accuracy' | 'loss';
  higherIsBetter: boolean;
  /** `%` for accuracy (values and deltas in percentage points). */
  unit?: '%';
  /** For a loss: which one the driver computed. */
  loss?: 'cross-entropy' | 'mse';
}

/** One evaluation with some target tensors replaced by the source's. */
export interface ReplacementResult {
  /** Metric value on the evaluation data with the replacement. */
  value: number;
  /** value − baseline (in the metric's units: points for accuracy). */
  delta: number;
  /** Target tensor names replaced by their source counterparts. */
  replaced: string[];
  /** Whether the replacement keeps performance: within the tolerance of the baseline, or better. */
  keeps: boolean;
}

export interface LayerReplacement extends ReplacementResult {
  /** The layer's name as in the compare report. */
  name: string;
}

/** The parameter roles replaced across all layers at once (the companion study's groups). */
export type ExperimentRole = 'conv-weight' | 'conv-bias' | 'bn-affine' | 'bn-statistics';

export interface RoleReplacement extends ReplacementResult {
  role: ExperimentRole;
  /** In words: `conv weights`, `BN γ/β`, ... */
  label: string;
  /** Layers whose tensors of this role were replaced. */
  layers: string[];
}

export interface ReuseSetReplacement extends ReplacementResult {
  /** The layers judged `reuse` when the experiment ran, replaced together (of `recalibrate` layers γ/β only). */
  layers: string[];
}

export type NetworkVerdict = 'reusable' | 'partly reusable' | 'not reusable';

export interface ExperimentResult {
  schema: 'reuse-lens/experiment@1';
  source: string;
  target: string;
  /** The factories, as `FILE.py:CALLABLE`, and the folder they were run in. */
  model: string;
  data: string;
  cwd: string;
  /** The interpreter that ran the driver, its torch, and the device it evaluated on. */
  python: string;
  torch: string;
  device: string;
  /**
   * What evaluated the model when it was built from its file (no Python): `TensorFlow.js 4.22.0,
   * WebAssembly backend (SIMD, 1 thread)`, `ONNX Runtime 1.30.0 (onnxruntime-node, CPU)`.
   */
  runtime?: string;
  /** Evaluated samples (label elements for per-pixel tasks). */
  samples: number;
  metric: ExperimentMetric;
  baseline: { value: number };
  /** One per layer with replaceable tensors, in network order. */
  layers: LayerReplacement[];
  roles: RoleReplacement[];
  /** null when no layer was judged `reuse`. */
  reuseSet: ReuseSetReplacement | null;
  network: {
    verdict: NetworkVerdict;
    /** In words, with the numbers: what was replaced and what it cost. */
    reason: string;
    measured: true;
    /** How much worse than the baseline still keeps performance: points of accuracy, or percent of the baseline loss. */
    tolerance: number;
    toleranceUnit: 'points' | '% of baseline';
  };
  durationMs: number;
}

/** Progress of a running experiment: one step per evaluation. */
export interface ExperimentProgress {
  done: number;
  total: number;
  /** What was just evaluated (`baseline`, a layer, a role). */
  label: string;
  /** Seconds left, from the mean time per evaluation so far; undefined before the first one. */
  etaSeconds?: number;
}

/** Default tolerance: accuracy points (or percent of the baseline loss) a replacement may cost and still "keep" performance. */
export const DEFAULT_TOLERANCE = 0.5;
