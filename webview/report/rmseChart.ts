// The per-layer RMSE bar chart (chart.js, only the pieces it needs registered) with threshold
// lines drawn by a small plugin of ours, verdict colours from the theme, and click-to-select.
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Tooltip,
  type Plugin, type ChartEvent, type ChartType, type ActiveElement, type TooltipItem,
} from 'chart.js';
import type { LayerReport, Report, Verdict } from '../../src/protocol';
import { chartGroups, chartSeries, chartThresholds, logFloor, metricOf, networkOrder, type ChartMetric, type ChartSeries } from './chartModel';
import { groupAt, groupStats, type DepthGroup, type GroupStats } from './depthGroups';
import { barAt, barCount, barsExtent, moveRange, rangeAction, rangeSpan, type BarRange, type Bars, type RangeKey } from './chartRange';
import { VERDICT_ORDER } from './tableModel';
import { fmt, fmtCount } from './format';
import { readTheme, VERDICT_LABEL, type ThemeColors } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Tooltip);

interface ThresholdLine { value: number; label: string; color: string }
interface GroupOptions { stats?: GroupStats[]; colors: Record<Verdict, string>; whisker: string }
interface ThresholdOptions { lines: ThresholdLine[]; font: string; color: string; selected: number; selectedColor: string }

declare module 'chart.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface PluginOptionsByType<TType extends ChartType> {
    reuseThresholds?: ThresholdOptions;
    reuseGroups?: GroupOptions;
  }
}

/** Dashed horizontal lines with a label at the right end, drawn over the bars. */
const thresholdLines: Plugin<'bar'> = {
  id: 'reuseThresholds',
  // The selected layer: a band behind its bar, visible even when 500 bars are 2 px wide.
  beforeDatasetsDraw(chart, _args, options) {
    const opts = options as Partial<ThresholdOptions>;
    if (opts.selected === undefined || opts.selected < 0) return;
    const x = chart.scales.x;
    const n = chart.data.labels?.length ?? 0;
    if (!n) return;
    const cx = x.getPixelForValue(opts.selected);
    const half = Math.max(3, (chart.chartArea.right - chart.chartArea.left) / n / 2);
    const { ctx, chartArea: area } = chart;
    ctx.save();
    ctx.fillStyle = opts.selectedColor ?? 'rgba(0,127,212,0.25)';
    ctx.globalAlpha = 0.25;
    ctx.fillRect(cx - half, area.top, half * 2, area.bottom - area.top);
    ctx.restore();
  },
  afterDatasetsDraw(chart, _args, options) {
    const opts = options as Partial<ThresholdOptions>;
    if (!opts.lines || !opts.lines.length) return;
    const { ctx, chartArea: area, scales } = chart;
    const y = scales.y;
    ctx.save();
    for (const line of opts.lines) {
      const py = y.getPixelForValue(line.value);
      if (!Number.isFinite(py) || py < area.top - 0.5 || py > area.bottom + 0.5) continue;
      ctx.strokeStyle = line.color;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([6, 4]);
      ctx.beginPath(); ctx.moveTo(area.left, py); ctx.lineTo(area.right, py); ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `11px ${opts.font ?? 'sans-serif'}`;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      ctx.fillStyle = line.color;
      ctx.fillText(line.label, area.right - 4, py - 2);
    }
    ctx.restore();
  },
};
Chart.register(thresholdLines);

/**
 * Grouped bars (a large network): a min–max whisker over each median bar, and along the bottom
 * of each bar's slot a strip split by the group's verdicts, so a group of 700 fine-tune and 60
 * retrain layers shows both.
 */
