// The report panel's page: receives a report from the host, draws header, chart, table and
// detail pane, re-judges live when thresholds move, and asks the host for what only it can
// do (read filter weights, save settings, open an editor, copy to the clipboard).
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { ExperimentResult, ExportDestination, ExportFormat, Report, Thresholds, ToReportWebview, Verdict } from '../../src/protocol';
import { parseReportWebviewState, parseToReportWebview } from '../../src/protocol';
import { DetailPane, type FiltersState, type GridState } from './detailPane';
import { canDrawFilters, convWeight } from './detailModel';
import { h } from './dom';
import { exportContent } from './exportModel';
import { Header } from './header';
import { LayerTable } from './layerTable';
import { changedVerdicts, rejudge, sameThresholds, thresholdsOf } from './rejudge';
import { RmseChart } from './rmseChart';
import { suggestLogScale } from './chartModel';
import { searchIndex, toggleExpanded, toggleSort, toggleVerdict } from './tableModel';
import { setThreshold, switchMetric } from './thresholdModel';
import { Toolbar } from './toolbar';
import { DEFAULT_VIEW, parseView, type ViewState } from './viewState';
import { loadState, post, saveState } from './vscodeApi';
import { VERDICT_LABEL } from './theme';
import { ExperimentCard } from './experimentCard';
import { MAX_BARS, type DepthGroup } from './depthGroups';

/** How long the filter waits after a keystroke. */
const FILTER_DEBOUNCE_MS = 60;

let analysisId = '';
let original: Report | undefined;
let judged: Report | undefined;
let settings: Thresholds | undefined;
let view: ViewState = DEFAULT_VIEW;
/** False until the user's own view is known (restored, or set by the first report). */
let viewChosen = false;
let changed = new Map<string, string>();
let nextRequest = 1;
const grids = new Map<string, GridState>();
const filters = new Map<string, FiltersState>();
const pending = new Map<number, string>();
/** The latest replacement experiment of this analysis, and whether one runs now (the host says). */
let experiment: ExperimentResult | null = null;
let experimentRunning = false;
/** Layers of the report still on their way (a large report comes in pieces, first screen first). */
let pendingLayers = 0;
/** The layer to select once it has arrived (an inline hint's click on a large report). */
let pendingSelect: string | undefined;
/** When the table last showed a piece's arrival (it is redrawn at most every PIECE_REDRAW_MS meanwhile). */
let pieceShownAt = 0;
const PIECE_REDRAW_MS = 250;

// ---- layout ----
const header = new Header({
  onReveal: (side) => post({ type: 'reveal', side }),
  onToggleVerdict: (v: Verdict) => setView({ ...view, table: toggleVerdict(view.table, v) }),
});
const toolbar = new Toolbar({
  onThresholds: (which, value) => setThresholds(setThreshold(current(), which, value)),
  onMetric: (metric) => { if (original) setThresholds(switchMetric(original, current(), metric)); },
  onReset: () => setThresholds(undefined),
  onSave: () => { post({ type: 'saveThresholds', thresholds: current() }); toolbar.flash('Saving…'); },
  onExport: (format: ExportFormat, destination: ExportDestination) => {
    if (judged) post({ type: 'export', format, destination, content: exportContent(judged, format) });
  },
});
const chartMetric = h('vscode-single-select', { 'aria-label': 'Chart metric', id: 'chart-metric' });
for (const [v, label] of [['relRmse', 'Relative RMSE'], ['rmse', 'RMSE']] as const) {
  const o = h('vscode-option', { value: v }, label);
  chartMetric.append(o);
}
chartMetric.addEventListener('change', () => setView({ ...view, chartMetric: chartMetric.value === 'rmse' ? 'rmse' : 'relRmse' }));
const logScale = h('vscode-checkbox', { label: 'Log scale', 'aria-label': 'Log scale' });
logScale.addEventListener('change', () => setView({ ...view, logScale: logScale.checked }));
const chartNote = h('span', { class: 'muted small chart-note' });
const canvas = h('canvas', { role: 'img', 'aria-label': 'Kernel RMSE per layer in network order, coloured by verdict; click a bar to select the layer' });
const chart = new RmseChart({
  canvas,
  onSelect: (name) => select(name, true),
  onZoom: (g) => { chartZoom = [...chartZoom, g]; renderAll(); },
  onZoomOut: () => { if (chartZoom.length) { chartZoom = chartZoom.slice(0, -1); renderAll(); } },
});
/** The groups the chart was zoomed into, outermost first (empty: the whole network). */
let chartZoom: DepthGroup[] = [];
const crumbs = h('nav', { class: 'chart-crumbs small', 'aria-label': 'Chart zoom', hidden: true });
const chartLoading = h('p', { class: 'muted loading-note', hidden: true });
const legend = h('div', { class: 'legend-verdicts small' });

