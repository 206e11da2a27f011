// Types shared by the extension host, the worker and the webviews: each side imports these so a
// message cannot drift between sender and receiver. Besides types, only constants, the pure
// message guards below, and the few pure engine values re-exported next here.
// Report and inspect results are the engine's own schemas (src/core/shared/reportTypes.ts).
//
// This file is the extension's only way into src/core (DESIGN.md: the extension talks to the
// worker through protocol.ts and never reads tensor data): test/unit/boundaries.test.ts fails
// on any import of src/core from src/extension, and on any value import here that is not one of
// the three below.
export type {
  Report, InspectResult, AnalyzeOptions, LayerReport, ParamReport, Verdict, LayerKind, MatchedBy,
  CheckpointSummary, ReportSummary, InspectTensor, InspectLayer,
} from './core/shared/reportTypes';
export type { NonTensorEntry } from './core/common/types';
export type {
  ExperimentResult, ExperimentMetric, ExperimentRole, LayerReplacement, RoleReplacement, ReuseSetReplacement, NetworkVerdict,
} from './core/experiments/types';
/** Error text of a checkpoint that changed while the worker read it (the host waits and re-runs). */
export { CHANGED_WHILE_READING } from './core/common/errors';
/** The options the worker applies where AnalyzeParams.options leaves one out (the settings' fallbacks). */
export { DEFAULT_OPTIONS } from './core/shared/reportTypes';
/**
 * The verdict rules as a function of a report's stored metrics: pure arithmetic, no file read.
 * The host re-judges stored reports when the thresholds change (src/extension/model/currentVerdicts.ts)
 * with the very rules the worker judged them by; a copy would drift. (The report webview
 * imports src/core/shared/verdicts.ts directly, an exception listed in test/unit/boundaries.test.ts.)
 */
export { rejudgeReport } from './core/shared/verdicts';
export type { CodeMap } from './core/codemap/codeMap';
export type { Annotation, LineHint, AnalysisRef } from './core/codemap/annotate';
/**
 * The join of a file's code map (computed by the worker, `codeMap`) with the stored analyses,
 * and a line's hover: pure functions of a code map and reports. The host runs them on every
 * CodeLens pass against the reports it keeps; sending those reports to the worker each time
 * would cost more than the join itself.
 */
export { annotate, hoverMarkdown } from './core/codemap/annotate';
/** The words code must hold to build an analysis's layers; the host sends them with `codeMap`. */
export { nameTokens } from './core/codemap/nameTokens';
/**
 * Whether a report's target holds its architecture (TF.js, Keras full model, ONNX): then a
 * replacement experiment needs only an evaluation set and runs none of the user's code, so the
 * host offers it in untrusted workspaces too, and the report panel says which runtime it uses.
 */
export { architectureRuntime } from './core/shared/experimentRuntime';

// ---- Worker RPC (extension host <-> worker, JSON-RPC over IPC) ----
// (owned by the extension/worker work; see src/worker and src/extension)
// The worker (dist/worker.js) is forked by the extension host and speaks vscode-jsonrpc over
// the IPC channel. Method names are the only values here: both sides take them from this one
// table so a rename cannot leave one side behind.
import type { InspectResult as _InspectResult, Report as _Report, AnalyzeOptions as _AnalyzeOptions } from './core/shared/reportTypes';
import type { CodeMap as _CodeMap } from './core/codemap/codeMap';
import type { ExperimentResult as _ExperimentResult } from './core/experiments/types';