const groupMarks: Plugin<'bar'> = {
  id: 'reuseGroups',
  afterDatasetsDraw(chart, _args, options) {
    const opts = options as Partial<GroupOptions>;
    const stats = opts.stats;
    if (!stats?.length || !opts.colors) return;
    const { ctx, chartArea: area, scales } = chart;
    const y = scales.y;
    const bars = chart.getDatasetMeta(0).data as unknown as { x: number; width: number }[];
    ctx.save();
    ctx.strokeStyle = opts.whisker ?? '#888';
    ctx.lineWidth = 1;
    for (let i = 0; i < stats.length; i++) {
      const st = stats[i], bar = bars[i];
      if (!bar) continue;
      const w = Math.max(2, bar.width);
      if (st.min !== null && st.max !== null && st.max > st.min) {
        const top = Math.max(area.top, y.getPixelForValue(st.max));
        const bottom = Math.min(area.bottom, Math.max(area.top, y.getPixelForValue(Math.max(st.min, y.min))));
        ctx.beginPath();
        ctx.moveTo(bar.x, top); ctx.lineTo(bar.x, bottom);
        if (w >= 6) { ctx.moveTo(bar.x - w / 4, top); ctx.lineTo(bar.x + w / 4, top); ctx.moveTo(bar.x - w / 4, bottom); ctx.lineTo(bar.x + w / 4, bottom); }
        ctx.stroke();
      }
      let x = bar.x - w / 2;
      for (const v of VERDICT_ORDER) {
        const c = st.counts[v];
        if (!c) continue;
        const part = (w * c) / st.layers;
        ctx.fillStyle = opts.colors[v];
        ctx.fillRect(x, area.bottom - 4, part, 4);
        x += part;
      }
    }
    ctx.restore();
  },
};
Chart.register(groupMarks);

function isMajorLogTick(n: number): boolean {
  if (!(n > 0)) return false;
  const m = n / 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].some((k) => Math.abs(m - k) < 1e-6);
}

export interface RmseChartOptions {
  canvas: HTMLCanvasElement;
  onSelect(layerName: string): void;
  /** A group bar was clicked, or a range of bars chosen: show those layers (grouped again when still many). */
  onZoom(group: DepthGroup): void;
  /** Escape on the chart with no range chosen: one zoom step back. */
  onZoomOut(): void;
}

/** A press that moves less than this (CSS pixels) before it is let go is a click, not a drag. */
const DRAG_PX = 4;
const KEYS: Record<string, RangeKey> = { ArrowLeft: 'left', ArrowRight: 'right', Home: 'home', End: 'end', PageUp: 'pageLeft', PageDown: 'pageRight' };

/** A stretch of the network shown by the chart: [start, end) of the layers in network order. */
export interface ChartRange { start: number; end: number }


export class RmseChart {
  private chart: Chart<'bar', (number | null)[], string> | undefined;
  /** One bar per layer: the layers drawn. */
  private layers: LayerReport[] = [];
  /** Grouped bars (more than MAX_BARS layers in the range): the groups and their numbers. */
  private groups: DepthGroup[] | undefined;
  private stats: GroupStats[] = [];
  private ordered: LayerReport[] = [];
  /** Leading name segments every group label shares (left out of the axis labels). */
  private sharedSegments = 0;
  private drawnKey: unknown[] = [];
  private series: ChartSeries | undefined;
  private selected: string | undefined;
  private metric: ChartMetric = 'relRmse';
  private log = false;
  private theme: ThemeColors = readTheme();
  /** Position (network order) of the first layer drawn: bar i of a per-layer chart is layer start + i. */
  private start = 0;
  /** Bars chosen by a drag or Shift+arrows, not yet zoomed into. */
  private range: BarRange | undefined;
  /** A press on the chart: where it started (CSS x), and whether it has become a drag. */
  private press: { x: number; id: number; dragging: boolean } | undefined;
  /** The click the browser sends after a drag ends is not a click on a bar. */
  private swallowClick = false;
  /** The band over the chosen bars (a DOM box over the canvas: moving it redraws nothing). */
  readonly brush: HTMLElement = document.createElement('div');
  /** Says what is chosen and which keys do what (read by screen readers). */
  readonly status: HTMLElement = document.createElement('p');

  constructor(private readonly opts: RmseChartOptions) {
    this.brush.className = 'chart-brush';
    this.brush.hidden = true;
    this.brush.setAttribute('aria-hidden', 'true');
    this.status.className = 'chart-range-status small muted';
    this.status.setAttribute('aria-live', 'polite');
    const c = opts.canvas;
    c.tabIndex = 0;
    c.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    c.addEventListener('pointermove', (e) => this.onPointerMove(e));
    c.addEventListener('pointerup', (e) => this.onPointerUp(e));
    c.addEventListener('pointercancel', () => { if (this.press?.dragging) this.setTooltip(true); this.press = undefined; this.range = undefined; this.showRange(undefined); });
    c.addEventListener('keydown', (e) => this.onKey(e));
    // Focus from the keyboard: the band shows where the arrow keys start (the selected layer's bar).
    c.addEventListener('focus', () => {
      if (!this.range && this.chart && c.matches(':focus-visible')) { const at = Math.max(0, this.selectedBar()); this.range = { anchor: at, focus: at }; }
      this.showRange(this.range);
    });
    c.addEventListener('blur', () => { if (!this.press) { this.range = undefined; this.showRange(undefined); } });
  }

