// The per-layer RMSE bar chart (chart.js, only the pieces it needs registered) with threshold
// lines drawn by a small plugin of ours, verdict colours from the theme, and click-to-select.
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Tooltip,
  type Plugin, type ChartEvent, type ChartType, type ActiveElement, type TooltipItem,
} from 'chart.js';
import type { LayerReport, Report } from '../../src/protocol';
import { chartSeries, type ChartMetric, type ChartSeries } from './chartModel';
import { fmt, fmtCount } from './format';
import { readTheme, VERDICT_LABEL, type ThemeColors } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Tooltip);

interface ThresholdLine { value: number; label: string; color: string }
interface ThresholdOptions { lines: ThresholdLine[]; font: string; color: string; selected: number; selectedColor: string }

declare module 'chart.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface PluginOptionsByType<TType extends ChartType> {
    reuseThresholds?: ThresholdOptions;
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

function isMajorLogTick(n: number): boolean {
  if (!(n > 0)) return false;
  const m = n / 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].some((k) => Math.abs(m - k) < 1e-6);
}

export interface RmseChartOptions {
  canvas: HTMLCanvasElement;
  onSelect(layerName: string): void;
}

export class RmseChart {
  private chart: Chart<'bar', (number | null)[], string> | undefined;
  private layers: LayerReport[] = [];
  private series: ChartSeries | undefined;
  private selected: string | undefined;
  private metric: ChartMetric = 'relRmse';
  private log = false;
  private theme: ThemeColors = readTheme();

  constructor(private readonly opts: RmseChartOptions) {}

  update(report: Report, metric: ChartMetric, logScale: boolean, selected: string | undefined): void {
    this.layers = [...report.layers].sort((a, b) => a.index - b.index);
    this.series = chartSeries(report, metric, logScale);
    this.selected = selected;
    this.metric = metric;
    const s = this.series;
    const t = this.theme;
    const colors = s.verdicts.map((v) => t.verdict[v]);
    // A border on every bar would eat thin bars whole (chart.js insets it): only on the selected one.
    const many = s.labels.length > 60;
    const border = s.labels.map((name) => (name === selected ? t.foreground : 'transparent'));
    const borderWidth = s.labels.map((name) => (name === selected && !many ? 2 : 0));
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
      return;
    }
    const c = this.chart;
    c.data.labels = s.labels;
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
    this.update(report, metric, logScale, this.selected);
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
        if (i !== undefined && this.layers[i]) this.opts.onSelect(this.layers[i].name);
      },
      onHover: (e: ChartEvent, els: ActiveElement[]) => {
        const target = e.native?.target;
        if (target instanceof HTMLElement) target.style.cursor = els.length ? 'pointer' : 'default';
      },
      scales: {
        x: {
          title: { display: this.layers.length > 40, text: 'layers in network order (hover for names)', color: t.muted, font: { size: 11 } },
          ticks: {
            color: t.muted, autoSkip: true, maxRotation: 50, minRotation: 0, font: { size: 11 },
            // Many layers: positions read better than a wall of rotated names.
            callback: (_v: string | number, i: number) => {
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
        reuseThresholds: { lines, font: t.font, color: t.foreground, selected: this.layers.findIndex((l) => l.name === this.selected), selectedColor: t.selection },
        tooltip: {
          backgroundColor: t.tooltipBg, titleColor: t.tooltipFg, bodyColor: t.tooltipFg, borderColor: t.tooltipBorder, borderWidth: 1,
          displayColors: false, padding: 8,
          callbacks: {
            title: (items: TooltipItem<'bar'>[]) => this.layers[items[0]?.dataIndex ?? -1]?.name ?? '',
            label: (item: TooltipItem<'bar'>) => this.tooltipLines(this.layers[item.dataIndex]),
          },
        },
      },
    };
  }

  private logMin(): number | undefined {
    const pos = (this.series?.values ?? []).filter((v): v is number => v !== null && v > 0);
    if (!pos.length) return undefined;
    return 10 ** Math.floor(Math.log10(Math.min(...pos)) - 0.3);
  }

  private tooltipLines(l: LayerReport | undefined): string[] {
    if (!l) return [];
    const w = l.params.find((p) => p.role === 'weight');
    return [
      `${VERDICT_LABEL[l.verdict]} · ${l.kind} · ${fmtCount(l.parameters)} params`,
      `RMSE ${fmt(l.kernelRmse)}   relative ${fmt(l.kernelRelRmse)}`,
      `cosine ${fmt(w?.cosine)}   max |Δ| ${fmt(w?.maxAbsDiff)}`,
      ...(this.series && this.series.values[l.index] === null ? ['no bar: no kernel metric for this layer'] : []),
      'click to show details',
    ];
  }

  get currentMetric(): ChartMetric { return this.metric; }
}
