// The layer table without the DOM: which rows exist (layers, plus the parameters of expanded
// layers), in which order, after the user's filter. The DOM code only draws the rows that
// virtualWindow.ts says are visible.
import type { LayerReport, ParamReport, Report, Verdict } from '../../src/protocol';

export type SortKey =
  | 'index' | 'name' | 'kind' | 'matchedBy' | 'verdict' | 'rmse' | 'relRmse' | 'cosine' | 'maxAbsDiff' | 'bnStats' | 'parameters'
  /** The replacement experiment's metric with the layer replaced, and its Δ against the baseline. */
  | 'xValue' | 'xDelta';

/** A replacement experiment's per-layer numbers, by layer name (the table's experiment columns). */
export type ExperimentColumns = ReadonlyMap<string, { value: number; delta: number }>;
export type SortDir = 'asc' | 'desc';

export interface TableView {
  sortKey: SortKey;
  sortDir: SortDir;
  /** Case-insensitive text matched against names, kind, verdict and reason. */
  filter: string;
  /** Verdicts shown; empty means all. */
  verdicts: Verdict[];
  /** Names of layers whose parameters are shown under them. */
  expanded: string[];
}

export const DEFAULT_TABLE_VIEW: TableView = { sortKey: 'index', sortDir: 'asc', filter: '', verdicts: [], expanded: [] };

export type Row =
  | { type: 'layer'; layer: LayerReport }
  | { type: 'param'; layer: LayerReport; param: ParamReport };

/** Verdicts from best to worst, so sorting by verdict puts reusable layers first. */
export const VERDICT_ORDER: Verdict[] = ['reuse', 'recalibrate', 'fine-tune', 'retrain', 'incompatible', 'source-only', 'target-only'];

/** The layer's main weight: the parameter whose metrics stand for the layer in the table. */
export function kernelParam(layer: LayerReport): ParamReport | undefined {
  return layer.params.find((p) => p.role === 'weight') ?? layer.params[0];
}

/**
 * How much a BN layer's running statistics moved, in the layer's own units: the larger of the
 * mean shift (in source standard deviations) and the log ratio of the standard deviations (half
 * that of the variances), RMS over channels; at 0.1 or more the statistics count as moved.
 * Reports from before those were measured: the larger relative RMSE of running_mean and
 * running_var. Null for layers without running statistics.
 */
export function bnStatsChange(layer: LayerReport): number | null {
  if (layer.bnStats) return Math.max(layer.bnStats.meanShift.rms, layer.bnStats.logVarRatio.rms / 2);
  let best: number | null = null;
  for (const p of layer.params) {
    if ((p.role === 'running_mean' || p.role === 'running_var') && p.relRmse !== null) best = best === null ? p.relRmse : Math.max(best, p.relRmse);
  }
  return best;
}

function layerKey(layer: LayerReport, key: SortKey, x?: ExperimentColumns): number | string | null {
  switch (key) {
    case 'xValue': return x?.get(layer.name)?.value ?? null;
    case 'xDelta': return x?.get(layer.name)?.delta ?? null;
    case 'index': return layer.index;
    case 'name': return layer.name;
    case 'kind': return layer.kind;
    case 'matchedBy': return layer.matchedBy;
    case 'verdict': return VERDICT_ORDER.indexOf(layer.verdict);
    case 'rmse': return layer.kernelRmse;
    case 'relRmse': return layer.kernelRelRmse;
    case 'cosine': return kernelParam(layer)?.cosine ?? null;
    case 'maxAbsDiff': return kernelParam(layer)?.maxAbsDiff ?? null;
    case 'bnStats': return bnStatsChange(layer);
    case 'parameters': return layer.parameters;
  }
}

// One collator for every comparison: localeCompare with options builds one per call, seconds
// over the ~800,000 comparisons of sorting 50,000 names.
const collator = new Intl.Collator(undefined, { numeric: true });

type Key = number | string | null;

/** Missing values (null, NaN) last in both directions; ties keep network order. */
function compareKeys(ka: Key, kb: Key, ia: number, ib: number, dir: SortDir): number {
  const na = ka === null || (typeof ka === 'number' && Number.isNaN(ka)), nb = kb === null || (typeof kb === 'number' && Number.isNaN(kb));
  if (na || nb) {
    if (na !== nb) return na ? 1 : -1;
    return ia - ib;
  }
  const c = typeof ka === 'string' || typeof kb === 'string' ? collator.compare(String(ka), String(kb)) : (ka as number) - (kb as number);
  if (c === 0) return ia - ib;
  return dir === 'asc' ? c : -c;
}

