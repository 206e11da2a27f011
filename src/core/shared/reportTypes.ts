// The report and inspect schemas: what `reuse-lens compare --json` and `inspect --json` print,
// what the worker returns, what the webview draws. Stable: change only by adding fields.
import { FormatName, NonTensorEntry, TensorStats, DType } from '../common/types';

/**
 * `recalibrate`: a BN layer whose learned affine (γ, β) transfers while its running statistics
 * moved: keep γ/β and re-estimate the statistics on target data (forward passes, no training).
 */
export type Verdict = 'reuse' | 'fine-tune' | 'recalibrate' | 'retrain' | 'incompatible' | 'source-only' | 'target-only';
export type LayerKind = 'conv' | 'bn' | 'linear' | 'embedding' | 'norm' | 'other';
/** How a source layer was paired with a target layer. */
export type MatchedBy = 'name' | 'prefix-rule' | 'order+shape' | 'none';

export interface AnalyzeOptions {
  /** Which kernel metric the thresholds apply to. Relative by default (scale-free). */
  metric: 'relRmse' | 'rmse';
  /** Kernel metric below this: reuse as is. */
  reuseBelow: number;
  /** Kernel metric below this (and not below reuseBelow): fine-tune from the source. Else retrain. */
  fineTuneBelow: number;
  /** Name prefixes stripped before matching by name (`module.` from DataParallel, `_orig_mod.` from torch.compile). */
  prefixRules: string[];
}

export const DEFAULT_OPTIONS: AnalyzeOptions = {
  metric: 'relRmse',
  reuseBelow: 0.1,
  fineTuneBelow: 0.6,
  prefixRules: ['module.', '_orig_mod.'],
};

/**
 * Where a side's network order comes from: `stored` (the file's tensor order: pickle insertion
 * order, ...), `declared` (the file's layer list or graph), `paired` (the other checkpoint's
 * order: safetensors are stored sorted by dtype and name), `names` (numeric-aware name order).
 */
export type NetworkOrder = 'stored' | 'declared' | 'paired' | 'names';

export interface CheckpointSummary {
  path: string;
  format: FormatName;
  tensors: number;
  parameters: number;
  /** Where this side's layer order comes from. */
  order?: NetworkOrder;
}

export interface ParamReport {
  role: string;
  sourceName: string | null;
  targetName: string | null;
  /** Canonical shape (source's when both exist and differ: see sourceShape/targetShape). */
  shape: number[];
  sourceShape?: number[];
  targetShape?: number[];
  rmse: number | null;
  relRmse: number | null;
  cosine: number | null;
  maxAbsDiff: number | null;
  /** Conv weights: RMSE of each output filter. */
  filterRmse?: number[];
  /** Conv weights: RMSE per (output filter, input channel), row-major [out][in]. */
  filterGrid?: { rows: number; cols: number; values: number[] };
  /** Element type in the source (target when source-less). Integer tensors (num_batches_tracked) never drive a verdict. */
  dtype?: DType;
  /** Element type in the file when `dtype` is what its quantized values stand for (`uint8`, `int8`, `float16`). */
  storage?: string;
  /**
   * The target's element type, set only when one side is floating point and the other integers (a
   * quantized weight whose scale could not be read): such values are not compared, and a weight so
   * makes its layer incompatible.
   */
  targetDtype?: DType;
  /** NaN/Inf counts when any: metrics then cover only the finite pairs, and say so in the reason. */
  nonFinite?: { source: number; target: number };
  /**
   * Kernels of layers that feed a normalization (LayerReport.normalizedBy): the change with the
   * scale the normalization removes factored out. The verdict is judged on these numbers.
   */
  scaleInvariant?: ScaleInvariantMetrics;
}

/**
 * A kernel change blind to the scale a following normalization removes. `per: 'filter'` (a
 * BatchNorm follows: each output channel is normalised on its own) compares unit-norm output
 * filters; `per: 'tensor'` (LayerNorm, GroupNorm: only a common scale is safe to remove)
 * compares the unit-norm kernel. With cos_i the cosine of filter i, ‖s_i/|s_i| − t_i/|t_i|‖² = 2 − 2cos_i.
 */
export interface ScaleInvariantMetrics {
  per: 'filter' | 'tensor';
  /** RMSE of the unit-norm filters relative to their RMS: sqrt(mean_i(2 − 2cos_i)); ≈ relRmse for a change that keeps the scale. */
  relRmse: number | null;
  /** relRmse × RMS of the source kernel: the same change in the kernel's own units (for the `rmse` metric). */
  rmse: number | null;
  /** Mean and smallest cosine over output filters (the tensor's cosine for `per: 'tensor'`). */
  meanCosine: number | null;
  minCosine: number | null;
  /** Median ratio of target to source filter norm: how much the kernel was rescaled. */
  scaleRatio: number | null;
  /** Cosine of each output filter (`per: 'filter'`), null where a filter is all zeros. */
  filterCosine?: (number | null)[];
}

