// The engine's facade: what the CLI and the worker call. Opens checkpoints, groups layers,
// matches them, streams the tensor pairs through the metrics, and builds the report.
import { DTYPE_SIZE } from '../common/types';
import { AnalyzeOptions, DEFAULT_OPTIONS, InspectResult, Report } from '../shared/reportTypes';
import { CancelledError, CancelToken, throwIfCancelled } from '../common/errors';
import { openCheckpoint } from '../formats/open';
import { FilePool } from '../tensor/tensorData';
import { numel } from '../tensor/dtypes';
import { groupLayers } from './layers';
import { matchLayersExplained } from './matching';
import { orderSide } from './networkOrder';
import { compareTensors, forThreads, TensorPairMetrics } from './metrics';
import { buildReport, comparable, pairKey, paramPairs } from './report';
import { rejudgeReport } from '../shared/verdicts';
import { tensorStats } from '../tensor/stats';
import { stat } from 'node:fs/promises';
import { assertUnchanged } from '../common/fileStability';
import { sharedPairThreads, THREADS_MIN_ELEMENTS } from '../tensor/pairThreads';
import { normalizedLayers } from './normalization';
import { bnStatistics } from './bnStatistics';
import type { BnStatistics } from '../shared/reportTypes';

export interface Progress { done: number; total: number; message: string }
export interface AnalyzeHooks { onProgress?: (p: Progress) => void; token?: CancelToken }

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

/** Compares two checkpoints layer by layer. Progress counts elements compared. */
export async function analyzePaths(source: string, target: string, options: Partial<AnalyzeOptions> = {}, hooks: AnalyzeHooks = {}): Promise<Report> {
  const opts: AnalyzeOptions = { ...DEFAULT_OPTIONS, ...options, prefixRules: [...(options.prefixRules ?? DEFAULT_OPTIONS.prefixRules)] };
  const token = hooks.token;
  // Large files: the pair threads start booting now, while the headers are read and matched.
  if (await largeFiles([source, target])) sharedPairThreads()?.warm();
  const [s, t] = await Promise.all([openCheckpoint(source), openCheckpoint(target)]);
  throwIfCancelled(token);
  const sl = groupLayers(s.tensors, s.layerOrder), tl = groupLayers(t.tensors, t.layerOrder);
  const so = orderSide(sl, s, { layers: tl, ck: t }, opts.prefixRules), to = orderSide(tl, t, { layers: sl, ck: s }, opts.prefixRules);
  const { pairs, notes } = matchLayersExplained(so.layers, to.layers, opts.prefixRules);
  // Kernels that feed a normalization are also measured with its scale removed.
  const normalized = normalizedLayers(pairs, so.layers, to.layers, { source: s.layerGraph, target: t.layerGraph });

  const work = pairs.filter((p) => p.source && p.target).flatMap((p) => paramPairs(p).filter(comparable).map((pp) => ({ layer: p, pp })));
  const total = work.reduce((sum, w) => sum + safeNumel(w.pp.source.shape), 0);
  let done = 0, last = 0;
  const report = (message: string, force = false) => {
    if (!hooks.onProgress) return;
    const now = Date.now();
    if (!force && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    hooks.onProgress({ done, total, message });
  };
  report(`comparing ${work.length} tensors`, true);
  // Threads pay off only for enough data (starting them takes tens of ms); they start now.
  const candidates = work.filter((w) => forThreads(w.pp.source, w.pp.target));
  const threads = candidates.reduce((sum, w) => sum + safeNumel(w.pp.source.shape), 0) >= THREADS_MIN_ELEMENTS ? sharedPairThreads() : undefined;
  const threadWork = new Set(threads ? candidates : []);
  threads?.warm();

  const metrics = new Map<string, TensorPairMetrics>();
  const pool = new FilePool();
  // After a failure the other pairs stop too; cancelling does the same through the caller's token.
  let failed = false;
  const stop: CancelToken = { get cancelled() { return failed || !!token?.cancelled; } };
  const compare = ({ layer, pp }: (typeof work)[number]) => compareTensors(pp.source, pp.target, pool, {
    conv: layer.source!.kind === 'conv' && pp.role === 'weight',
    invariance: pp.role === 'weight' && normalized.has(layer) ? (normalized.get(layer)!.kind === 'bn' ? 'filter' : 'tensor') : undefined,
    token: stop,
    threads,
    onElements: (n) => { done += n; report(`comparing ${layer.name}`); },
  }).then((m) => { metrics.set(pairKey(pp.source, pp.target), m); }, (e) => { failed = true; throw e; });
  // The threads' pairs are all handed out first, at once, so the threads never wait between
  // tensors; the others are summed here meanwhile, one after the other.
  const errors: unknown[] = [];
  const handedOut = work.filter((w) => threadWork.has(w)).map((w) => compare(w).catch((e: unknown) => { errors.push(e); }));
  try {
    for (const w of work) {
      if (stop.cancelled) break;
      if (!threadWork.has(w)) await compare(w).catch((e: unknown) => { errors.push(e); });
    }
  } finally {
    await Promise.all(handedOut);
    await pool.closeAll();
  }
  // The error that stopped the run, not the cancellations it caused in the other pairs.
  const cause = errors.find((e) => !(e instanceof CancelledError)) ?? errors[0];
  if (cause) throw cause;
  throwIfCancelled(token);
  const bnStats = new Map<typeof pairs[number], BnStatistics>();
  const statPool = new FilePool();
  try {
    for (const p of pairs) {
      if (p.source?.kind !== 'bn' || !p.target) continue;
      const pp = paramPairs(p).filter(comparable);
      const mean = pp.find((x) => x.role === 'running_mean'), v = pp.find((x) => x.role === 'running_var');
      if (!mean || !v) continue;
      const st = await bnStatistics({ meanS: mean.source, varS: v.source, meanT: mean.target, varT: v.target }, statPool, token);
      if (st) bnStats.set(p, st);
    }
  } finally { await statPool.closeAll(); }
  // Numbers read from a file rewritten meanwhile (a training loop saving) may mix two versions.
  await assertUnchanged(s.files, source);
  await assertUnchanged(t.files, target);
  report('done', true);
  const result = buildReport(s, t, pairs, metrics, opts, notes, { normalized, bnStats });
  result.source.order = so.order;
  result.target.order = to.order;
  return result;
}

/** Re-derives verdicts, reasons and summary from the stored metrics under new thresholds; reads no file. */
export function rejudge(report: Report, options: AnalyzeOptions): Report {
  return rejudgeReport(report, options);
}