const filterField = h('vscode-textfield', { placeholder: 'Filter layers: name, kind, verdict, reason…', 'aria-label': 'Filter layers', class: 'filter' });
// Filtering 50,000 layers takes milliseconds (tableModel's lower-case index), but not at every
// keystroke of a fast typist: the table follows a moment after the last one.
let filterTimer = 0;
filterField.addEventListener('input', () => {
  window.clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => setView({ ...view, table: { ...view.table, filter: filterField.value } }), FILTER_DEBOUNCE_MS);
});
const table = new LayerTable({
  onSelect: (name) => select(name, false),
  onToggleExpand: (name) => setView({ ...view, table: toggleExpanded(view.table, name) }),
  onSort: (key) => setView({ ...view, table: toggleSort(view.table, key) }),
});
const detail = new DetailPane();
const experimentCard = new ExperimentCard({ onRun: () => post({ type: 'runExperiment' }), onSelect: (name) => select(name, true) });
const notice = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
const loading = h('p', { class: 'muted loading' }, 'Loading the report…');

const main = h('main', { class: 'report', hidden: true },
  header.element,
  toolbar.element,
  h('section', { class: 'card chart-card', 'aria-label': 'Kernel distance per layer' },
    h('div', { class: 'card-head' }, h('h2', {}, 'Kernel distance by layer'), h('div', { class: 'card-tools' }, chartMetric, logScale)),
    crumbs,
    chartLoading,
    h('div', { class: 'chart-box' }, canvas, chart.brush),
    chart.status,
    h('div', { class: 'chart-foot' }, legend, chartNote)),
  experimentCard.element,
  h('div', { class: 'split' },
    h('section', { class: 'card table-card', 'aria-label': 'Layers table' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Layers'), filterField),
      table.element),
    h('div', { class: 'card detail-card' }, detail.element)));
document.body.append(notice, loading, main);

// ---- state ----
function current(): Thresholds {
  return view.thresholds ?? (original ? thresholdsOf(original) : { metric: 'relRmse', reuseBelow: 0.1, fineTuneBelow: 0.6 });
}

function setThresholds(t: Thresholds | undefined): void {
  const same = !t || (original && sameThresholds(t, thresholdsOf(original)));
  view = { ...view, thresholds: same ? undefined : t };
  rejudgeNow();
  renderAll();
}

function rejudgeNow(): void {
  if (!original) return;
  judged = rejudge(original, current());
  changed = changedVerdicts(original, judged);
  // The filter's lower-case index, built while the user looks, so the first keystroke is instant too.
  const r = judged;
  if (pendingLayers === 0 && r.layers.length > 2000) requestIdleCallback(() => { if (r === judged) searchIndex(r); }, { timeout: 2000 });
}

function setView(next: ViewState): void {
  view = next;
  renderAll();
}

function select(name: string, fromChart: boolean): void {
  if (view.selected === name) return;
  view = { ...view, selected: name };
  renderAll();
  if (fromChart) table.reveal(name);
}

// The view is saved a moment after the last change (a slider fires many events). The report is
// not: the host keeps it (report cache) and sends it again when the page comes back.
let persistTimer = 0;
function persist(): void {
  window.clearTimeout(persistTimer);
  persistTimer = window.setTimeout(() => saveState({ analysisId, view: { ...view } as unknown as Record<string, unknown> }), 250);
}

function renderAll(): void {
  if (!judged || !original) return;
  const t = current();
  const dirty = !sameThresholds(t, thresholdsOf(original));
  header.update(judged, view.table.verdicts, dirty, experiment?.network);
  experimentCard.update(judged, experiment, experimentRunning);
  toolbar.update(judged, t, dirty, changed.size, settings);
  chartMetric.value = view.chartMetric;
  logScale.checked = view.logScale;
  // The chart waits for every layer: medians of half the network would mislead.
  chartLoading.hidden = pendingLayers === 0;
  chartLoading.textContent = `Loading the report: ${(judged.layers.length).toLocaleString('en')} of ${(judged.layers.length + pendingLayers).toLocaleString('en')} layers…`;
  const zoom = chartZoom[chartZoom.length - 1];
  if (pendingLayers === 0) chart.update(judged, view.chartMetric, view.logScale, view.selected, zoom);
  renderCrumbs();
  let missing = 0;
  for (const l of judged.layers) if ((view.chartMetric === 'relRmse' ? l.kernelRelRmse : l.kernelRmse) === null) missing++;
  const shape = chart.shape;
  chartNote.textContent = [
    shape.grouped ? `${((zoom ? zoom.end - zoom.start : judged.layers.length)).toLocaleString('en')} layers in ${shape.bars} groups by name.` : '',
    t.metric !== view.chartMetric ? `Threshold lines are on ${t.metric === 'relRmse' ? 'relative RMSE' : 'RMSE'}: switch the chart to it to see them.` : '',
    missing ? `${missing} layer${missing === 1 ? ' has' : 's have'} no bar (incompatible shapes or only on one side).` : '',
  ].filter(Boolean).join(' ');
  legendFor(judged);
  if (filterField.value !== view.table.filter && document.activeElement !== filterField) filterField.value = view.table.filter;
  table.update(judged, view.table, view.selected, changed, experiment, pendingLayers);
  renderDetail();
  persist();
}

/** "All 49,280 layers › layers.3.* › layers.3.mlp.experts.0–15.*": each step back is a button. */
function renderCrumbs(): void {
  const total = judged?.layers.length ?? 0;
  crumbs.hidden = chartZoom.length === 0 && total <= MAX_BARS;
  if (crumbs.hidden) return;
  const step = (label: string, depth: number) => {
    const b = h('button', { class: 'crumb', title: depth === 0 ? 'Show the whole network' : 'Back to this group' }, label);
    b.addEventListener('click', () => { chartZoom = chartZoom.slice(0, depth); renderAll(); });
    return b;
  };
  const parts: (Node | string)[] = [chartZoom.length ? step(`All ${total.toLocaleString('en')} layers`, 0) : h('span', {}, `All ${total.toLocaleString('en')} layers`)];
  chartZoom.forEach((g, i) => {
    parts.push(' › ');
    parts.push(i === chartZoom.length - 1 ? h('span', { class: 'crumb-here' }, `${g.label} (${(g.end - g.start).toLocaleString('en')})`) : step(g.label, i + 1));
  });
  if (chartZoom.length) parts.push(' ', step('Reset zoom', 0));
  crumbs.replaceChildren(...parts);
}

function legendFor(r: Report): void {
  legend.replaceChildren(...(Object.keys(VERDICT_LABEL) as Verdict[])
    .filter((v) => r.summary.byVerdict[v] > 0)
    .map((v) => h('span', { class: `legend-item v-${v}` }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), VERDICT_LABEL[v])));
}

