// The report and inspect schemas: what `reuse-lens compare --json` and `inspect --json` print,
// what the worker returns, what the webview draws. Stable: change only by adding fields.
import { FormatName, NonTensorEntry, TensorStats, DType } from '../common/types';

export type Verdict = 'reuse' | 'fine-tune' | 'retrain' | 'incompatible' | 'source-only' | 'target-only';
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

export interface CheckpointSummary {
  path: string;
  format: FormatName;
  tensors: number;
  parameters: number;
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
  /** NaN/Inf counts when any: metrics then cover only the finite pairs, and say so in the reason. */
  nonFinite?: { source: number; target: number };
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
  /** Kernel (main weight) metrics, copied from the weight param for convenience. */
  kernelRmse: number | null;
  kernelRelRmse: number | null;
  parameters: number;
  params: ParamReport[];
}

export interface ReportSummary {
  layers: number;
  byVerdict: Record<Verdict, number>;
  matchedBy: Record<MatchedBy, number>;
  /** Parameters (target side) in layers judged `reuse`. */
  reusableParameters: number;
  /** Parameters in layers judged `reuse` or `fine-tune`. */
  transferableParameters: number;
  totalParameters: number;
  network: { verdict: 'reusable' | 'partly reusable' | 'not reusable'; reason: string; estimate: boolean };
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

export interface InspectTensor { name: string; dtype: DType; shape: number[]; parameters: number; bytes: number; stats?: TensorStats }
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
  warnings: string[];
}