export const WorkerMethod = {
  /** Request: headers (and with `stats`, per-tensor statistics) of one checkpoint. */
  inspect: 'reuseLens/inspect',
  /**
   * Request: compare source with target; progress arrives as `progress` notifications, and the
   * report's layers as `analyzeLayers` notifications before the answer (which holds the rest).
   */
  analyze: 'reuseLens/analyze',
  /**
   * Notification worker -> host: the next layers of one analyze request's report, in network
   * order. A 100,000-layer report is ~75 MB of JSON: sent as one answer, the worker held it as
   * objects, as text and as bytes at once (467 MB), and the host parsed it in one go.
   */
  analyzeLayers: 'reuseLens/analyzeLayers',
  /** Request: the conv filter grids of one layer of a recent analysis (kept out of `analyze`'s answer when large). */
  filterGrids: 'reuseLens/filterGrids',
  /** Request: the values of one tensor in canonical layout (conv filters for the report panel), size-capped. */
  readTensor: 'reuseLens/readTensor',
  /** Request: liveness and memory; answered between chunks even while an analysis runs. */
  ping: 'reuseLens/ping',
  /** Request: the code map of a Python document (its tree is kept and re-parsed incrementally). */
  codeMap: 'reuseLens/codeMap',
  /** Notification host -> worker: a document was closed; drop its tree. */
  forgetDocument: 'reuseLens/forgetDocument',
  /** Request: a replacement experiment in the user's PyTorch (trusted workspaces only); progress as `progress` notifications. */
  experiment: 'reuseLens/experiment',
  /**
   * Request: a replacement experiment on a model whose architecture is in its file (TF.js, Keras,
   * ONNX): only an evaluation set, nothing of the user's code runs (allowed in untrusted
   * workspaces); run in a thread of the worker; progress as `progress` notifications.
   */
  fileExperiment: 'reuseLens/fileExperiment',
  /** Notification worker -> host: progress of one analyze or experiment request. */
  progress: 'reuseLens/progress',
} as const;

export interface InspectParams {
  path: string;
  /** Read every tensor for min/max/mean/std/zeros (slow on big files); headers only otherwise. */
  stats?: boolean;
}
export type InspectResponse = _InspectResult;

export interface AnalyzeParams {
  source: string;
  target: string;
  options?: Partial<_AnalyzeOptions>;
  /** Chosen by the host; echoed in every `progress` notification of this request. */
  progressId: string;
  /**
   * Filter grids (out x in RMSE per conv weight) go with their layers until this many values
   * have been sent; later layers' grids stay in the worker (a big network's grids are hundreds
   * of MB of JSON, and parsing that would block the extension host): fetch one layer's with
   * `filterGrids`. Default 200 000.
   */
  maxGridValues?: number;
}
/** One piece of an analyze request's report: layers `from` .. `from + layers.length - 1`. */
export interface AnalyzeLayersParams {
  progressId: string;
  from: number;
  layers: _Report['layers'];
}
/**
 * The worker's answer to `analyze`: the report without its layers (`report.layers` is empty),
 * which came first as `layerCount` layers in `analyzeLayers` notifications. WorkerClient.analyze
 * puts them back together: its callers get an AnalyzeResponse.
 */
export interface AnalyzeResult extends AnalyzeResponse {
  layerCount: number;
}
export interface AnalyzeResponse {
  report: _Report;
  /** Names the worker keeps this analysis under for `filterGrids` (until it restarts). */
  analysisId: string;
  /** Layers whose `filterGrid`s were left out of `report`: the worker keeps them (see maxGridValues). */
  gridsOmitted: string[];
  durationMs: number;
  /**
   * The files each checkpoint was read from (the model, its shards, its external data; nothing
   * beside them), with size and modification time as the worker found them when it opened them
   * and still found them when it finished. The host's report cache is stamped with exactly these.
   */
  files: { source: FileStamp[]; target: FileStamp[] };
}

/** One file as it was read: path, size in bytes, modification time (ms since the epoch, as fs.stat gives it). */
export interface FileStamp { path: string; size: number; mtimeMs: number }
export interface ExperimentParams {
  /** The compare report whose matching and verdicts say what to replace (judged under the thresholds now). */
  report: _Report;
  /** The interpreter (path or name on PATH), the folder the factories are relative to, the factories as FILE.py:CALLABLE. */
  python: string;
  cwd: string;
  model: string;
  data: string;
  metric?: 'auto' | 'accuracy' | 'loss';
  /** Accuracy points (or percent of the baseline loss) a replacement may cost and still keep performance. */
  tolerance?: number;
  progressId: string;
}
export type ExperimentResponse = _ExperimentResult;

export interface FileExperimentParams {
  /** The compare report; its target is a TF.js, Keras full-model or ONNX file (the model is built from it). */
  report: _Report;
  /** The evaluation set: an .npz with x and y, or a folder of images in class subfolders. */
  data: string;
  metric?: 'auto' | 'accuracy' | 'loss';
  tolerance?: number;
  /** Per-channel normalisation of images decoded from a folder: (pixel / 255 − mean) / std. */
  normalize?: { mean: number[]; std: number[] };
  progressId: string;
}

