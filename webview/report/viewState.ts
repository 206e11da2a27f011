// The panel's view settings (what the user chose, not the data), kept with vscode.setState so
// a reload or a hidden tab comes back as it was. Validated on load like any outside input.
import type { Thresholds, Verdict } from '../../src/protocol';
import { isThresholds } from '../../src/protocol';
import type { ChartMetric } from './chartModel';
import { DEFAULT_TABLE_VIEW, VERDICT_ORDER, type SortKey, type TableView } from './tableModel';

export interface ViewState {
  chartMetric: ChartMetric;
  logScale: boolean;
  table: TableView;
  selected?: string;
  /** Live thresholds; undefined means the report's own. */
  thresholds?: Thresholds;
}

export const DEFAULT_VIEW: ViewState = { chartMetric: 'relRmse', logScale: false, table: DEFAULT_TABLE_VIEW };

const SORT_KEYS: SortKey[] = ['index', 'name', 'kind', 'matchedBy', 'verdict', 'rmse', 'relRmse', 'cosine', 'maxAbsDiff', 'bnStats', 'parameters', 'xValue', 'xDelta'];

/** Reads a stored view, dropping whatever is not what this version writes. */
export function parseView(v: Record<string, unknown> | undefined): ViewState {
  if (!v) return DEFAULT_VIEW;
  const t = typeof v.table === 'object' && v.table !== null ? (v.table as Record<string, unknown>) : {};
  const strings = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
  const table: TableView = {
    sortKey: SORT_KEYS.includes(t.sortKey as SortKey) ? (t.sortKey as SortKey) : DEFAULT_TABLE_VIEW.sortKey,
    sortDir: t.sortDir === 'desc' ? 'desc' : 'asc',
    filter: typeof t.filter === 'string' ? t.filter.slice(0, 500) : '',
    verdicts: strings(t.verdicts).filter((s): s is Verdict => VERDICT_ORDER.includes(s as Verdict)),
    expanded: strings(t.expanded).slice(0, 10_000),
  };
  return {
    chartMetric: v.chartMetric === 'rmse' ? 'rmse' : 'relRmse',
    logScale: v.logScale === true,
    table,
    selected: typeof v.selected === 'string' ? v.selected : undefined,
    thresholds: isThresholds(v.thresholds) ? v.thresholds : undefined,
  };
}
