// The selected layer up close: its verdict and reason, its parameters' metrics, the
// distribution of per-filter RMSE, the filter x input-channel RMSE heatmap, and for a first
// conv layer (1 or 3 input channels) its source and target filters drawn as images.
import { Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip, type TooltipItem } from 'chart.js';
import type { FilterGrid, FilterTensor, LayerReport, ParamReport } from '../../src/protocol';
import { binCount, canDrawFilters, convWeight, filterPixels, heatColor, heatmapPixels, histogram, sharedScale } from './detailModel';
import { h, clear } from './dom';
import { fmt, fmtCount, fmtShape } from './format';
import { readTheme, VERDICT_LABEL } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export type FiltersState = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; source: FilterTensor | null; target: FilterTensor | null };
export type GridState = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; grid: FilterGrid | null };

export interface DetailData {
  layer: LayerReport;
  /** The report's verdict when thresholds changed it. */
  was?: string;
  grid?: GridState;
  filters?: FiltersState;
}

/** Largest heatmap drawn, in CSS pixels. */
const HEATMAP_MAX = 360;
/** Filters drawn as images at most (a first conv layer rarely has more). */
const MAX_FILTER_IMAGES = 128;

export class DetailPane {
  readonly element: HTMLElement;
  private histChart: Chart<'bar', number[], string> | undefined;

  constructor() {
    this.element = h('section', { class: 'detail', 'aria-label': 'Selected layer' });
    this.empty();
  }

  empty(): void {
    this.destroyCharts();
    clear(this.element);
    this.element.append(h('p', { class: 'muted detail-empty' }, 'Select a layer in the chart or the table to see its filters.'));
  }