export interface FilterGridsParams { analysisId: string; layer: string }
/** Param sourceName/targetName -> grid, for the conv weights of the layer. */
export interface FilterGridsResponse {
  grids: { role: string; rows: number; cols: number; values: number[] }[];
}

export interface ReadTensorParams {
  path: string;
  name: string;
  /** Refuse tensors with more elements than this (default 1 000 000): the answer is JSON. */
  maxElements?: number;
}
export interface ReadTensorResponse { name: string; shape: number[]; values: number[] }

export interface CodeMapParams {
  /** The document (its URI): the worker keeps its syntax tree to parse the next version incrementally. */
  key: string;
  text: string;
  /** nameTokens of the stored analyses' layer names: code that builds none of them is not run. */
  tokens?: string[];
}
export interface ForgetDocumentParams { key: string }

export interface PingResponse {
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Requests the worker is working on. */
  active: number;
}

export interface ProgressParams {
  progressId: string;
  done: number;
  total: number;
  message: string;
  /** Experiments: seconds left, from the mean time per evaluation so far. */
  etaSeconds?: number;
}

/** `code` of a JSON-RPC error from the worker, and what `data` then holds. */
export const WorkerErrorCode = {
  /** The checkpoint is bad or unreadable: `message` names the file and the problem. */
  checkpoint: -32001,
  /** A pickle called a global outside the allow-list; nothing ran. */
  unsafe: -32002,
  /** Cancelled by the host (same number as LSP's RequestCancelled). */
  cancelled: -32800,
  /** Anything else: a bug in Reuse Lens; `data.stack` has the stack. */
  internal: -32603,
  /** filterGrids: the analysis is no longer in the worker's memory. */
  unknownAnalysis: -32004,
  /** experiment: the interpreter, a factory, the data or a checkpoint did not do; `message` says which and why. */
  experiment: -32005,
} as const;
export interface WorkerErrorData { file?: string; global?: string; stack?: string }

/** Request method -> params and result, for typed wrappers on both sides. */
export interface WorkerRequests {
  'reuseLens/inspect': { params: InspectParams; result: InspectResponse };
  'reuseLens/analyze': { params: AnalyzeParams; result: AnalyzeResult };
  'reuseLens/filterGrids': { params: FilterGridsParams; result: FilterGridsResponse };
  'reuseLens/readTensor': { params: ReadTensorParams; result: ReadTensorResponse };
  'reuseLens/ping': { params: Record<string, never>; result: PingResponse };
  'reuseLens/codeMap': { params: CodeMapParams; result: _CodeMap };
  'reuseLens/experiment': { params: ExperimentParams; result: ExperimentResponse };
  'reuseLens/fileExperiment': { params: FileExperimentParams; result: ExperimentResponse };
}


// ---- Summary webview messages (extension host <-> checkpoint summary editor) ----
// (owned by the extension work; see src/extension/summary and webview/summary)
export type SummaryToWebview =
  | { type: 'loading'; path: string; fileName: string }
  /** `withStats` false: headers only (fast); a second message with stats follows. */
  | { type: 'summary'; path: string; fileName: string; result: _InspectResult; withStats: boolean; statsError?: string }
  | { type: 'error'; path: string; fileName: string; message: string };

export type SummaryFromWebview =
  | { type: 'ready' }
  | { type: 'reload' }
  | { type: 'analyze' }
  | { type: 'selectSource' }
  | { type: 'compareWithSource' };

// ---- Webview messages (extension host <-> report panel / checkpoint summary) ----
// (owned by the report panel work; see webview/report and src/extension/report)
// Every message crossing the webview boundary is checked by the guards below before use:
// the host never trusts the webview (it may be scripted by a malicious report name),
// and the webview never trusts a message it did not expect. The guards are the only code
// in this file; they are pure so both the browser bundle and the host import them.
import type { Report as ReportForGuards, LayerReport as LayerForGuards } from './core/shared/reportTypes';
import type { ExperimentResult as ExperimentForGuards } from './core/experiments/types';

/** viewType of the report WebviewPanel (and of its serializer: `onWebviewPanel:reuseLens.report`). */
export const REPORT_VIEW_TYPE = 'reuseLens.report';

/** The part of AnalyzeOptions the panel re-judges with and saves to `reuseLens.thresholds.*`. */
export interface Thresholds { metric: 'relRmse' | 'rmse'; reuseBelow: number; fineTuneBelow: number }

