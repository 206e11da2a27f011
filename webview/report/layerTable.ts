// The layer table: sortable headers, expandable parameter rows, keyboard selection, and
// virtual scrolling (only the rows in view exist in the DOM; see virtualWindow.ts).
import type { ExperimentResult, LayerReport, ParamReport, Report } from '../../src/protocol';
import { h, clear } from './dom';
import { fmt, fmtCount, fmtShape } from './format';
import { fmtDelta, fmtValue } from './experimentModel';
import { bnStatsChange, kernelParam, rowIndexOfLayer, tableRows, type ExperimentColumns, type Row, type SortKey, type TableView } from './tableModel';
import { VERDICT_LABEL } from './theme';
import { scrollToRow, visibleWindow } from './virtualWindow';

/** Must match --row-height in media/report.css. */
export const ROW_HEIGHT = 24;

interface Column { key: SortKey | 'reason'; label: string; title: string; width: string; numeric?: boolean }

const COLUMNS: Column[] = [
  { key: 'index', label: '#', title: 'Position in network order', width: '3.8em', numeric: true },
  { key: 'name', label: 'Layer', title: 'Layer name (source name after prefix rules)', width: 'minmax(10em, 1.6fr)' },
  { key: 'kind', label: 'Kind', title: 'Layer kind', width: '4.4em' },
  { key: 'verdict', label: 'Verdict', title: 'What to do with this layer in the target network', width: '8.6em' },
  { key: 'rmse', label: 'RMSE', title: 'Root mean square difference of the kernels', width: '5.4em', numeric: true },
  { key: 'relRmse', label: 'Rel. RMSE', title: 'RMSE divided by the RMS of the source kernel', width: '6.4em', numeric: true },
  { key: 'cosine', label: 'Cosine', title: 'Cosine similarity of the kernels', width: '5.4em', numeric: true },
  { key: 'maxAbsDiff', label: 'Max |Δ|', title: 'Largest absolute difference of one weight', width: '5.4em', numeric: true },
  { key: 'bnStats', label: 'BN stats Δ', title: 'Batch norm: how far the running statistics moved in the layer\'s own units — the larger of the mean shift in source standard deviations and the log ratio of the standard deviations (RMS over channels); from 0.1 the layer is recalibrated', width: '6.4em', numeric: true },
  { key: 'parameters', label: 'Params', title: 'Parameters in the layer', width: '4.6em', numeric: true },
  { key: 'reason', label: 'Reason', title: 'Why this verdict', width: 'minmax(10em, 3fr)' },
];

/** The replacement experiment's two columns, right after the RMSE ones (the paper's two conditions side by side). */
function experimentColumns(x: ExperimentResult): Column[] {
  const acc = x.metric.name === 'accuracy';
  const name = acc ? 'accuracy' : 'loss';
  const unit = acc ? ' (percentage points)' : '';
  return [
    { key: 'xValue', label: acc ? 'Acc. replaced' : 'Loss replaced', title: `Replacement experiment: the target's ${name} with this layer's parameters replaced by the source's`, width: '6.6em', numeric: true },
    { key: 'xDelta', label: acc ? 'Δ acc.' : 'Δ loss', title: `Replacement experiment: ${name} with this layer replaced minus the baseline (target as is)${unit}; marked when it does not keep performance`, width: '5.4em', numeric: true },
  ];
}

function columnsFor(x: ExperimentResult | null, layers: number): Column[] {
  // Positions of five digits (a 50,000-layer report) need a wider # column.
  const base = layers > 9999 ? [{ ...COLUMNS[0], width: '5.2em' }, ...COLUMNS.slice(1)] : COLUMNS;
  if (!x) return base;
  const at = base.findIndex((c) => c.key === 'relRmse') + 1;
  return [...base.slice(0, at), ...experimentColumns(x), ...base.slice(at)];
}

export interface LayerTableEvents {
  onSelect(name: string): void;
  onToggleExpand(name: string): void;
  onSort(key: SortKey): void;
}

