// The per-layer RMSE bar chart (chart.js, only the pieces it needs registered) with threshold
// lines drawn by a small plugin of ours, verdict colours from the theme, and click-to-select.
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Tooltip,
  type Plugin, type ChartEvent, type ChartType, type ActiveElement, type TooltipItem,
} from 'chart.js';
import type { LayerReport, Report, Verdict } from '../../src/protocol';
import { chartGroups, chartSeries, chartThresholds, logFloor, metricOf, networkOrder, type ChartMetric, type ChartSeries } from './chartModel';
import { groupAt, groupStats, type DepthGroup, type GroupStats } from './depthGroups';
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
  /** A group bar was clicked: show its layers (grouped again when still many). */
  onZoom(group: DepthGroup): void;
}

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

  constructor(private readonly opts: RmseChartOptions) {}

  /** How many bars the chart draws, and whether they are groups of layers. */
  get shape(): { bars: number; grouped: boolean } { return { bars: this.groups?.length ?? this.layers.length, grouped: !!this.groups }; }

  update(report: Report, metric: ChartMetric, logScale: boolean, selected: string | undefined, range?: ChartRange, force = false): void {
    // Nothing the chart shows changed (a filter keystroke, a table sort): no redraw.
    const key = [report, report.layers.length, metric, logScale, selected, range?.start, range?.end, this.theme];
    if (!force && this.chart && key.every((k, i) => k === this.drawnKey[i])) return;
    this.drawnKey = key;
    this.ordered = networkOrder(report);
    const start = range?.start ?? 0, end = range?.end ?? this.ordered.length;
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
      return;
    }
    const c = this.chart;
    c.data.labels = s.labels;
    this.describe();
    const ds = c.data.datasets[0];
    ds.data = s.values; ds.backgroundColor = colors; ds.borderColor = border; ds.borderWidth = borderWidth;
    c.options = this.options(logScale, yTitle, lines);
    c.update('none');
  }

  /** Re-reads the theme's colours (VS Code changes body classes and variables on theme switch). */
  retheme(report: Report, metric: ChartMetric, logScale: boolean): void {
    this.theme = readTheme();
    this.chart?.destroy();
    this.chart = undefined;
    this.update(report, metric, logScale, this.selected, this.range(), true);
  }

  /**
   * Says what the canvas draws, for screen readers (its label) and for the end-to-end suite (where
   * the bars are: data-bars, and data-area = the plot's left and right edge in CSS pixels).
   */
  private describe(): void {
    const canvas = this.opts.canvas;
    const n = this.series?.labels.length ?? 0;
    canvas.setAttribute('aria-label', this.groups
      ? `Kernel RMSE of ${fmtCount(this.groups[this.groups.length - 1].end - this.groups[0].start)} layers in ${n} groups by name, in network order: median bars with min–max whiskers, coloured by verdict; click a group to zoom in`
      : 'Kernel RMSE per layer in network order, coloured by verdict; click a bar to select the layer');
    canvas.dataset.bars = String(n);
    canvas.dataset.grouped = this.groups ? 'true' : 'false';
    const area = this.chart?.chartArea;
    if (area) canvas.dataset.area = `${Math.round(area.left)},${Math.round(area.right)}`;
  }

  private range(): ChartRange | undefined {
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
        const i = els[0]?.index;
        if (i === undefined) return;
        const g = this.groups?.[i];
        if (g) {
          if (g.end - g.start === 1) this.opts.onSelect(this.ordered[g.start].name);
          else this.opts.onZoom(g);
        } else if (this.layers[i]) this.opts.onSelect(this.layers[i].name);
      },
      onHover: (e: ChartEvent, els: ActiveElement[]) => {
        const target = e.native?.target;
        if (target instanceof HTMLElement) target.style.cursor = els.length ? 'pointer' : 'default';
      },
      scales: {
        x: {
          title: {
            display: !!this.groups || this.layers.length > 40,
            text: this.groups ? 'groups of layers by name, in network order: bar = median, whisker = min–max, strip = verdicts (click to zoom in)' : 'layers in network order (hover for names)',
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