  /** How many bars the chart draws, and whether they are groups of layers. */
  get shape(): { bars: number; grouped: boolean } { return { bars: this.groups?.length ?? this.layers.length, grouped: !!this.groups }; }

  update(report: Report, metric: ChartMetric, logScale: boolean, selected: string | undefined, range?: ChartRange, force = false): void {
    // Nothing the chart shows changed (a filter keystroke, a table sort): no redraw.
    const key = [report, report.layers.length, metric, logScale, selected, range?.start, range?.end, this.theme];
    if (!force && this.chart && key.every((k, i) => k === this.drawnKey[i])) return;
    this.drawnKey = key;
    this.ordered = networkOrder(report);
    const start = range?.start ?? 0, end = range?.end ?? this.ordered.length;
    this.start = start;
    // Other bars now: a range chosen over the old ones means nothing.
    this.range = undefined;
    this.groups = chartGroups(this.ordered, start, end);
    if (!this.groups) {
      this.stats = [];
      this.layers = this.ordered.slice(start, end);
      this.series = chartSeries(report, metric, logScale, this.layers);
    } else {
      this.layers = [];
      this.stats = this.groups.map((g) => groupStats(this.ordered, g, (l) => metricOf(l, metric)));
      const segs = this.groups.map((g) => g.label.split('.'));
      let k = 0;
      while (segs.every((x) => k < x.length - 1 && x[k] === segs[0][k])) k++;
      this.sharedSegments = k;
      const medians = this.stats.map((x) => x.median);
      const floor = logFloor(medians);
      this.series = {
        labels: this.groups.map((g) => g.label),
        values: medians.map((v) => (v === null ? null : logScale && v <= 0 ? floor : v)),
        verdicts: this.stats.map((x) => x.major),
        thresholds: chartThresholds(report, metric),
        missing: 0,
      };
    }
    this.selected = selected;
    this.metric = metric;
    const s = this.series;
    const t = this.theme;
    const colors = s.verdicts.map((v) => t.verdict[v]);
    // A border on every bar would eat thin bars whole (chart.js insets it): only on the selected one.
    const many = s.labels.length > 60;
    const border = s.labels.map((name) => (name === selected && !this.groups ? t.foreground : 'transparent'));
    const borderWidth = s.labels.map((name) => (name === selected && !many && !this.groups ? 2 : 0));
    const lines: ThresholdLine[] = s.thresholds.map((x) => ({ value: x.value, label: x.label, color: t.verdict[x.verdict] }));
    const yTitle = metric === 'relRmse' ? 'kernel relative RMSE' : 'kernel RMSE';
    // chart.js does not swap a scale's type in place (bars vanish): rebuild on a log toggle.
    if (this.chart && this.log !== logScale) { this.chart.destroy(); this.chart = undefined; }
    this.log = logScale;
    if (!this.chart) {
      Chart.defaults.font.family = t.font;
      this.chart = new Chart(this.opts.canvas, {
        type: 'bar',
        data: { labels: s.labels, datasets: [{ data: s.values, backgroundColor: colors, borderColor: border, borderWidth: 2, borderSkipped: false, categoryPercentage: 0.9, barPercentage: 0.9, minBarLength: 2 }] },
        options: this.options(logScale, yTitle, lines),
      });
      this.describe();
      this.showRange(undefined);
      return;
    }
    const c = this.chart;
    c.data.labels = s.labels;
    this.describe();
    const ds = c.data.datasets[0];
    ds.data = s.values; ds.backgroundColor = colors; ds.borderColor = border; ds.borderWidth = borderWidth;
    c.options = this.options(logScale, yTitle, lines);
    c.update('none');
    this.showRange(undefined);
  }

  /** Re-reads the theme's colours (VS Code changes body classes and variables on theme switch). */
  retheme(report: Report, metric: ChartMetric, logScale: boolean): void {
    this.theme = readTheme();
    this.chart?.destroy();
    this.chart = undefined;
    this.update(report, metric, logScale, this.selected, this.drawnRange(), true);
  }