/** Compares two layers by `key`; missing values (null) sort last in both directions; ties keep network order. */
export function compareLayers(a: LayerReport, b: LayerReport, key: SortKey, dir: SortDir, x?: ExperimentColumns): number {
  return compareKeys(layerKey(a, key, x), layerKey(b, key, x), a.index, b.index, dir);
}

/** What the filter searches in a layer, lower-cased: names, kind, verdict, reason, how it was paired. */
export function searchText(layer: LayerReport): string {
  return [layer.name, layer.sourceName ?? '', layer.targetName ?? '', layer.kind, layer.verdict, layer.reason, layer.matchedBy]
    .join('\n').toLowerCase();
}

// Built once per (re-judged) report, so a keystroke in the filter is one substring test per layer.
const searchIndexes = new WeakMap<Report, string[]>();

/** searchText of every layer of the report, in report order (cached per report object). */
export function searchIndex(report: Report): string[] {
  let index = searchIndexes.get(report);
  if (!index || index.length !== report.layers.length) {
    index = report.layers.map(searchText);
    searchIndexes.set(report, index);
  }
  return index;
}

/** The filter's words: each must match somewhere, so "conv retrain" finds retrained conv layers. */
export function filterWords(filter: string): string[] {
  return filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

export function matchesFilter(layer: LayerReport, view: TableView, hay?: string): boolean {
  if (view.verdicts.length > 0 && !view.verdicts.includes(layer.verdict)) return false;
  const words = filterWords(view.filter);
  if (!words.length) return true;
  const text = hay ?? searchText(layer);
  return words.every((w) => text.includes(w));
}

/** The rows of the table, in display order. */
export function tableRows(report: Report, view: TableView, x?: ExperimentColumns): Row[] {
  const words = filterWords(view.filter);
  const index = words.length ? searchIndex(report) : undefined;
  const verdicts = view.verdicts.length ? new Set(view.verdicts) : undefined;
  const layers: LayerReport[] = [];
  report.layers.forEach((l, i) => {
    if (verdicts && !verdicts.has(l.verdict)) return;
    if (index && !words.every((w) => index[i].includes(w))) return;
    layers.push(l);
  });
  // Network order is the order layers come in: no sort needed (50,000 comparisons saved per keystroke).
  const inOrder = view.sortKey === 'index' && view.sortDir === 'asc' && layers.every((l, i) => i === 0 || layers[i - 1].index < l.index);
  if (!inOrder) {
    // Each layer's key once, not twice per comparison.
    const keyed = layers.map((l) => ({ k: layerKey(l, view.sortKey, x), l }));
    keyed.sort((a, b) => compareKeys(a.k, b.k, a.l.index, b.l.index, view.sortDir));
    for (let i = 0; i < keyed.length; i++) layers[i] = keyed[i].l;
  }
  const expanded = new Set(view.expanded);
  const rows: Row[] = [];
  for (const layer of layers) {
    rows.push({ type: 'layer', layer });
    if (expanded.has(layer.name)) for (const param of layer.params) rows.push({ type: 'param', layer, param });
  }
  return rows;
}

/** Clicking a header: the same key flips the direction; a new key starts in its natural direction. */
export function toggleSort(view: TableView, key: SortKey): TableView {
  if (view.sortKey === key) return { ...view, sortDir: view.sortDir === 'asc' ? 'desc' : 'asc' };
  // Distances are most interesting largest first; names and positions in reading order.
  const desc: SortKey[] = ['rmse', 'relRmse', 'maxAbsDiff', 'bnStats', 'parameters'];
  return { ...view, sortKey: key, sortDir: desc.includes(key) ? 'desc' : 'asc' };
}

export function toggleExpanded(view: TableView, layer: string): TableView {
  const has = view.expanded.includes(layer);
  return { ...view, expanded: has ? view.expanded.filter((n) => n !== layer) : [...view.expanded, layer] };
}

export function toggleVerdict(view: TableView, v: Verdict): TableView {
  const has = view.verdicts.includes(v);
  return { ...view, verdicts: has ? view.verdicts.filter((x) => x !== v) : [...view.verdicts, v] };
}

/** Row index of a layer's own row, or -1 when filtered out (to scroll a chart click into view). */
export function rowIndexOfLayer(rows: Row[], name: string): number {
  return rows.findIndex((r) => r.type === 'layer' && r.layer.name === name);
}