/**
 * BatchNorm running statistics measured in the layer's own units: how far the target's mean
 * moved in standard deviations of the source, |μ_t − μ_s| / sqrt(σ²_s + ε), and the log ratio
 * of the variances, ln((σ²_t + ε) / (σ²_s + ε)); RMS and largest magnitude over channels.
 */
export interface BnStatistics {
  channels: number;
  eps: number;
  meanShift: { rms: number; max: number };
  logVarRatio: { rms: number; max: number };
}

export interface LayerReport {
  /** Display name (canonical: source's name after prefix rules, or target's). */
  name: string;
  /** Position in network order (0-based). */
  index: number;
  kind: LayerKind;
  sourceName: string | null;
  targetName: string | null;
  matchedBy: MatchedBy;
  verdict: Verdict;
  /** The verdict's reason, in words. */
  reason: string;
  /** Role of the param whose metric drove the verdict (`weight`; for BN `running_mean`/`running_var`); kernelRmse/kernelRelRmse are its metrics. */
  drivenBy?: string | null;
  /**
   * The numbers the verdict was judged on: the kernel's (main weight's) change, scale-invariant
   * when a normalization follows (judgedOn), a BN layer's γ/β change. Raw numbers are in params.
   */
  kernelRmse: number | null;
  kernelRelRmse: number | null;
  /** Whether kernelRmse/kernelRelRmse are the raw change or the scale-invariant one. */
  judgedOn?: 'raw' | 'scale-invariant' | null;
  parameters: number;
  params: ParamReport[];
  /** A conv/linear layer whose output a normalization layer takes: which one, and how that was found. */
  normalizedBy?: { layer: string; kind: 'bn' | 'norm'; evidence: 'graph' | 'name' | 'order' };
  /** BN layers with running statistics on both sides: their change in the layer's own units. */
  bnStats?: BnStatistics;
  /** BN layers: change of the learned affine (γ and β taken as one vector). */
  affine?: { rmse: number | null; relRmse: number | null };
}

export interface ReportSummary {
  layers: number;
  byVerdict: Record<Verdict, number>;
  matchedBy: Record<MatchedBy, number>;
  /** Parameters (target side) in layers judged `reuse` or `recalibrate` (kept as they are; recalibrate re-estimates only statistics). */
  reusableParameters: number;
  /** Parameters in layers judged `reuse`, `recalibrate` or `fine-tune`. */
  transferableParameters: number;
  totalParameters: number;
  /** Parameters in layers judged `recalibrate` (also counted in reusableParameters). */
  recalibrateParameters?: number;
  /** Share of the target's parameters that transfer, fine-tune layers weighed by FINE_TUNE_WEIGHT (verdicts.ts). */
  weightedShare?: number;
  /**
   * Layers judged `reuse` whose weight was not measured (integers on both sides: a quantization
   * whose scale was not read). Counted in byVerdict, left out of the parameters and the network estimate.
   */
  notMeasured?: number;
  network: {
    verdict: 'reusable' | 'partly reusable' | 'not reusable'; reason: string; estimate: boolean;
    /** The first kernel layer (network order) that does not transfer; null when all do or none was compared. */
    splitAt?: string | null;
    /** What lies before the split point: kernel layers, their share of the kernel layers (depth), and their weighted parameter share. */
    leading?: { kernelLayers: number; kernelLayersTotal: number; depthShare: number; parameterShare: number };
  };
  /** One line, as the CLI prints it last. */
  text: string;
}

export interface Report {
  schema: 'reuse-lens/report@1';
  source: CheckpointSummary;
  target: CheckpointSummary;
  options: AnalyzeOptions;
  layers: LayerReport[];
  unmatched: { source: string[]; target: string[] };
  summary: ReportSummary;
  /** Problems that did not stop the analysis (NaN found, changed file, ...). */
  warnings: string[];
}

export interface InspectTensor {
  name: string; dtype: DType; shape: number[]; parameters: number;
  /** Bytes in the file (quantized storage: the stored integers'). */
  bytes: number;
  /** Element type in the file when the values were dequantized or widened on read (`uint8`, `int8`, `float16`). */
  storage?: string;
  stats?: TensorStats;
}
export interface InspectLayer { name: string; kind: LayerKind; parameters: number; tensors: { role: string; name: string }[] }

export interface InspectResult {
  schema: 'reuse-lens/inspect@1';
  path: string;
  format: FormatName;
  parameters: number;
  tensors: InspectTensor[];
  layers: InspectLayer[];
  entries: NonTensorEntry[];
  metadata?: Record<string, string>;
  /** Where the layers' order comes from (see NetworkOrder). */
  order?: NetworkOrder;
  warnings: string[];
}
