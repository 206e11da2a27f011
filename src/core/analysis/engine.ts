// The engine's facade: what the CLI and the worker call. Opens checkpoints, groups layers,
// matches them, streams the tensor pairs through the metrics, and builds the report.
import { TensorInfo } from '../common/types';
import { AnalyzeOptions, DEFAULT_OPTIONS, InspectResult, LayerReport, Report } from '../shared/reportTypes';
import { CancelledError, CancelToken, throwIfCancelled } from '../common/errors';
import { openCheckpoint } from '../formats/open';
import { FilePool, SmallPairs } from '../tensor/tensorData';
import { numel } from '../tensor/dtypes';
import { storedSize } from '../tensor/storedElements';
import { groupLayers } from './layers';
import { LayerPair, matchLayersExplained } from './matching';
import { orderSide } from './networkOrder';
import { CompareOptions, compareTensors, compareTensorsNow, forThreads, TensorPairMetrics } from './metrics';
import { assembleReport, buildReport, comparable, layerReport, LayerExtras, LayerTally, ParamPair, paramPairs, ReportHead, reportHead } from './report';
import { capByInput, rejudgeReport } from '../shared/verdicts';
import { tensorStats } from '../tensor/stats';
import { assertUnchanged } from '../common/fileStability';
import { directReads, sharedPairThreads, THREADS_MIN_ELEMENTS } from '../tensor/pairThreads';
import { normalizedLayers } from './normalization';
import { bnEpsOf, bnStatistics } from './bnStatistics';
import type { BnStatistics } from '../shared/reportTypes';

/** Elements compared of all to compare, and bytes of both checkpoints read for them. */
export interface Progress { done: number; total: number; message: string; bytesDone: number; bytesTotal: number }
export interface AnalyzeHooks { onProgress?: (p: Progress) => void; token?: CancelToken }

/** `n` bytes in the unit that suits `scale` (the total), so that done and total read alike: "1.2 of 30.0 GB". */
function byteCount(n: number, scale: number): string {
  const [unit, div] = scale >= 1e9 ? ['GB', 1e9] : scale >= 1e6 ? ['MB', 1e6] : ['KB', 1e3];
  const v = (n / div).toFixed(1);
  return n === scale ? `${v} ${unit}` : v;
}

/** Progress reports at most this often (ms). */
const PROGRESS_INTERVAL_MS = 100;

function safeNumel(shape: number[]): number {
  try { return numel(shape); } catch { return 0; }
}

/** Lists a checkpoint's tensors and layers from its header; with `stats`, reads every tensor once. */
export async function inspectPath(path: string, opts: { stats?: boolean; token?: CancelToken } = {}): Promise<InspectResult> {
  const ck = await openCheckpoint(path);
  const { layers, order } = orderSide(groupLayers(ck.tensors, ck.layerOrder), ck, undefined, []);
  const tensors: InspectResult['tensors'] = ck.tensors.map((t) => {
    const n = safeNumel(t.shape);
    const row: InspectResult['tensors'][number] = { name: t.name, dtype: t.dtype, shape: [...t.shape], parameters: n, bytes: n * storedSize(t) };
    if (t.storage) row.storage = t.storage.dtype;
    return row;
  });
  if (opts.stats) {
    const pool = new FilePool();
    try {
      for (let i = 0; i < ck.tensors.length; i++) {
        throwIfCancelled(opts.token);
        tensors[i].stats = await tensorStats(ck.tensors[i], pool, opts.token);
      }
    } finally { await pool.closeAll(); }
    // Stats read from a file a trainer rewrote meanwhile may mix two epochs.
    await assertUnchanged(ck.files, path);
  }
  const result: InspectResult = {
    schema: 'reuse-lens/inspect@1',
    path: ck.path,
    format: ck.format,
    parameters: tensors.reduce((s, t) => s + t.parameters, 0),
    tensors,
    layers: layers.map((l) => ({ name: l.name, kind: l.kind, parameters: l.parameters, tensors: l.tensors.map((x) => ({ role: x.role, name: x.tensor.name })) })),
    entries: ck.entries,
    warnings: ck.warnings,
  };
  if (ck.metadata) result.metadata = ck.metadata;
  result.order = order;
  return result;
}