export type ExportFormat = 'json' | 'csv' | 'markdown' | 'plan-json' | 'pytorch' | 'keras';
export type ExportDestination = 'editor' | 'clipboard';

/** A conv kernel in canonical layout [out, in, kh, kw], values row-major. */
export interface FilterTensor { shape: number[]; values: number[] }
/** RMSE per (output filter, input channel), row-major [rows=out][cols=in]. */
export interface FilterGrid { rows: number; cols: number; values: number[] }

/** Host -> report webview. */
export type ToReportWebview =
  /**
   * Show (or replace) the report. `settings` are the thresholds currently in the user's settings.
   * A large report comes in pieces, the first screen first: `report.layers` holds the first
   * layers and `pending` says how many more follow in `reportLayers` messages.
   */
  | { type: 'report'; analysisId: string; report: ReportForGuards; settings?: Thresholds; select?: string; pending?: number }
  /** The next layers of the report being sent; `from` is the index of the first in report.layers (in order, none skipped). */
  | { type: 'reportLayers'; analysisId: string; from: number; layers: LayerForGuards[] }
  /** Answer to requestFilters; null side when that checkpoint has no such tensor; `error` in words. */
  | { type: 'filters'; requestId: number; layer: string; source: FilterTensor | null; target: FilterTensor | null; error?: string }
  /** Answer to requestGrid: the conv weight's filter x input-channel RMSE grid (null when there is none). */
  | { type: 'grid'; requestId: number; layer: string; grid: FilterGrid | null; error?: string }
  | { type: 'notice'; level: 'info' | 'error'; text: string }
  /** Select a layer of the report shown and scroll it into view (an inline hint was clicked). */
  | { type: 'revealLayer'; layer: string }
  /** The latest replacement experiment of this analysis (null: none yet); `running` while one runs. */
  | { type: 'experiment'; result: ExperimentForGuards | null; running: boolean };

/** Report webview -> host. */
export type FromReportWebview =
  /** The page has loaded and listens: send it the report. */
  | { type: 'ready' }
  /** Filter weights of the layer's conv kernel (first conv layers with 1 or 3 input channels). The host looks the tensor names up in its own copy of the report. */
  | { type: 'requestFilters'; requestId: number; layer: string }
  /** The layer's filter grid, when the report came without it (big reports: the worker keeps grids, see `filterGrids`). */
  | { type: 'requestGrid'; requestId: number; layer: string }
  | { type: 'saveThresholds'; thresholds: Thresholds }
  /** `content` is produced in the webview (it reflects the live thresholds). */
  | { type: 'export'; format: ExportFormat; destination: ExportDestination; content: string }
  /** Open the source or target checkpoint (the host takes the path from its own report). */
  | { type: 'reveal'; side: 'source' | 'target' }
  /** Run a replacement experiment on this analysis (the host asks for what it lacks). */
  | { type: 'runExperiment' };

/** What the webview keeps with vscode.setState, and the serializer gets back after a reload. */
export interface ReportWebviewState { analysisId: string; report?: ReportForGuards; view?: Record<string, unknown> }

/** Largest export the host accepts from the webview (characters). */
export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;

const EXPORT_FORMATS: readonly string[] = ['json', 'csv', 'markdown', 'plan-json', 'pytorch', 'keras'];
const VERDICTS: readonly string[] = ['reuse', 'fine-tune', 'recalibrate', 'retrain', 'incompatible', 'source-only', 'target-only'];

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj { return typeof v === 'object' && v !== null && !Array.isArray(v); }
function isStr(v: unknown, max = 100_000): v is string { return typeof v === 'string' && v.length <= max; }
function isNum(v: unknown): v is number { return typeof v === 'number' && Number.isFinite(v); }
function isNumOrNull(v: unknown): boolean { return v === null || isNum(v); }
function isStrOrNull(v: unknown): boolean { return v === null || isStr(v); }
function isNumArray(v: unknown, max = 1 << 26): v is number[] {
  if (!Array.isArray(v) || v.length > max) return false;
  // NaN is allowed in data arrays, and so is null: that is what JSON (the report cache, the
  // worker's IPC) makes of NaN. Readers treat both as a missing value.
  for (const x of v) if (typeof x !== 'number' && x !== null) return false;
  return true;
}
function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.length <= 8 && v.every((d) => Number.isInteger(d) && d >= 0);
}

