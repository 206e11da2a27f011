// The engine's facade: what the CLI and the worker call. Opens checkpoints, groups layers,
// matches them, streams the tensor pairs through the metrics, and builds the report.
import { DTYPE_SIZE } from './types';
import { AnalyzeOptions, DEFAULT_OPTIONS, InspectResult, Report } from './reportTypes';
import { CancelToken, throwIfCancelled } from './errors';
import { openCheckpoint } from './formats/open';
import { FilePool } from './tensorData';
import { numel } from './dtypes';
import { groupLayers } from './layers';
import { matchLayers } from './matching';
import { compareTensors, TensorPairMetrics } from './metrics';
import { buildReport, comparable, pairKey, paramPairs } from './report';
import { rejudgeReport } from './verdicts';
import { tensorStats } from './stats';
import { assertUnchanged } from './fileStability';

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
  const layers = groupLayers(ck.tensors, ck.layerOrder);
  const tensors: InspectResult['tensors'] = ck.tensors.map((t) => {
    const n = safeNumel(t.shape);
    return { name: t.name, dtype: t.dtype, shape: [...t.shape], parameters: n, bytes: n * DTYPE_SIZE[t.dtype] };
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
  return result;
}

/** Compares two checkpoints layer by layer. Progress counts elements compared. */
export async function analyzePaths(source: string, target: string, options: Partial<AnalyzeOptions> = {}, hooks: AnalyzeHooks = {}): Promise<Report> {
  const opts: AnalyzeOptions = { ...DEFAULT_OPTIONS, ...options, prefixRules: [...(options.prefixRules ?? DEFAULT_OPTIONS.prefixRules)] };
  const token = hooks.token;
  const [s, t] = await Promise.all([openCheckpoint(source), openCheckpoint(target)]);
  throwIfCancelled(token);
  const pairs = matchLayers(groupLayers(s.tensors, s.layerOrder), groupLayers(t.tensors, t.layerOrder), opts.prefixRules);

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

  const metrics = new Map<string, TensorPairMetrics>();
  const pool = new FilePool();
  try {
    for (const { layer, pp } of work) {
      throwIfCancelled(token);
      const m = await compareTensors(pp.source, pp.target, pool, {
        conv: layer.source!.kind === 'conv' && pp.role === 'weight',
        token,
        onElements: (n) => { done += n; report(`comparing ${layer.name}`); },
      });
      metrics.set(pairKey(pp.source, pp.target), m);
    }
  } finally {
    await pool.closeAll();
  }
  // Numbers read from a file rewritten meanwhile (a training loop saving) may mix two versions.
  await assertUnchanged(s.files, source);
  await assertUnchanged(t.files, target);
  report('done', true);
  return buildReport(s, t, pairs, metrics, opts);
}

/** Re-derives verdicts, reasons and summary from the stored metrics under new thresholds; reads no file. */
export function rejudge(report: Report, options: AnalyzeOptions): Report {
  return rejudgeReport(report, options);
}