/**
 * Whether a checkpoint holds enough elements in tensors large enough for the pair threads
 * (forThreads): a state dict of 100,000 small tensors is as many bytes as a large model, but
 * no pair of it goes to a thread, and an idle thread still costs ~40 MB and a core's start-up.
 */
function largeTensors(tensors: readonly TensorInfo[]): boolean {
  let sum = 0;
  for (const t of tensors) if (forThreads(t, t) && (sum += safeNumel(t.shape)) >= THREADS_MIN_ELEMENTS) return true;
  return false;
}

/**
 * Takes a report's layers as they are judged, instead of the report holding them all: a
 * state dict of 100,000 tensors is then never held as one report (the CLI writes each layer
 * out). Layers come in network order; the file-change check runs after the last one, so a
 * sink may have written layers of a compare that then fails.
 */
export interface LayerSink {
  head(head: ReportHead): void | Promise<void>;
  layer(layer: LayerReport): void | Promise<void>;
}

/** A BN pair's running-statistics measures, read from the files; undefined for other layers. */
/** A BN pair's statistics in its own units, with the source framework's ε (the source layer's units). */
async function bnStatsOf(p: LayerPair, pool: FilePool, eps: number, token?: CancelToken): Promise<BnStatistics | undefined> {
  if (p.source?.kind !== 'bn' || !p.target) return undefined;
  const pp = paramPairs(p).filter(comparable);
  const mean = pp.find((x) => x.role === 'running_mean'), v = pp.find((x) => x.role === 'running_var');
  if (!mean || !v) return undefined;
  return bnStatistics({ meanS: mean.source, varS: v.source, meanT: mean.target, varT: v.target }, pool, eps, token);
}

/**
 * Compares two checkpoints layer by layer. Progress counts elements compared. With a sink,
 * the layers go to it and the report returned lists none (its summary covers them all).
 */
export async function analyzePaths(source: string, target: string, options: Partial<AnalyzeOptions> = {}, hooks: AnalyzeHooks = {}, sink?: LayerSink): Promise<Report> {
  return (await analyzeCheckpoints(source, target, options, hooks, sink)).report;
}

/** A file a checkpoint was read from, as it was when opened and still was when the reading ended. */
export interface FileRead { path: string; size: number; mtimeMs: number }

/**
 * analyzePaths, also telling which files each checkpoint was read from (the model, its shards,
 * its external data; nothing beside them): the extension stamps its cached reports with them.
 */