let shownDetail = '';
function renderDetail(): void {
  const layer = judged?.layers.find((l) => l.name === view.selected);
  if (!layer) { if (shownDetail !== '') { detail.empty(); shownDetail = ''; } return; }
  const w = convWeight(layer);
  if (w && !w.filterGrid && w.filterRmse && !grids.has(layer.name)) request('requestGrid', layer.name, grids);
  if (canDrawFilters(layer) && !filters.has(layer.name)) request('requestFilters', layer.name, filters);
  const was = changed.get(layer.name);
  // Redraw only when something the pane shows changed (a chart redraw per keystroke flickers).
  const key = JSON.stringify([layer.name, layer.verdict, layer.reason, was, grids.get(layer.name)?.status, filters.get(layer.name)?.status]);
  if (key === shownDetail) return;
  shownDetail = key;
  detail.show({ layer, was: was ? VERDICT_LABEL[was as Verdict] : undefined, grid: grids.get(layer.name), filters: filters.get(layer.name) });
}

function request(type: 'requestGrid' | 'requestFilters', layer: string, into: Map<string, { status: string }>): void {
  const requestId = nextRequest++;
  pending.set(requestId, layer);
  into.set(layer, { status: 'loading' });
  post({ type, requestId, layer });
}

function showNotice(level: 'info' | 'error', text: string): void {
  notice.hidden = false;
  notice.className = `notice ${level}`;
  notice.textContent = text;
  window.setTimeout(() => { if (notice.textContent === text) notice.hidden = true; }, 6000);
}

/** Every layer of the report is here: choose the selection, judge, draw everything. */
function showComplete(): void {
  if (!original) return;
  const select = pendingSelect;
  pendingSelect = undefined;
  const has = (name: string | undefined) => name !== undefined && original!.layers.some((l) => l.name === name);
  if (has(select)) view = { ...view, selected: select };
  if (view.selected && !has(view.selected)) view = { ...view, selected: undefined };
  if (!viewChosen) {
    viewChosen = true;
    view = { ...view, logScale: suggestLogScale(original, view.chartMetric) };
  }
  if (!view.selected) {
    // Start on the first conv layer: it has the most to show (filters, grid).
    const first = original.layers.find((l) => l.kind === 'conv') ?? original.layers[0];
    view = { ...view, selected: first?.name };
  }
  rejudgeNow();
  shownDetail = '';
  chartZoom = [];
  renderAll();
  performance.mark('reuse-lens:complete');
  if (select && view.selected === select) revealRow(select);
}