export class LayerTable {
  readonly element: HTMLElement;
  private readonly head: HTMLElement;
  private readonly body: HTMLElement;
  private readonly sizer: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private readonly caption: HTMLElement;
  private rows: Row[] = [];
  private view: TableView | undefined;
  private selected: string | undefined;
  private changed = new Map<string, string>();
  private total = 0;
  private frame = 0;
  private columns: Column[] = COLUMNS;
  private experiment: ExperimentResult | null = null;
  private wide = false;
  private byLayer = new Map<string, ExperimentResult['layers'][number]>();
  /** What the rows were computed from: filtering and sorting 50,000 layers again only when it changed. */
  private rowsKey: unknown[] = [];

  constructor(private readonly events: LayerTableEvents) {
    this.head = h('div', { class: 'lt-row lt-head', role: 'row', 'aria-rowindex': 1 });
    this.rowsEl = h('div', { class: 'lt-rows', role: 'rowgroup' });
    this.sizer = h('div', { class: 'lt-sizer' }, this.rowsEl);
    this.body = h('div', { class: 'lt-body', tabindex: 0, 'aria-label': 'Layers: arrow keys move the selection, Enter shows parameters' }, this.sizer);
    this.caption = h('div', { class: 'lt-caption', 'aria-live': 'polite' });
    const grid = h('div', { class: 'lt-grid', role: 'table', 'aria-label': 'Layers' }, h('div', { role: 'rowgroup' }, this.head), this.body);
    grid.style.setProperty('--lt-columns', COLUMNS.map((c) => c.width).join(' '));
    this.element = h('div', { class: 'layer-table' }, h('div', { class: 'lt-scroll-x' }, grid), this.caption);
    this.body.addEventListener('scroll', () => this.schedule());
    this.body.addEventListener('keydown', (e) => this.onKey(e));
    this.rowsEl.addEventListener('click', (e) => this.onClick(e));
    this.rowsEl.addEventListener('dblclick', (e) => {
      const name = this.layerAt(e.target);
      if (name) this.events.onToggleExpand(name);
    });
    new ResizeObserver(() => this.schedule()).observe(this.body);
  }

  update(report: Report, view: TableView, selected: string | undefined, changed: Map<string, string>, experiment: ExperimentResult | null = null, loading = 0): void {
    this.view = view;
    this.selected = selected;
    this.changed = changed;
    this.total = report.layers.length;
    const wide = this.total > 9999;
    if (experiment !== this.experiment || wide !== this.wide) {
      this.experiment = experiment;
      this.wide = wide;
      this.byLayer = new Map((experiment?.layers ?? []).map((l) => [l.name, l]));
      this.columns = columnsFor(experiment, this.total);
      this.grid()?.style.setProperty('--lt-columns', this.columns.map((c) => c.width).join(' '));
    }
    const key = [report, report.layers.length, view.filter, view.verdicts.join(), view.sortKey, view.sortDir, view.expanded.join('\n'), experiment];
    if (key.some((k, i) => k !== this.rowsKey[i])) {
      this.rowsKey = key;
      this.rows = tableRows(report, view, this.byLayer as ExperimentColumns);
    }
    this.grid()?.setAttribute('aria-rowcount', String(this.rows.length + 1));
    this.renderHead();
    let shown = 0;
    for (const r of this.rows) if (r.type === 'layer') shown++;
    const n = (x: number) => x.toLocaleString('en');
    this.caption.textContent = (shown === this.total ? `${n(this.total)} layers` : `${n(shown)} of ${n(this.total)} layers match the filter`)
      + (loading > 0 ? ` (${n(loading)} more on their way)` : '');
    this.sizer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    this.body.style.height = `${Math.max(3, this.rows.length) * ROW_HEIGHT + 2}px`;
    this.render();
  }

  /** Scrolls the selected layer's row into view (after a click in the chart). */
  reveal(name: string): void {
    const i = rowIndexOfLayer(this.rows, name);
    if (i < 0) return;
    this.body.scrollTop = scrollToRow(i, this.body.scrollTop, this.body.clientHeight, ROW_HEIGHT);
    this.render();
  }

  /** How many row elements are in the DOM (the virtual window), for tests and the e2e suite. */
  get renderedRows(): number { return this.rowsEl.childElementCount; }