  /**
   * Says what the canvas draws, for screen readers (its label) and for the end-to-end suite (where
   * the bars are: data-bars, and data-area = the plot's left and right edge in CSS pixels).
   */
  private describe(): void {
    const canvas = this.opts.canvas;
    const n = this.series?.labels.length ?? 0;
    canvas.setAttribute('aria-label', this.groups
      ? `Kernel RMSE of ${fmtCount(this.groups[this.groups.length - 1].end - this.groups[0].start)} layers in ${n} groups by name, in network order: median bars with min–max whiskers, coloured by verdict; click a group to zoom in, drag across groups (or Shift+arrow keys, then Enter) to zoom into a range`
      : 'Kernel RMSE per layer in network order, coloured by verdict; click a bar to select the layer, drag across bars (or Shift+arrow keys, then Enter) to zoom into a range');
    canvas.dataset.bars = String(n);
    canvas.dataset.grouped = this.groups ? 'true' : 'false';
    const area = this.chart?.chartArea;
    if (area) canvas.dataset.area = `${Math.round(area.left)},${Math.round(area.right)}`;
  }

  private drawnRange(): ChartRange | undefined {
    const r = this.drawnKey;
    return typeof r[5] === 'number' && typeof r[6] === 'number' ? { start: r[5], end: r[6] } : undefined;
  }

  /** The bar of the selected layer: its own, or its group's. */
  private selectedBar(): number {
    if (!this.selected) return -1;
    if (!this.groups) return this.layers.findIndex((l) => l.name === this.selected);
    const at = this.ordered.findIndex((l) => l.name === this.selected);
    return at < 0 ? -1 : groupAt(this.groups, at);
  }

  private options(logScale: boolean, yTitle: string, lines: ThresholdLine[]) {
    const t = this.theme;
    return {
      animation: false as const,
      responsive: true,
      maintainAspectRatio: false,
      color: t.foreground,
      interaction: { mode: 'index' as const, intersect: false },
      onClick: (_e: ChartEvent, els: ActiveElement[]) => {
        if (this.swallowClick) { this.swallowClick = false; return; }
        const i = els[0]?.index;
        // A click on a bar is a range of one bar: a group zooms in, a layer is selected.
        if (i !== undefined) this.choose({ anchor: i, focus: i });
      },
      onHover: (e: ChartEvent, els: ActiveElement[]) => {
        const target = e.native?.target;
        if (target instanceof HTMLElement) target.style.cursor = els.length ? 'pointer' : 'default';
      },
      scales: {
        x: {
          title: {
            display: !!this.groups || this.layers.length > 40,
            text: this.groups ? 'groups of layers by name, in network order: bar = median, whisker = min–max, strip = verdicts (click to zoom in, drag across to zoom into a range)' : 'layers in network order (hover for names, drag across to zoom into a range)',
            color: t.muted, font: { size: 11 },
          },
          ticks: {
            color: t.muted, autoSkip: true, maxRotation: 50, minRotation: 0, font: { size: 11 },
            // Many layers: positions read better than a wall of rotated names.
            callback: (_v: string | number, i: number) => {
              if (this.groups) {
                // The part after what every group shares: `12.mlp.experts.*`, not `…rs.12.mlp.experts.*` 192 times.
                const l = (this.groups[i]?.label ?? '').split('.').slice(this.sharedSegments).join('.');
                return l.length > 22 ? `…${l.slice(-21)}` : l;
              }
              const name = this.layers[i]?.name ?? '';
              if (this.layers.length > 40) return String(i);
              return name.length > 22 ? `…${name.slice(-21)}` : name;
            },
          },
          grid: { display: false },
          border: { color: t.grid },
        },
        y: {
          type: logScale ? ('logarithmic' as const) : ('linear' as const),
          beginAtZero: !logScale,
          // A log axis starts a decade below the smallest bar, so small distances still show as bars.
          min: logScale ? this.logMin() : undefined,
          title: { display: true, text: yTitle + (logScale ? ' (log scale)' : ''), color: t.muted, font: { size: 11 } },
          ticks: {
            color: t.muted, font: { size: 11 }, autoSkip: !logScale,
            callback: (v: string | number) => {
              const n = Number(v);
              // Log axes label every minor tick: keep 1, 2, 5 of each decade only.
              if (logScale && !isMajorLogTick(n)) return '';
              return fmt(n);
            },
          },
          // Log axes: grid lines at 1, 2, 5 of each decade only; the rest is noise.
          grid: { color: (ctx: { tick?: { value: number } }) => (logScale && ctx.tick && !isMajorLogTick(ctx.tick.value) ? 'transparent' : t.grid) },
          border: { color: t.grid },
        },
      },
      plugins: {
        reuseThresholds: { lines, font: t.font, color: t.foreground, selected: this.selectedBar(), selectedColor: t.selection },
        reuseGroups: { stats: this.groups ? this.stats : undefined, colors: t.verdict, whisker: t.foreground },
        tooltip: {
          backgroundColor: t.tooltipBg, titleColor: t.tooltipFg, bodyColor: t.tooltipFg, borderColor: t.tooltipBorder, borderWidth: 1,
          displayColors: false, padding: 8,
          callbacks: {
            title: (items: TooltipItem<'bar'>[]) => (this.groups ? this.groups[items[0]?.dataIndex ?? -1]?.label : this.layers[items[0]?.dataIndex ?? -1]?.name) ?? '',
            label: (item: TooltipItem<'bar'>) => (this.groups ? this.groupLines(item.dataIndex) : this.tooltipLines(this.layers[item.dataIndex])),
          },
        },
      },
    };
  }