/** Scrolls the table to a layer's row, and the page to the table (it is below the chart). */
function revealRow(layer: string): void {
  table.reveal(layer);
  requestAnimationFrame(() => table.element.querySelector(`[data-layer="${CSS.escape(layer)}"]`)?.scrollIntoView({ block: 'center' }));
}

function onMessage(m: ToReportWebview): void {
  switch (m.type) {
    case 'report': {
      // Marks for the end-to-end suite (how long this page takes from the report to its rows).
      performance.mark('reuse-lens:report');
      const sameAnalysis = m.analysisId === analysisId;
      analysisId = m.analysisId;
      original = m.report;
      settings = m.settings;
      pendingLayers = m.pending ?? 0;
      pendingSelect = m.select;
      if (!sameAnalysis) { grids.clear(); filters.clear(); }
      loading.hidden = true;
      main.hidden = false;
      if (pendingLayers > 0) {
        // The first screen now; selection, chart and the rest when every layer is here.
        rejudgeNow();
        renderAll();
        performance.mark('reuse-lens:first-rows');
        return;
      }
      showComplete();
      performance.mark('reuse-lens:first-rows');
      return;
    }
    case 'reportLayers': {
      // In order and of the report shown, or dropped (a newer send cut this one short).
      if (!original || m.analysisId !== analysisId || pendingLayers <= 0 || m.from !== original.layers.length) return;
      for (const l of m.layers) original.layers.push(l);
      pendingLayers = Math.max(0, pendingLayers - m.layers.length);
      if (pendingLayers > 0) {
        // The caption's count follows a few times a second, not at every piece: each update lists
        // the rows again, and the pieces of 50,000 layers come faster than anyone reads.
        const now = performance.now();
        if (now - pieceShownAt >= PIECE_REDRAW_MS) { pieceShownAt = now; table.update(judged ?? original, view.table, view.selected, changed, experiment, pendingLayers); }
        return;
      }
      showComplete();
      return;
    }
    case 'grid': {
      if (pending.get(m.requestId) !== m.layer) return;
      pending.delete(m.requestId);
      grids.set(m.layer, m.error ? { status: 'error', message: m.error } : { status: 'ready', grid: m.grid });
      renderDetail();
      return;
    }
    case 'filters': {
      if (pending.get(m.requestId) !== m.layer) return;
      pending.delete(m.requestId);
      filters.set(m.layer, m.error ? { status: 'error', message: m.error } : { status: 'ready', source: m.source, target: m.target });
      renderDetail();
      return;
    }
    case 'revealLayer':
      if (pendingLayers > 0) { pendingSelect = m.layer; return; }
      if (!original?.layers.some((l) => l.name === m.layer)) return;
      if (view.selected !== m.layer) { view = { ...view, selected: m.layer }; renderAll(); }
      revealRow(m.layer);
      return;
    case 'experiment':
      experiment = m.result;
      experimentRunning = m.running;
      renderAll();
      return;
    case 'notice':
      if (m.text.startsWith('Saved')) settings = current();
      if (judged && original) toolbar.update(judged, current(), !sameThresholds(current(), thresholdsOf(original)), changed.size, settings);
      toolbar.flash(m.text);
      showNotice(m.level, m.text);
      return;
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  const m = parseToReportWebview(e.data);
  if (m) { onMessage(m); return; }
  // A report we cannot read must say so, not leave "Loading…" on screen forever.
  const data: unknown = e.data;
  if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'report' && !original) {
    loading.textContent = 'This report cannot be shown: it is not in the format this version of Reuse Lens reads (reuse-lens/report@1). Run the analysis again.';
  }
});

// A theme switch changes body classes; chart colours are canvas pixels and must be redrawn.
// VS Code sets the body class and the variables on <html>'s style attribute.
let themeFrame = 0;
const theme = new MutationObserver(() => {
  if (themeFrame) return;
  themeFrame = requestAnimationFrame(() => {
    themeFrame = 0;
    if (judged) { if (pendingLayers === 0) chart.retheme(judged, view.chartMetric, view.logScale); experimentCard.retheme(judged, experiment, experimentRunning); shownDetail = ''; renderDetail(); }
  });
});
theme.observe(document.body, { attributes: true, attributeFilter: ['class'] });
theme.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });

// After a reload or a hidden tab, come back to the same view; the host sends the report.
const restored = parseReportWebviewState(loadState());
if (restored) {
  analysisId = restored.analysisId;
  view = parseView(restored.view);
  viewChosen = restored.view !== undefined;
  if (restored.report) onMessage({ type: 'report', analysisId: restored.analysisId, report: restored.report });
}
post({ type: 'ready' });