  private grid(): HTMLElement | null { return this.element.querySelector('.lt-grid'); }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  private renderHead(): void {
    clear(this.head);
    for (const c of this.columns) {
      const sortable = c.key !== 'reason';
      const active = this.view?.sortKey === c.key;
      const dir = this.view?.sortDir === 'asc' ? 'ascending' : 'descending';
      const cell = h('div', { class: `lt-cell lt-hcell${c.numeric ? ' num' : ''}`, role: 'columnheader', 'aria-sort': sortable ? (active ? dir : 'none') : undefined });
      if (sortable) {
        const arrow = active ? (this.view?.sortDir === 'asc' ? ' ▲' : ' ▼') : '';
        const b = h('button', { class: 'lt-sort', title: `${c.title} — click to sort`, 'aria-label': `Sort by ${c.label}` }, c.label, h('span', { class: 'lt-arrow', 'aria-hidden': 'true' }, arrow));
        b.addEventListener('click', () => this.events.onSort(c.key as SortKey));
        cell.append(b);
      } else {
        cell.append(h('span', { title: c.title }, c.label));
      }
      this.head.append(cell);
    }
  }

  private render(): void {
    const w = visibleWindow({ scrollTop: this.body.scrollTop, viewportHeight: this.body.clientHeight || 400, rowHeight: ROW_HEIGHT, rowCount: this.rows.length });
    this.rowsEl.style.transform = `translateY(${w.padTop}px)`;
    const frag = document.createDocumentFragment();
    for (let i = w.start; i < w.end; i++) frag.append(this.renderRow(this.rows[i], i));
    clear(this.rowsEl);
    this.rowsEl.append(frag);
    if (this.rows.length === 0) {
      this.rowsEl.append(h('div', { class: 'lt-empty' }, this.total ? 'No layer matches the filter.' : 'This report has no layers.'));
    }
  }

  private renderRow(row: Row, i: number): HTMLElement {
    return row.type === 'layer' ? this.layerRow(row.layer, i) : this.paramRow(row.layer, row.param, i);
  }