export function isThresholds(v: unknown): v is Thresholds {
  return isObj(v) && (v.metric === 'relRmse' || v.metric === 'rmse')
    && isNum(v.reuseBelow) && isNum(v.fineTuneBelow) && v.reuseBelow >= 0 && v.fineTuneBelow >= v.reuseBelow;
}

function isFilterTensor(v: unknown): v is FilterTensor {
  if (!isObj(v) || !isShape(v.shape) || v.shape.length !== 4 || !isNumArray(v.values)) return false;
  return v.values.length === v.shape.reduce((a, b) => a * b, 1);
}

function isFilterGrid(v: unknown): v is FilterGrid {
  return isObj(v) && Number.isInteger(v.rows) && Number.isInteger(v.cols) && isNumArray(v.values)
    && v.values.length === (v.rows as number) * (v.cols as number);
}

function isCheckpointSummary(v: unknown): boolean {
  return isObj(v) && isStr(v.path) && isStr(v.format) && isNum(v.tensors) && isNum(v.parameters);
}

function isParam(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (!isStr(v.role) || !isStrOrNull(v.sourceName) || !isStrOrNull(v.targetName) || !isShape(v.shape)) return false;
  if (!isNumOrNull(v.rmse) || !isNumOrNull(v.relRmse) || !isNumOrNull(v.cosine) || !isNumOrNull(v.maxAbsDiff)) return false;
  if (v.filterRmse !== undefined && !isNumArray(v.filterRmse)) return false;
  if (v.filterGrid !== undefined && !isFilterGrid(v.filterGrid)) return false;
  return true;
}

function isLayer(v: unknown): boolean {
  return isObj(v) && isStr(v.name) && isNum(v.index) && isStr(v.kind) && isStrOrNull(v.sourceName)
    && isStrOrNull(v.targetName) && isStr(v.matchedBy) && isStr(v.verdict) && VERDICTS.includes(v.verdict as string)
    && isStr(v.reason) && isNumOrNull(v.kernelRmse) && isNumOrNull(v.kernelRelRmse) && isNum(v.parameters)
    && Array.isArray(v.params) && v.params.every(isParam);
}

/** Structural check of a report: everything the panel reads has the type it expects. */
export function isReport(v: unknown): v is ReportForGuards {
  if (!isObj(v) || v.schema !== 'reuse-lens/report@1') return false;
  if (!isCheckpointSummary(v.source) || !isCheckpointSummary(v.target)) return false;
  const o = v.options;
  if (!isObj(o) || !isThresholds(o) || !Array.isArray(o.prefixRules)) return false;
  if (!Array.isArray(v.layers) || !v.layers.every(isLayer)) return false;
  const u = v.unmatched;
  if (!isObj(u) || !Array.isArray(u.source) || !Array.isArray(u.target)) return false;
  const s = v.summary;
  if (!isObj(s) || !isObj(s.byVerdict) || !isObj(s.matchedBy) || !isObj(s.network) || !isStr(s.text)) return false;
  if (!isStr(s.network.verdict) || !isStr(s.network.reason)) return false;
  return Array.isArray(v.warnings) && v.warnings.every((w) => isStr(w));
}

function isReplacement(v: unknown): boolean {
  return isObj(v) && isNum(v.value) && isNum(v.delta) && typeof v.keeps === 'boolean' && Array.isArray(v.replaced) && v.replaced.every((x) => isStr(x));
}

/** Structural check of a replacement experiment's result: everything the panel reads. */
export function isExperiment(v: unknown): v is ExperimentForGuards {
  if (!isObj(v) || v.schema !== 'reuse-lens/experiment@1') return false;
  const m = v.metric, b = v.baseline, n = v.network;
  if (!isObj(m) || (m.name !== 'accuracy' && m.name !== 'loss') || typeof m.higherIsBetter !== 'boolean') return false;
  if (!isObj(b) || !isNum(b.value) || !isNum(v.samples)) return false;
  if (!Array.isArray(v.layers) || !v.layers.every((l) => isReplacement(l) && isStr((l as Obj).name))) return false;
  if (!Array.isArray(v.roles) || !v.roles.every((r) => isReplacement(r) && isStr((r as Obj).label) && Array.isArray((r as Obj).layers))) return false;
  if (v.reuseSet !== null && !(isReplacement(v.reuseSet) && Array.isArray((v.reuseSet as Obj).layers))) return false;
  return isObj(n) && isStr(n.verdict) && isStr(n.reason) && n.measured === true && isNum(n.tolerance);
}