export async function analyzeCheckpoints(source: string, target: string, options: Partial<AnalyzeOptions> = {}, hooks: AnalyzeHooks = {}, sink?: LayerSink):
  Promise<{ report: Report; files: { source: FileRead[]; target: FileRead[] } }> {
  const opts: AnalyzeOptions = { ...DEFAULT_OPTIONS, ...options, prefixRules: [...(options.prefixRules ?? DEFAULT_OPTIONS.prefixRules)] };
  const token = hooks.token;
  // One after the other: a header of 100,000 tensors parses into ~60 MB of objects that die
  // right after; two at once doubled that part of the peak memory, for no time saved (parsing
  // is on this thread either way).
  const s = await openCheckpoint(source);
  throwIfCancelled(token);
  // Large tensors: the pair threads start booting now, while the target's header is read and matched.
  if (largeTensors(s.tensors)) sharedPairThreads()?.warm();
  const t = await openCheckpoint(target);
  throwIfCancelled(token);
  const sl = groupLayers(s.tensors, s.layerOrder), tl = groupLayers(t.tensors, t.layerOrder);
  const so = orderSide(sl, s, { layers: tl, ck: t }, opts.prefixRules), to = orderSide(tl, t, { layers: sl, ck: s }, opts.prefixRules);
  const { pairs, notes } = matchLayersExplained(so.layers, to.layers, opts.prefixRules);
  // Kernels that feed a normalization are also measured with its scale removed.
  const normalized = normalizedLayers(pairs, so.layers, to.layers, { source: s.layerGraph, target: t.layerGraph });

  // The tensor pairs to compare, in network order, as two parallel lists (pair k compares
  // work[k], of layer pairs[layerOf[k]]): no work object per pair of a 100,000-tensor state dict.
  const work: Array<Required<ParamPair>> = [], layerOf: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    if (!p.source || !p.target) continue;
    for (const pp of paramPairs(p)) if (comparable(pp)) { work.push(pp); layerOf.push(i); }
  }
  // Bytes each compared element costs, both sides: what a compare of 100 GB of shards says it has read.
  const bytesPer = (pp: Required<ParamPair>) => storedSize(pp.source) + storedSize(pp.target);
  let total = 0, bytesTotal = 0;
  for (const pp of work) { const n = safeNumel(pp.source.shape); total += n; bytesTotal += n * bytesPer(pp); }
  let done = 0, bytesDone = 0, last = 0;
  // The message is built only when a report goes out (at most every PROGRESS_INTERVAL_MS), not per tensor.
  const report = (message: string | (() => string), force = false) => {
    if (!hooks.onProgress) return;
    const now = Date.now();
    if (!force && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    const m = typeof message === 'string' ? message : message();
    // Bytes first: a line cut to the width of a terminal or a notification loses the layer's name, not them.
    hooks.onProgress({ done, total, bytesDone, bytesTotal, message: `${byteCount(bytesDone, bytesTotal)} of ${byteCount(bytesTotal, bytesTotal)}: ${m}` });
  };
  report(`comparing ${work.length} tensors`, true);
  // Threads pay off only for enough data (starting them takes tens of ms); they start now.
  const candidates: number[] = [];
  let candidateElements = 0;
  work.forEach((pp, k) => { if (forThreads(pp.source, pp.target)) { candidates.push(k); candidateElements += safeNumel(pp.source.shape); } });
  const threads = candidateElements >= THREADS_MIN_ELEMENTS ? sharedPairThreads() : undefined;
  const threadWork = new Set(threads ? candidates : []);
  const direct = directReads(candidates.reduce((sum, k) => sum + safeNumel(work[k].source.shape) * bytesPer(work[k]), 0));
  threads?.warm();

  const metrics = new Map<TensorInfo, TensorPairMetrics>();
  const pool = new FilePool();
  const bnStats = new Map<LayerPair, BnStatistics>();
  const extras: LayerExtras = { normalized, bnStats };
  const statPool = new FilePool();
  // Streaming: a layer is judged and handed on once its tensor pairs are compared, and a
  // normalization layer once the kernel it follows is judged too (capByInput caps it by it).
  const waiting = new Int32Array(pairs.length);
  for (const i of layerOf) waiting[i]++;
  const feederOf = new Map<number, number>(); // normalization layer -> the kernel layer it normalises
  if (normalized.size > 0) {
    const indexOf = new Map(pairs.map((p, i) => [p, i]));
    const byName = new Map(pairs.map((p, i) => [p.name, i]));
    for (const [k, by] of normalized) { const n = byName.get(by.layer); if (n !== undefined) feederOf.set(n, indexOf.get(k)!); }
  }
  const feeders = new Map<number, LayerReport>();
  const tally = new LayerTally();
  const eps = bnEpsOf(s.format);
  let next = 0;
  const flush = async () => {
    for (; sink && next < pairs.length && waiting[next] === 0; next++) {
      const f = feederOf.get(next);
      if (f !== undefined && waiting[f] !== 0) break;
      const p = pairs[next];
      if (p.source?.kind === 'bn') {
        const st = await bnStatsOf(p, statPool, eps, token);
        if (st) bnStats.set(p, st);
      }
      let l = layerReport(p, next, metrics, opts, extras);
      // layerReport has judged the layer on its own; a normalization layer is judged again beside its kernel.
      if (f !== undefined) {
        let k = feeders.get(f);
        if (!k) { k = layerReport(pairs[f], f, metrics, opts, extras); feeders.set(f, k); }
        l = capByInput([k, l])[1];
        feeders.delete(f);
      }
      if (normalized.has(p) && !feeders.has(next)) feeders.set(next, l);
      for (const x of p.source?.tensors ?? []) metrics.delete(x.tensor);
      tally.add(l);
      const written = sink.layer(l);
      if (written) await written;
    }
  };
  const head = reportHead(s, t, opts);
  head.source.order = so.order;
  head.target.order = to.order;
  await sink?.head(head);
  // After a failure the other pairs stop too; cancelling does the same through the caller's token.
  let failed = false;
  const stop: CancelToken = { get cancelled() { return failed || !!token?.cancelled; } };
  const small = new SmallPairs(pool);
  const compareOptions = (k: number, onElements: (n: number) => void, sequential: boolean): CompareOptions => {
    const pp = work[k], layer = pairs[layerOf[k]];
    return {
      conv: layer.source!.kind === 'conv' && pp.role === 'weight',
      invariance: pp.role === 'weight' && normalized.has(layer) ? (normalized.get(layer)!.kind === 'bn' ? 'filter' : 'tensor') : undefined,
      token: stop,
      threads,
      direct,
      small: sequential ? small : undefined,
      onElements,
    };
  };
  const counted = (k: number) => {
    const bytes = bytesPer(work[k]), name = () => `comparing ${pairs[layerOf[k]].name}`;
    return (n: number) => { done += n; bytesDone += n * bytes; report(name); };
  };
  const compared = (k: number, m: TensorPairMetrics) => { metrics.set(work[k].source, m); waiting[layerOf[k]]--; };
  // The threads' pairs are all handed out first, at once, so the threads never wait between
  // tensors; the others are summed here meanwhile, one after the other (most small pairs
  // without a promise: compareTensorsNow answers at once when their bytes are in memory).
  const errors: unknown[] = [];
  const handedOut = [...threadWork].map((k) => compareTensors(work[k].source, work[k].target, pool, compareOptions(k, counted(k), false))
    .then((m) => compared(k, m), (e: unknown) => { failed = true; errors.push(e); }));
  let current = 0;
  const onSequential = (n: number) => { done += n; bytesDone += n * bytesPer(work[current]); report(() => `comparing ${pairs[layerOf[current]].name}`); };
  try {
    for (let k = 0; k < work.length; k++) {
      if (stop.cancelled) break;
      if (!threadWork.has(k)) {
        current = k;
        try {
          const m = compareTensorsNow(work[k].source, work[k].target, pool, compareOptions(k, onSequential, true));
          compared(k, m instanceof Promise ? await m : m);
        } catch (e) { failed = true; errors.push(e); }
      }
      if (sink && !stop.cancelled && waiting[next] === 0) await flush().catch((e: unknown) => { failed = true; errors.push(e); });
    }
  } finally {
    await Promise.all(handedOut);
    small.dispose();
    await pool.closeAll();
  }
  // The error that stopped the run, not the cancellations it caused in the other pairs.
  const cause = errors.find((e) => !(e instanceof CancelledError)) ?? errors[0];
  if (cause) throw cause;
  throwIfCancelled(token);
  try {
    if (sink) await flush();
    else {
      for (const p of pairs) {
        if (p.source?.kind !== 'bn') continue;
        const st = await bnStatsOf(p, statPool, eps, token);
        if (st) bnStats.set(p, st);
      }
    }
  } finally { await statPool.closeAll(); }
  // Numbers read from a file rewritten meanwhile (a training loop saving) may mix two versions.
  await assertUnchanged(s.files, source);
  await assertUnchanged(t.files, target);
  report('done', true);
  const read = (files: readonly FileRead[]) => files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs }));
  const files = { source: read(s.files), target: read(t.files) };
  if (sink) return { report: assembleReport(head, [], tally, s, t, notes), files };
  const result = buildReport(s, t, pairs, metrics, opts, notes, extras);
  result.source.order = so.order;
  result.target.order = to.order;
  return { report: result, files };
}

/** Re-derives verdicts, reasons and summary from the stored metrics under new thresholds; reads no file. */
export function rejudge(report: Report, options: AnalyzeOptions): Report {
  return rejudgeReport(report, options);
}