  private layerRow(l: LayerReport, i: number): HTMLElement {
    const expanded = this.view?.expanded.includes(l.name) ?? false;
    const was = this.changed.get(l.name);
    const k = kernelParam(l);
    const bn = bnStatsChange(l);
    const cls = ['lt-row', 'lt-layer', l.name === this.selected ? 'selected' : '', was ? 'changed' : ''].filter(Boolean).join(' ');
    const toggle = h('button', {
      class: 'lt-expand', 'aria-expanded': expanded ? 'true' : 'false',
      'aria-label': `${expanded ? 'Hide' : 'Show'} parameters of ${l.name}`, title: `${expanded ? 'Hide' : 'Show'} parameters`, tabindex: -1,
    }, expanded ? '▾' : '▸');
    toggle.addEventListener('click', (e) => { e.stopPropagation(); this.events.onToggleExpand(l.name); });
    const verdict = h('span', { class: `verdict v-${l.verdict}`, title: was ? `was ${VERDICT_LABEL[was as LayerReport['verdict']] ?? was} with the report's thresholds` : VERDICT_LABEL[l.verdict] },
      h('span', { class: 'dot', 'aria-hidden': 'true' }), VERDICT_LABEL[l.verdict], was ? h('span', { class: 'was', 'aria-label': `changed from ${was}` }, ' *') : null);
    return h('div', { class: cls, role: 'row', 'aria-rowindex': i + 2, 'aria-selected': l.name === this.selected ? 'true' : 'false', 'data-layer': l.name, title: l.reason },
      h('div', { class: 'lt-cell num lt-idx', role: 'cell' }, toggle, String(l.index)),
      h('div', { class: 'lt-cell lt-name', role: 'cell', title: l.name }, l.name),
      h('div', { class: 'lt-cell muted', role: 'cell' }, l.kind),
      h('div', { class: 'lt-cell', role: 'cell' }, verdict),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(l.kernelRmse)),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(l.kernelRelRmse)),
      ...this.experimentCells(l),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(k?.cosine)),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(k?.maxAbsDiff)),
      h('div', { class: 'lt-cell num', role: 'cell' }, bn === null ? '' : fmt(bn)),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmtCount(l.parameters)),
      h('div', { class: 'lt-cell lt-reason', role: 'cell' }, l.reason),
    );
  }

  /** The experiment's metric with the layer replaced and its Δ; empty for a layer it did not replace. */
  private experimentCells(l: LayerReport): HTMLElement[] {
    const x = this.experiment;
    if (!x) return [];
    const r = this.byLayer.get(l.name);
    if (!r) return [h('div', { class: 'lt-cell muted', role: 'cell', title: 'not replaced in the experiment (no tensor of the same shape on both sides)' }), h('div', { class: 'lt-cell', role: 'cell' })];
    return [
      h('div', { class: 'lt-cell num', role: 'cell' }, fmtValue(x.metric, r.value)),
      h('div', { class: `lt-cell num x-delta${r.keeps ? '' : ' x-hurts'}`, role: 'cell', title: r.keeps ? 'keeps performance (within the tolerance)' : 'does not keep performance' }, fmtDelta(x.metric, r.delta)),
    ];
  }

  private paramRow(l: LayerReport, p: ParamReport, i: number): HTMLElement {
    const shapes = p.sourceShape && p.targetShape && p.sourceShape.join() !== p.targetShape.join()
      ? `${fmtShape(p.sourceShape)} → ${fmtShape(p.targetShape)}` : fmtShape(p.shape);
    const notes: string[] = [];
    if (p.sourceName === null) notes.push('only in the target');
    else if (p.targetName === null) notes.push('only in the source');
    if (p.sourceShape && p.targetShape && p.sourceShape.join() !== p.targetShape.join()) notes.push(`shape ${fmtShape(p.sourceShape)} in the source, ${fmtShape(p.targetShape)} in the target`);
    if (p.nonFinite) notes.push(`NaN/Inf: ${p.nonFinite.source} in the source, ${p.nonFinite.target} in the target`);
    if (l.drivenBy === p.role) notes.push('drives the verdict');
    const names = p.sourceName === p.targetName ? p.sourceName ?? '' : `${p.sourceName ?? '—'} ↔ ${p.targetName ?? '—'}`;
    const count = (p.targetShape ?? p.shape).reduce((a, b) => a * b, 1);
    return h('div', { class: 'lt-row lt-param', role: 'row', 'aria-rowindex': i + 2, 'data-layer': l.name, title: names },
      h('div', { class: 'lt-cell', role: 'cell' }),
      h('div', { class: 'lt-cell lt-name lt-role', role: 'cell' }, p.role),
      h('div', { class: 'lt-cell muted', role: 'cell', title: shapes }, shapes),
      h('div', { class: 'lt-cell', role: 'cell' }),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(p.rmse)),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(p.relRmse)),
      ...(this.experiment ? [h('div', { class: 'lt-cell', role: 'cell' }), h('div', { class: 'lt-cell', role: 'cell' })] : []),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(p.cosine)),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmt(p.maxAbsDiff)),
      h('div', { class: 'lt-cell', role: 'cell' }),
      h('div', { class: 'lt-cell num', role: 'cell' }, fmtCount(count)),
      h('div', { class: 'lt-cell lt-reason muted', role: 'cell' }, notes.join('; ')),
    );
  }

  private layerAt(target: EventTarget | null): string | undefined {
    const row = target instanceof Element ? target.closest('[data-layer]') : null;
    return row?.getAttribute('data-layer') ?? undefined;
  }

  private onClick(e: MouseEvent): void {
    const name = this.layerAt(e.target);
    if (name) this.events.onSelect(name);
  }

  private onKey(e: KeyboardEvent): void {
    const layerRows = this.rows.filter((r) => r.type === 'layer').map((r) => r.layer.name);
    if (!layerRows.length) return;
    const at = this.selected ? layerRows.indexOf(this.selected) : -1;
    let next: string | undefined;
    switch (e.key) {
      case 'ArrowDown': next = layerRows[Math.min(layerRows.length - 1, at + 1)]; break;
      case 'ArrowUp': next = layerRows[Math.max(0, at - 1)]; break;
      case 'Home': next = layerRows[0]; break;
      case 'End': next = layerRows[layerRows.length - 1]; break;
      case 'Enter': case ' ': case 'ArrowRight': case 'ArrowLeft':
        if (this.selected) {
          const open = this.view?.expanded.includes(this.selected) ?? false;
          if (e.key === 'ArrowRight' && open) break;
          if (e.key === 'ArrowLeft' && !open) break;
          this.events.onToggleExpand(this.selected);
          e.preventDefault();
        }
        return;
      default: return;
    }
    e.preventDefault();
    if (next) { this.events.onSelect(next); this.reveal(next); }
  }
}
