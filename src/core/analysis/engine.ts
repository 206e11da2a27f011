// The engine's facade: what the CLI and the worker call. Opens checkpoints, groups layers,
// matches them, streams the tensor pairs through the metrics, and builds the report.
import { DTYPE_SIZE, TensorInfo } from '../common/types';
import { AnalyzeOptions, DEFAULT_OPTIONS, InspectResult, LayerReport, Report } from '../shared/reportTypes';
import { CancelledError, CancelToken, throwIfCancelled } from '../common/errors';
import { openCheckpoint } from '../formats/open';
import { FilePool, SmallPairs } from '../tensor/tensorData';
import { numel } from '../tensor/dtypes';
import { groupLayers } from './layers';
import { LayerPair, matchLayersExplained } from './matching';
import { orderSide } from './networkOrder';
import { compareTensors, forThreads, TensorPairMetrics } from './metrics';
import { assembleReport, buildReport, comparable, layerReport, LayerExtras, LayerTally, pairKey, paramPairs, ReportHead, reportHead } from './report';
import { judgeLayers, rejudgeReport } from '../shared/verdicts';
import { tensorStats } from '../tensor/stats';
import { stat } from 'node:fs/promises';
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
    const row: InspectResult['tensors'][number] = { name: t.name, dtype: t.dtype, shape: [...t.shape], parameters: n, bytes: n * (t.storage?.bytesPerElement ?? DTYPE_SIZE[t.dtype]) };
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