  private logMin(): number | undefined {
    // Grouped bars: the whiskers' low ends too.
    const pos = [...(this.series?.values ?? []), ...this.stats.map((x) => x.min)].filter((v): v is number => v !== null && v > 0);
    if (!pos.length) return undefined;
    return 10 ** Math.floor(Math.log10(Math.min(...pos)) - 0.3);
  }

  private groupLines(i: number): string[] {
    const g = this.groups?.[i], st = this.stats[i];
    if (!g || !st) return [];
    if (st.layers === 1) return this.tooltipLines(this.ordered[g.start]);
    const name = this.metric === 'relRmse' ? 'relative RMSE' : 'RMSE';
    const counts = VERDICT_ORDER.filter((v) => st.counts[v]).map((v) => `${VERDICT_LABEL[v]} ${st.counts[v]}`).join(' · ');
    return [
      `${fmtCount(st.layers)} layers (#${this.ordered[g.start].index}–#${this.ordered[g.end - 1].index})`,
      st.median === null ? `no kernel ${name}` : `${name}: median ${fmt(st.median)}, min ${fmt(st.min)}, max ${fmt(st.max)}`,
      counts,
      'click to zoom in',
    ];
  }

  /** The bars drawn, for choosing a range of them. */
  private bars(): Bars {
    return this.groups ? { groups: this.groups } : { start: this.start, names: this.layers.map((l) => l.name) };
  }