/** Validates a message from the report webview; returns it typed, or undefined to drop it. */
export function parseFromReportWebview(v: unknown): FromReportWebview | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'ready': return { type: 'ready' };
    case 'requestFilters':
      return Number.isInteger(v.requestId) && isStr(v.layer, 10_000)
        ? { type: 'requestFilters', requestId: v.requestId as number, layer: v.layer as string } : undefined;
    case 'requestGrid':
      return Number.isInteger(v.requestId) && isStr(v.layer, 10_000)
        ? { type: 'requestGrid', requestId: v.requestId as number, layer: v.layer as string } : undefined;
    case 'saveThresholds':
      return isThresholds(v.thresholds)
        ? { type: 'saveThresholds', thresholds: { metric: v.thresholds.metric, reuseBelow: v.thresholds.reuseBelow, fineTuneBelow: v.thresholds.fineTuneBelow } } : undefined;
    case 'export':
      return isStr(v.format) && EXPORT_FORMATS.includes(v.format) && (v.destination === 'editor' || v.destination === 'clipboard')
        && isStr(v.content, MAX_EXPORT_CHARS)
        ? { type: 'export', format: v.format as ExportFormat, destination: v.destination, content: v.content } : undefined;
    case 'reveal':
      return v.side === 'source' || v.side === 'target' ? { type: 'reveal', side: v.side } : undefined;
    case 'runExperiment': return { type: 'runExperiment' };
    default: return undefined;
  }
}

/** Validates a message from the host; returns it typed, or undefined to drop it. */
export function parseToReportWebview(v: unknown): ToReportWebview | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'report':
      if (!isStr(v.analysisId, 10_000) || !isReport(v.report)) return undefined;
      if (v.settings !== undefined && !isThresholds(v.settings)) return undefined;
      if (v.select !== undefined && !isStr(v.select, 10_000)) return undefined;
      if (v.pending !== undefined && !(Number.isInteger(v.pending) && (v.pending as number) >= 0)) return undefined;
      return { type: 'report', analysisId: v.analysisId, report: v.report, settings: v.settings, select: v.select, pending: v.pending as number | undefined };
    case 'reportLayers':
      if (!isStr(v.analysisId, 10_000) || !Number.isInteger(v.from) || (v.from as number) < 0) return undefined;
      if (!Array.isArray(v.layers) || !v.layers.every(isLayer)) return undefined;
      return { type: 'reportLayers', analysisId: v.analysisId, from: v.from as number, layers: v.layers as LayerForGuards[] };
    case 'filters':
      if (!Number.isInteger(v.requestId) || !isStr(v.layer, 10_000)) return undefined;
      if (!(v.source === null || isFilterTensor(v.source)) || !(v.target === null || isFilterTensor(v.target))) return undefined;
      if (v.error !== undefined && !isStr(v.error)) return undefined;
      return { type: 'filters', requestId: v.requestId as number, layer: v.layer, source: v.source, target: v.target, error: v.error };
    case 'grid':
      if (!Number.isInteger(v.requestId) || !isStr(v.layer, 10_000)) return undefined;
      if (!(v.grid === null || isFilterGrid(v.grid)) || (v.error !== undefined && !isStr(v.error))) return undefined;
      return { type: 'grid', requestId: v.requestId as number, layer: v.layer, grid: v.grid, error: v.error };
    case 'notice':
      return (v.level === 'info' || v.level === 'error') && isStr(v.text) ? { type: 'notice', level: v.level, text: v.text } : undefined;
    case 'revealLayer':
      return isStr(v.layer, 10_000) ? { type: 'revealLayer', layer: v.layer } : undefined;
    case 'experiment':
      if (typeof v.running !== 'boolean' || !(v.result === null || isExperiment(v.result))) return undefined;
      return { type: 'experiment', result: v.result, running: v.running };
    default: return undefined;
  }
}

/** Validates the state the serializer gets back after a reload. */
export function parseReportWebviewState(v: unknown): ReportWebviewState | undefined {
  if (!isObj(v) || !isStr(v.analysisId, 10_000)) return undefined;
  const report = v.report !== undefined && isReport(v.report) ? v.report : undefined;
  const view = isObj(v.view) ? v.view : undefined;
  return { analysisId: v.analysisId, report, view };
}