  show(d: DetailData): void {
    this.destroyCharts();
    clear(this.element);
    const l = d.layer;
    const w = convWeight(l);
    this.element.append(
      h('header', { class: 'detail-head' },
        h('h2', { class: 'detail-title', title: l.name }, l.name),
        h('span', { class: 'tag' }, l.kind),
        h('span', { class: `verdict pill v-${l.verdict}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), VERDICT_LABEL[l.verdict]),
        d.was ? h('span', { class: 'muted was-note' }, `was ${d.was} with the report's thresholds`) : null),
      h('p', { class: 'detail-reason' }, l.reason),
      this.facts(l),
      this.paramsTable(l),
    );
    if (!w) {
      this.element.append(h('p', { class: 'muted' }, l.kind === 'bn'
        ? 'Batch norm layers are judged by their γ/β like a weight; their running statistics, measured in the layer\'s own units, decide between reuse and recalibrate (re-estimate them on target data, no training).'
        : 'Per-filter detail is shown for convolution layers.'));
      return;
    }
    if (w.filterRmse && w.filterRmse.length) this.element.append(this.histogramSection(w.filterRmse));
    this.element.append(this.heatmapSection(w, d.grid));
    if (canDrawFilters(l)) this.element.append(this.filtersSection(l, w, d.filters));
  }

  private destroyCharts(): void {
    this.histChart?.destroy();
    this.histChart = undefined;
  }

  private facts(l: LayerReport): HTMLElement {
    const row = (k: string, v: string, title?: string) => [h('dt', {}, k), h('dd', { title: title ?? v }, v)];
    const names = l.sourceName === l.targetName ? [...row('Tensors', `${l.sourceName ?? '—'}.*`)]
      : [...row('Source', l.sourceName ?? '— (not in the source)'), ...row('Target', l.targetName ?? '— (not in the target)')];
    return h('dl', { class: 'facts' },
      ...names,
      ...row('Matched by', l.matchedBy),
      ...row('Parameters', fmtCount(l.parameters), String(l.parameters)),
      ...row('Judged by', l.kind === 'bn' && l.bnStats ? 'γ/β, running statistics' : `${l.drivenBy ?? 'weight'}${l.judgedOn === 'scale-invariant' ? ', scale removed' : ''}`),
      ...(l.normalizedBy ? row('Normalized by', `${l.normalizedBy.layer} (found by ${l.normalizedBy.evidence})`) : []),
      ...invariantRows(l, row),
      ...(l.bnStats ? [
        ...row('Mean shift', `${fmt(l.bnStats.meanShift.rms)} std (largest ${fmt(l.bnStats.meanShift.max)})`, 'RMS over channels of |μ_t − μ_s| / sqrt(σ²_s + ε)'),
        ...row('Log variance ratio', `${fmt(l.bnStats.logVarRatio.rms)} (largest ${fmt(l.bnStats.logVarRatio.max)})`, 'RMS over channels of |ln((σ²_t + ε) / (σ²_s + ε))|'),
      ] : []),
    );
  }

  private paramsTable(l: LayerReport): HTMLElement {
    const head = h('tr', {}, ...['Parameter', 'Shape', 'RMSE', 'Rel. RMSE', 'Cosine', 'Max |Δ|'].map((t, i) => h('th', { class: i > 1 ? 'num' : '', scope: 'col' }, t)));
    const rows = l.params.map((p: ParamReport) => h('tr', { class: l.drivenBy === p.role ? 'drives' : '' },
      h('td', { title: `${p.sourceName ?? '—'} ↔ ${p.targetName ?? '—'}` }, p.role),
      h('td', {}, p.sourceShape && p.targetShape && p.sourceShape.join() !== p.targetShape.join() ? `${fmtShape(p.sourceShape)} → ${fmtShape(p.targetShape)}` : fmtShape(p.shape)),
      h('td', { class: 'num' }, fmt(p.rmse)), h('td', { class: 'num' }, fmt(p.relRmse)),
      h('td', { class: 'num' }, fmt(p.cosine)), h('td', { class: 'num' }, fmt(p.maxAbsDiff))));
    return h('table', { class: 'params', 'aria-label': `Parameters of ${l.name}` }, h('thead', {}, head), h('tbody', {}, ...rows));
  }

  private histogramSection(values: number[]): HTMLElement {
    const hist = histogram(values, binCount(values.length));
    let worst = -1;
    values.forEach((v, i) => { if (Number.isFinite(v) && (worst < 0 || v > values[worst])) worst = i; });
    const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
    const missing = values.length - sorted.length;
    const canvas = h('canvas', { role: 'img', 'aria-label': `Histogram of the RMSE of ${values.length} filters` });
    const sec = h('section', { class: 'detail-section' },
      h('h3', {}, 'Per-filter RMSE'),
      h('p', { class: 'muted small' }, `${values.length} filters · median ${fmt(median)}`
        + (worst >= 0 ? ` · largest ${fmt(values[worst])} (filter ${worst})` : '') + (missing ? ` · ${missing} without a value (NaN)` : '')),
      h('div', { class: 'hist-box' }, canvas));
    const t = readTheme();
    const labels = hist.counts.map((_, i) => fmt((hist.edges[i] + hist.edges[i + 1]) / 2));
    // The chart measures its box, so it is created once the section is in the document.
    queueMicrotask(() => {
      // Replaced before it was drawn (fast selection changes): draw nothing into a detached canvas.
      if (!canvas.isConnected) return;
      this.histChart?.destroy();
      this.histChart = new Chart(canvas, {
        type: 'bar',
        data: { labels, datasets: [{ data: hist.counts, backgroundColor: t.verdict['source-only'], categoryPercentage: 1, barPercentage: 0.95 }] },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          scales: {
            x: { ticks: { color: t.muted, maxRotation: 0, autoSkip: true, font: { size: 10 } }, grid: { display: false }, title: { display: true, text: 'filter RMSE', color: t.muted, font: { size: 11 } } },
            y: { beginAtZero: true, ticks: { color: t.muted, precision: 0, font: { size: 10 } }, grid: { color: t.grid }, title: { display: true, text: 'filters', color: t.muted, font: { size: 11 } } },
          },
          plugins: {
            tooltip: {
              backgroundColor: t.tooltipBg, titleColor: t.tooltipFg, bodyColor: t.tooltipFg, borderColor: t.tooltipBorder, borderWidth: 1, displayColors: false,
              callbacks: {
                title: (items: TooltipItem<'bar'>[]) => { const i = items[0]?.dataIndex ?? 0; return `RMSE ${fmt(hist.edges[i])} – ${fmt(hist.edges[i + 1])}`; },
                label: (item: TooltipItem<'bar'>) => `${item.raw as number} filters`,
              },
            },
          },
        },
      });
    });
    return sec;
  }

  private heatmapSection(w: ParamReport, state: GridState | undefined): HTMLElement {
    const sec = h('section', { class: 'detail-section' }, h('h3', {}, 'RMSE by filter and input channel'));
    const grid = w.filterGrid ?? (state?.status === 'ready' ? state.grid : null);
    if (!grid) {
      const msg = state?.status === 'error' ? `Could not load the grid: ${state.message}`
        : state?.status === 'loading' ? 'Loading the grid…'
        : state?.status === 'ready' ? 'No grid for this layer.' : 'No grid in this report.';
      sec.append(h('p', { class: 'muted small' }, msg));
      return sec;
    }
    const { pixels, max } = heatmapPixels(grid);
    // Cells may be wider than tall: a 64x3 grid should not be a hair-thin strip.
    const cellH = Math.max(1, Math.min(16, Math.floor(HEATMAP_MAX / grid.rows)));
    const cellW = Math.max(cellH, Math.min(40, Math.floor(HEATMAP_MAX / grid.cols)));
    const width = Math.min(HEATMAP_MAX, grid.cols * cellW), height = Math.min(HEATMAP_MAX, grid.rows * cellH);
    const canvas = h('canvas', { class: 'heatmap', width, height, role: 'img', 'aria-label': `Heatmap of ${grid.rows} filters by ${grid.cols} input channels, RMSE from 0 to ${fmt(max)}` });
    const src = document.createElement('canvas');
    src.width = grid.cols; src.height = grid.rows;
    src.getContext('2d')?.putImageData(new ImageData(pixels, grid.cols, grid.rows), 0, 0);
    const ctx = canvas.getContext('2d');
    if (ctx) { ctx.imageSmoothingEnabled = false; ctx.drawImage(src, 0, 0, width, height); }
    const readout = h('p', { class: 'muted small readout', 'aria-live': 'polite' }, 'Hover a cell to read its RMSE.');
    canvas.addEventListener('mousemove', (e) => {
      const r = canvas.getBoundingClientRect();
      const col = Math.floor(((e.clientX - r.left) / r.width) * grid.cols);
      const row = Math.floor(((e.clientY - r.top) / r.height) * grid.rows);
      if (row >= 0 && row < grid.rows && col >= 0 && col < grid.cols) readout.textContent = `filter ${row}, input channel ${col}: RMSE ${fmt(grid.values[row * grid.cols + col])}`;
    });
    const legend = h('canvas', { class: 'legend', width: 160, height: 10, 'aria-hidden': 'true' });
    const lc = legend.getContext('2d');
    if (lc) for (let x = 0; x < 160; x++) { const [r, g, b] = heatColor(x / 159); lc.fillStyle = `rgb(${r},${g},${b})`; lc.fillRect(x, 0, 1, 10); }
    sec.append(
      h('div', { class: 'heatmap-frame' },
        h('span', { class: 'axis-y muted small' }, `filters (${grid.rows}) ↓`),
        h('div', {}, h('span', { class: 'axis-x muted small' }, `input channels (${grid.cols}) →`), canvas)),
      h('div', { class: 'legend-row small muted' }, h('span', {}, '0'), legend, h('span', {}, fmt(max))),
      readout);
    return sec;
  }

  private filtersSection(l: LayerReport, w: ParamReport, state: FiltersState | undefined): HTMLElement {
    const sec = h('section', { class: 'detail-section' }, h('h3', {}, 'Filters: source | target'));
    if (!state || state.status === 'loading') { sec.append(h('p', { class: 'muted small' }, 'Reading the filters from the checkpoints…')); return sec; }
    if (state.status === 'error') { sec.append(h('p', { class: 'muted small' }, `Could not read the filters: ${state.message}`)); return sec; }
    const { source, target } = state;
    if (!source || !target) { sec.append(h('p', { class: 'muted small' }, 'The filters are not in both checkpoints.')); return sec; }
    const scale = sharedScale(source, target);
    const [out, , kh, kw] = source.shape;
    const n = Math.min(out, target.shape[0], MAX_FILTER_IMAGES);
    const px = Math.max(3, Math.floor(40 / Math.max(kh, kw)));
    const draw = (t: FilterTensor, o: number, label: string) => {
      const c = h('canvas', { class: 'filter-img', width: kw * px, height: kh * px, title: label });
      const small = document.createElement('canvas');
      small.width = kw; small.height = kh;
      small.getContext('2d')?.putImageData(new ImageData(filterPixels(t, o, scale), kw, kh), 0, 0);
      const ctx = c.getContext('2d');
      if (ctx) { ctx.imageSmoothingEnabled = false; ctx.drawImage(small, 0, 0, kw * px, kh * px); }
      return c;
    };
    const cells: HTMLElement[] = [];
    for (let o = 0; o < n; o++) {
      cells.push(h('figure', { class: 'filter-pair' },
        h('div', { class: 'filter-imgs' }, draw(source, o, `source filter ${o}`), draw(target, o, `target filter ${o}`)),
        h('figcaption', { class: 'small muted' }, `${o} · ${fmt(w.filterRmse?.[o])}`)));
    }
    sec.append(
      h('p', { class: 'muted small' }, `${source.shape[1] === 3 ? 'Input channels as red, green, blue' : 'Grey levels'}; mid grey is 0, one scale for both sides (±${fmt(scale)}). Caption: filter and its RMSE.${out > n ? ` First ${n} of ${out}.` : ''}`),
      h('div', { class: 'filters', role: 'list', 'aria-label': `Filters of ${l.name}` }, ...cells));
    return sec;
  }
}

/** The kernel's change with the normalization's scale removed, and the raw one beside it. */
function invariantRows(l: LayerReport, row: (k: string, v: string, title?: string) => HTMLElement[]): HTMLElement[] {
  const w = l.params.find((p) => p.role === 'weight');
  const inv = w?.scaleInvariant;
  if (!w || !inv) return [];
  return [
    ...row('Scale-invariant', `rel. RMSE ${fmt(inv.relRmse)} (raw ${fmt(w.relRmse)})`, inv.per === 'filter' ? 'RMSE of the unit-norm output filters relative to their RMS' : 'RMSE of the unit-norm kernel relative to its RMS'),
    ...row(inv.per === 'filter' ? 'Filter cosines' : 'Cosine', inv.per === 'filter' ? `mean ${fmt(inv.meanCosine)}, min ${fmt(inv.minCosine)}` : fmt(inv.meanCosine)),
  ];
}