  /** The bar under a pointer event, from the plot area chart.js laid out. */
  private barOf(e: PointerEvent): number {
    const area = this.chart?.chartArea;
    return area ? barAt(e.offsetX, area.left, area.right, barCount(this.bars())) : 0;
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0 || !this.chart) return;
    this.press = { x: e.offsetX, id: e.pointerId, dragging: false };
  }

  private onPointerMove(e: PointerEvent): void {
    const p = this.press;
    if (!p || p.id !== e.pointerId) return;
    if (!p.dragging) {
      if (Math.abs(e.offsetX - p.x) < DRAG_PX) return;
      p.dragging = true;
      // Keep the drag when the pointer leaves the canvas.
      this.opts.canvas.setPointerCapture(e.pointerId);
      this.setTooltip(false);
      const area = this.chart!.chartArea;
      const at = barAt(p.x, area.left, area.right, barCount(this.bars()));
      this.range = { anchor: at, focus: at };
    }
    // Esc (or a redraw) dropped the range mid-drag: nothing to extend until the next press.
    if (!this.range) return;
    this.range = { anchor: this.range.anchor, focus: this.barOf(e) };
    this.showRange(this.range);
  }

  /** No tooltip while a drag chooses bars: it would sit over the band. */
  private setTooltip(on: boolean): void {
    const c = this.chart;
    const t = c?.options.plugins?.tooltip;
    if (!c || !t || t.enabled === on) return;
    t.enabled = on;
    if (!on) c.tooltip?.setActiveElements([], { x: 0, y: 0 });
    c.update('none');
  }

  private onPointerUp(e: PointerEvent): void {
    const p = this.press;
    this.press = undefined;
    if (p?.dragging) this.setTooltip(true);
    if (!p || p.id !== e.pointerId || !p.dragging) return;
    // The browser follows with a click on the canvas: not a click on a bar (cleared if none comes),
    // also when the range was dropped mid-drag.
    this.swallowClick = true;
    setTimeout(() => { this.swallowClick = false; }, 0);
    if (this.range) this.choose(this.range);
  }

  private onKey(e: KeyboardEvent): void {
    const n = barCount(this.bars());
    const key = KEYS[e.key];
    if (key && n > 0) {
      e.preventDefault();
      // Where a new range starts: the selected layer's bar (a search of every layer: only then).
      this.range = moveRange(this.range, key, e.shiftKey, n, this.range ? 0 : Math.max(0, this.selectedBar()));
      this.showRange(this.range);
    } else if ((e.key === 'Enter' || e.key === ' ') && this.range) {
      e.preventDefault();
      this.choose(this.range);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      if (this.range) { this.range = undefined; this.showRange(undefined); } else this.opts.onZoomOut();
    }
  }

  /** Zoom into the chosen bars (or select the one layer chosen). */
  private choose(r: BarRange): void {
    const [lo, hi] = rangeSpan(r);
    const action = rangeAction(this.bars(), lo, hi);
    this.range = undefined;
    this.showRange(undefined);
    if (action?.kind === 'zoom') this.opts.onZoom(action.group);
    else if (action?.kind === 'select') this.opts.onSelect(this.ordered[action.at].name);
  }

  /** The band over the chosen bars and the line that says what they hold (hidden: none chosen). */
  private showRange(r: BarRange | undefined): void {
    const area = this.chart?.chartArea;
    const bars = this.bars();
    const n = barCount(bars);
    // The key hints only for keyboard focus (a click focuses the canvas too).
    const focused = document.activeElement === this.opts.canvas && this.opts.canvas.matches(':focus-visible');
    if (!r || !area || n === 0) {
      this.brush.hidden = true;
      this.status.textContent = focused && n > 0 ? '←/→ move over the bars, Shift+←/→ choose a range, Enter zooms in, Esc zooms out.' : '';
      this.status.hidden = !this.status.textContent;
      return;
    }
    const [lo, hi] = rangeSpan(r);
    const [x0, x1] = barsExtent(lo, hi, area.left, area.right, n);
    const s = this.brush.style;
    s.left = `${x0}px`; s.width = `${Math.max(2, x1 - x0)}px`;
    s.top = `${area.top}px`; s.height = `${area.bottom - area.top}px`;
    this.brush.hidden = false;
    const first = 'groups' in bars ? bars.groups[lo].start : bars.start + lo;
    const end = 'groups' in bars ? bars.groups[hi].end : bars.start + hi + 1;
    const name = (i: number) => ('groups' in bars ? bars.groups[i].label : bars.names[i]);
    const action = rangeAction(bars, lo, hi);
    const what = lo === hi ? name(lo) : `${name(lo)} … ${name(hi)} (${hi - lo + 1} bars)`;
    const how = this.press ? 'Let go' : 'Enter';
    const does = action?.kind === 'zoom' ? `${how} to zoom in` : action?.kind === 'select' ? `${how} to select it` : 'All bars are shown already';
    this.status.textContent = `${what}: ${(end - first).toLocaleString('en')} layer${end - first === 1 ? '' : 's'}. ${does}${this.press ? '' : ', Esc to clear'}.`;
    this.status.hidden = false;
  }

  private tooltipLines(l: LayerReport | undefined): string[] {
    if (!l) return [];
    const w = l.params.find((p) => p.role === 'weight');
    return [
      `${VERDICT_LABEL[l.verdict]} · ${l.kind} · ${fmtCount(l.parameters)} params`,
      `RMSE ${fmt(l.kernelRmse)}   relative ${fmt(l.kernelRelRmse)}`,
      `cosine ${fmt(w?.cosine)}   max |Δ| ${fmt(w?.maxAbsDiff)}`,
      ...(metricOf(l, this.metric) === null ? ['no bar: no kernel metric for this layer'] : []),
      'click to show details',
    ];
  }

  get currentMetric(): ChartMetric { return this.metric; }
}