/** Whether these paths are files holding enough bytes for the pair threads (folders are judged later, by their tensors). */
async function largeFiles(paths: string[]): Promise<boolean> {
  const sizes = await Promise.all(paths.map((p) => stat(p).then((st) => (st.isFile() ? st.size : 0), () => 0)));
  return sizes.reduce((a, b) => a + b, 0) >= 2 * 4 * THREADS_MIN_ELEMENTS;
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
  // Large files: the pair threads start booting now, while the headers are read and matched.
  if (await largeFiles([source, target])) sharedPairThreads()?.warm();
  // One after the other: a header of 100,000 tensors parses into ~60 MB of objects that die
  // right after; two at once doubled that part of the peak memory, for no time saved (parsing
  // is on this thread either way).
  const s = await openCheckpoint(source);
  throwIfCancelled(token);
  const t = await openCheckpoint(target);
  throwIfCancelled(token);
  const sl = groupLayers(s.tensors, s.layerOrder), tl = groupLayers(t.tensors, t.layerOrder);
  const so = orderSide(sl, s, { layers: tl, ck: t }, opts.prefixRules), to = orderSide(tl, t, { layers: sl, ck: s }, opts.prefixRules);
  const { pairs, notes } = matchLayersExplained(so.layers, to.layers, opts.prefixRules);
  // Kernels that feed a normalization are also measured with its scale removed.
  const normalized = normalizedLayers(pairs, so.layers, to.layers, { source: s.layerGraph, target: t.layerGraph });

  const work = pairs.flatMap((p, index) => (p.source && p.target ? paramPairs(p).filter(comparable).map((pp) => ({ layer: p, index, pp })) : []));
  const total = work.reduce((sum, w) => sum + safeNumel(w.pp.source.shape), 0);
  // Bytes each compared element costs, both sides: what a compare of 100 GB of shards says it has read.
  const stored = (t: TensorInfo) => t.storage?.bytesPerElement ?? DTYPE_SIZE[t.dtype];
  const bytesPer = (w: (typeof work)[number]) => stored(w.pp.source) + stored(w.pp.target);
  const bytesTotal = work.reduce((sum, w) => sum + safeNumel(w.pp.source.shape) * bytesPer(w), 0);
  let done = 0, bytesDone = 0, last = 0;
  const report = (message: string, force = false) => {
    if (!hooks.onProgress) return;
    const now = Date.now();
    if (!force && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    // Bytes first: a line cut to the width of a terminal or a notification loses the layer's name, not them.
    hooks.onProgress({ done, total, bytesDone, bytesTotal, message: `${byteCount(bytesDone, bytesTotal)} of ${byteCount(bytesTotal, bytesTotal)}: ${message}` });
  };
  report(`comparing ${work.length} tensors`, true);
  // Threads pay off only for enough data (starting them takes tens of ms); they start now.
  const candidates = work.filter((w) => forThreads(w.pp.source, w.pp.target));
  const threads = candidates.reduce((sum, w) => sum + safeNumel(w.pp.source.shape), 0) >= THREADS_MIN_ELEMENTS ? sharedPairThreads() : undefined;
  const threadWork = new Set(threads ? candidates : []);
  const direct = directReads(candidates.reduce((sum, w) => sum + safeNumel(w.pp.source.shape) * bytesPer(w), 0));
  threads?.warm();

  const metrics = new Map<string, TensorPairMetrics>();
  const pool = new FilePool();
  const bnStats = new Map<LayerPair, BnStatistics>();
  const extras: LayerExtras = { normalized, bnStats };
  const statPool = new FilePool();
  // Streaming: a layer is judged and handed on once its tensor pairs are compared, and a
  // normalization layer once the kernel it follows is judged too (judgeLayers caps it by it).
  const waiting = new Int32Array(pairs.length);
  for (const w of work) waiting[w.index]++;
  const indexOf = new Map(pairs.map((p, i) => [p, i]));
  const byName = new Map(pairs.map((p, i) => [p.name, i]));
  const feederOf = new Map<number, number>(); // normalization layer -> the kernel layer it normalises
  for (const [k, by] of normalized) { const n = byName.get(by.layer); if (n !== undefined) feederOf.set(n, indexOf.get(k)!); }
  const feeders = new Map<number, LayerReport>();
  const tally = new LayerTally();
  let next = 0;
  const flush = async () => {
    for (; sink && next < pairs.length && waiting[next] === 0; next++) {
      const f = feederOf.get(next);
      if (f !== undefined && waiting[f] !== 0) break;
      const p = pairs[next];
      const st = await bnStatsOf(p, statPool, bnEpsOf(s.format), token);
      if (st) bnStats.set(p, st);
      let l = layerReport(p, next, metrics, opts, extras);
      if (f !== undefined) {
        let k = feeders.get(f);
        if (!k) { k = layerReport(pairs[f], f, metrics, opts, extras); feeders.set(f, k); }
        l = judgeLayers([k, l], opts)[1];
        feeders.delete(f);
      } else l = judgeLayers([l], opts)[0];
      if (normalized.has(p) && !feeders.has(next)) feeders.set(next, l);
      for (const x of paramPairs(p)) if (x.source && x.target) metrics.delete(pairKey(x.source, x.target));
      tally.add(l);
      await sink.layer(l);
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
  const compare = (w: (typeof work)[number], sequential = false, { layer, index, pp } = w, bytes = bytesPer(w)) => compareTensors(pp.source, pp.target, pool, {
    conv: layer.source!.kind === 'conv' && pp.role === 'weight',
    invariance: pp.role === 'weight' && normalized.has(layer) ? (normalized.get(layer)!.kind === 'bn' ? 'filter' : 'tensor') : undefined,
    token: stop,
    threads,
    direct,
    small: sequential ? small : undefined,
    onElements: (n) => { done += n; bytesDone += n * bytes; report(`comparing ${layer.name}`); },
  }).then((m) => { metrics.set(pairKey(pp.source, pp.target), m); waiting[index]--; }, (e) => { failed = true; throw e; });
  // The threads' pairs are all handed out first, at once, so the threads never wait between
  // tensors; the others are summed here meanwhile, one after the other.
  const errors: unknown[] = [];
  const handedOut = work.filter((w) => threadWork.has(w)).map((w) => compare(w).catch((e: unknown) => { errors.push(e); }));
  try {
    for (const w of work) {
      if (stop.cancelled) break;
      if (!threadWork.has(w)) await compare(w, true).catch((e: unknown) => { errors.push(e); });
      if (sink && !stop.cancelled) await flush().catch((e: unknown) => { failed = true; errors.push(e); });
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
        const st = await bnStatsOf(p, statPool, bnEpsOf(s.format), token);
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
