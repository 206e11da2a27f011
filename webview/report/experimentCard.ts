// The replacement experiment in the report panel: the button that runs it, the measured network
// verdict, a chart of Δmetric per replaced layer in network order, a scatter of Δmetric against
// the kernel's relative RMSE, and per layer the paper's two conditions side by side.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, ScatterController, PointElement, Tooltip,
  type TooltipItem,
} from 'chart.js';
import type { ExperimentResult, Report } from '../../src/protocol';
import { architectureRuntime } from '../../src/protocol';
import { h, clear } from './dom';
import { fmt } from './format';
import {
  conditionRows, fmtDelta, fmtValue, metricName, rmseHarmCorrelation, scatterPoints, toleranceText, type ConditionRow,
} from './experimentModel';
import { readTheme, VERDICT_LABEL, type ThemeColors } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, ScatterController, PointElement, Tooltip);

export interface ExperimentCardEvents {
  onRun(): void;
  onSelect(layer: string): void;
}

export class ExperimentCard {
  readonly element: HTMLElement;
  private readonly button = h('vscode-button', { title: 'Evaluate the target with source parameters put in, layer by layer, in your own PyTorch (trusted workspaces only)' }, 'Run Replacement Experiment');
  private readonly body = h('div', { class: 'experiment-body' });
  private deltaChart: Chart<'bar', number[], string> | undefined;
  private scatter: Chart<'scatter', { x: number; y: number }[]> | undefined;
  private shown: unknown[] = [];
  private theme: ThemeColors = readTheme();

  constructor(private readonly events: ExperimentCardEvents) {
    this.button.addEventListener('click', () => this.events.onRun());
    this.element = h('section', { class: 'card experiment-card', 'aria-label': 'Replacement experiment' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Replacement experiment'), this.button),
      this.body);
  }

  /** Redraws when the result, the running state or the live verdicts changed. */
  update(report: Report, result: ExperimentResult | null, running: boolean, force = false): void {
    const runtime = runtimeWords(report);
    this.button.title = runtime
      ? `Evaluate the target with source parameters put in, layer by layer, in ${runtime}: the network is built from ${fileName(report.target.path)}, only an evaluation set (.npz or image folder) is asked for`
      : 'Evaluate the target with source parameters put in, layer by layer, in your own PyTorch (trusted workspaces only)';
    this.button.toggleAttribute('disabled', running);
    this.button.textContent = running ? 'Running…' : result ? 'Run Again' : 'Run Replacement Experiment';
    // The same objects: nothing to redraw (a re-judged report is a new object; 50,000 verdicts are not compared).
    const key = [result, running, report, report.layers.length];
    if (!force && key.every((k, i) => k === this.shown[i])) return;
    this.shown = key;
    this.destroyCharts();
    clear(this.body);
    if (!result) {
      this.body.append(h('p', { class: 'muted' }, running
        ? `Evaluating the target model in ${runtime ?? 'your Python'}: the baseline, then each layer, each parameter role and the reuse set replaced by the source's. Progress and Cancel are in the notification.`
        : 'The RMSE verdicts are the paper\'s second condition. This measures its first: does reusing the source\'s parameters keep the target\'s performance? ' + (runtime
          ? `It builds the network from ${fileName(report.target.path)} in ${runtime} and evaluates it on an evaluation set you pick (an .npz with x and y, or a folder of images in class subfolders; kept in the folder's settings). None of your code runs.`
          : 'It runs your model factory and evaluation data (asked once, kept in the folder\'s settings) in your own PyTorch.')));
      return;
    }
    this.render(report, result);
  }

  retheme(report: Report, result: ExperimentResult | null, running: boolean): void {
    this.theme = readTheme();
    this.update(report, result, running, true);
  }

  private render(report: Report, x: ExperimentResult): void {
    const m = x.metric;
    const rows = conditionRows(report, x);
    const n = x.network;
    const cls = n.verdict === 'reusable' ? 'v-reuse' : n.verdict === 'partly reusable' ? 'v-fine-tune' : 'v-retrain';
    const rho = rmseHarmCorrelation(m, rows);
    const agree = rows.filter((r) => r.rmseSmall === r.keeps).length;
    this.body.append(
      h('div', { class: 'network' },
        h('span', { class: `network-verdict ${cls}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), `Measured: ${n.verdict}`),
        h('span', { class: 'tag', title: 'Judged from replacement experiments on your evaluation data' }, 'measured')),
      h('p', { class: 'network-reason experiment-reason' }, n.reason),
      h('p', { class: 'muted small experiment-meta' },
        `${metricName(m)} on ${x.samples} samples · baseline (target as is) ${fmtValue(m, x.baseline.value)} · tolerance ${toleranceText(x)} · `
        + (x.runtime ? `model from ${fileName(x.target)}, data ${fileName(x.data)} · ${x.runtime}` : `${x.model}, ${x.data} · torch ${x.torch} on ${x.device}`)
        + ` · ${(x.durationMs / 1000).toFixed(1)} s`),
      h('p', { class: 'small experiment-agreement' },
        `The two conditions agree on ${agree} of ${rows.length} layers`
        + (rho === null ? '.' : `; rank correlation (Spearman) of relative RMSE with the ${m.higherIsBetter ? `${metricName(m)} lost` : 'loss gained'}: ρ = ${rho.toFixed(2)}.`)),
    );
    const deltaCanvas = h('canvas', { role: 'img', 'aria-label': `Change of ${metricName(m)} per replaced layer in network order` });
    const scatterCanvas = h('canvas', { role: 'img', 'aria-label': `Change of ${metricName(m)} against kernel relative RMSE, one point per layer` });
    this.body.append(h('div', { class: 'experiment-charts' },
      h('figure', { class: 'experiment-figure' }, h('div', { class: 'experiment-chart-box' }, deltaCanvas), h('figcaption', { class: 'muted small' }, `Δ ${metricName(m)} with the layer replaced, in network order`)),
      h('figure', { class: 'experiment-figure' }, h('div', { class: 'experiment-chart-box' }, scatterCanvas), h('figcaption', { class: 'muted small' }, `Δ ${metricName(m)} against the kernel's relative RMSE`))));
    this.body.append(this.conditionsTable(x, rows), this.groupsTable(x));
    this.drawDelta(deltaCanvas, x, rows);
    this.drawScatter(scatterCanvas, x, rows);
  }

  private conditionsTable(x: ExperimentResult, rows: ConditionRow[]): HTMLElement {
    const m = x.metric;
    const head = h('tr', {}, ...['Layer', 'Rel. RMSE', 'RMSE verdict', 'RMSE small (cond. 2)', `${metricName(m)} replaced`, `Δ ${m.name === 'accuracy' ? 'points' : ''}`.trim(), 'Keeps performance (cond. 1)']
      .map((t) => h('th', { scope: 'col' }, t)));
    const body = rows.map((r) => {
      const tr = h('tr', { 'data-layer': r.name, class: r.rmseSmall === r.keeps ? 'agree' : 'disagree', title: r.rmseSmall === r.keeps ? 'the two conditions agree' : 'the two conditions disagree' },
        h('td', { class: 'name' }, r.name),
        h('td', { class: 'num' }, fmt(r.relRmse)),
        h('td', {}, r.verdict ? h('span', { class: `verdict v-${r.verdict}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), VERDICT_LABEL[r.verdict]) : '—'),
        h('td', {}, r.rmseSmall ? 'yes' : 'no'),
        h('td', { class: 'num' }, fmtValue(m, r.value)),
        h('td', { class: `num ${r.keeps ? 'keeps' : 'drops'}` }, fmtDelta(m, r.delta)),
        h('td', { class: r.keeps ? 'keeps' : 'drops' }, r.keeps ? 'yes' : 'no'));
      tr.addEventListener('click', () => this.events.onSelect(r.name));
      return tr;
    });
    return h('div', { class: 'experiment-table-scroll' },
      h('table', { class: 'experiment-table', 'aria-label': 'Per layer: the two conditions side by side' }, h('thead', {}, head), h('tbody', {}, ...body)));
  }

  private groupsTable(x: ExperimentResult): HTMLElement {
    const m = x.metric;
    const groups = [...x.roles.map((r) => ({ name: r.label, layers: r.layers.length, r })),
      ...(x.reuseSet ? [{ name: 'reuse set (layers judged reuse)', layers: x.reuseSet.layers.length, r: x.reuseSet }] : [])];
    const head = h('tr', {}, ...['Replaced together', 'Layers', `${metricName(m)}`, 'Δ', 'Keeps performance'].map((t) => h('th', { scope: 'col' }, t)));
    return h('div', { class: 'experiment-table-scroll' }, h('table', { class: 'experiment-table experiment-groups', 'aria-label': 'Parameter roles and the reuse set replaced across layers' },
      h('thead', {}, head),
      h('tbody', {}, ...groups.map((g) => h('tr', {},
        h('td', { class: 'name' }, g.name), h('td', { class: 'num' }, String(g.layers)), h('td', { class: 'num' }, fmtValue(m, g.r.value)),
        h('td', { class: `num ${g.r.keeps ? 'keeps' : 'drops'}` }, fmtDelta(m, g.r.delta)), h('td', { class: g.r.keeps ? 'keeps' : 'drops' }, g.r.keeps ? 'yes' : 'no'))))));
  }

  private axis(title: string) {
    const t = this.theme;
    return { title: { display: true, text: title, color: t.muted, font: { size: 11 } }, ticks: { color: t.muted, font: { size: 11 } }, grid: { color: t.grid }, border: { color: t.grid } };
  }

  private tolerance(x: ExperimentResult): number {
    const n = x.network;
    return n.toleranceUnit === 'points' ? n.tolerance : (n.tolerance / 100) * Math.abs(x.baseline.value);
  }

  private tooltip() {
    const t = this.theme;
    return { backgroundColor: t.tooltipBg, titleColor: t.tooltipFg, bodyColor: t.tooltipFg, borderColor: t.tooltipBorder, borderWidth: 1, displayColors: false };
  }

  private drawDelta(canvas: HTMLCanvasElement, x: ExperimentResult, rows: ConditionRow[]): void {
    const t = this.theme, m = x.metric, tol = this.tolerance(x);
    const line = m.higherIsBetter ? -tol : tol;
    this.deltaChart = new Chart(canvas, {
      type: 'bar',
      data: { labels: rows.map((r) => r.name), datasets: [{ data: rows.map((r) => r.delta), backgroundColor: rows.map((r) => (r.keeps ? t.verdict.reuse : t.verdict.retrain)), minBarLength: 2 }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        onClick: (_e, els) => { const i = els[0]?.index; if (i !== undefined) this.events.onSelect(rows[i].name); },
        scales: { x: { ...this.axis('replaced layer'), grid: { display: false } }, y: this.axis(`Δ ${metricName(m)}${m.name === 'accuracy' ? ' (points)' : ''}`) },
        plugins: {
          reuseThresholds: { lines: [{ value: line, label: `tolerance ${toleranceText(x)}`, color: t.verdict['fine-tune'] }], font: t.font, color: t.foreground, selected: -1, selectedColor: t.selection },
          tooltip: { ...this.tooltip(), callbacks: { label: (item: TooltipItem<'bar'>) => `${fmtDelta(m, rows[item.dataIndex].delta)} (${fmtValue(m, rows[item.dataIndex].value)}); ${rows[item.dataIndex].keeps ? 'keeps' : 'drops'} performance` } },
        },
      },
    });
  }

  private drawScatter(canvas: HTMLCanvasElement, x: ExperimentResult, rows: ConditionRow[]): void {
    const t = this.theme, m = x.metric;
    const pts = scatterPoints(rows);
    const keeps = new Map(rows.map((r) => [r.name, r.keeps]));
    this.scatter = new Chart(canvas, {
      type: 'scatter',
      data: { datasets: [{ data: pts.map((p) => ({ x: p.x, y: p.y })), pointRadius: 4, pointHoverRadius: 6, backgroundColor: pts.map((p) => (keeps.get(p.name) ? t.verdict.reuse : t.verdict.retrain)) }] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        onClick: (_e, els) => { const i = els[0]?.index; if (i !== undefined) this.events.onSelect(pts[i].name); },
        scales: { x: this.axis('kernel relative RMSE'), y: this.axis(`Δ ${metricName(m)}`) },
        plugins: {
          tooltip: { ...this.tooltip(), callbacks: { label: (item: TooltipItem<'scatter'>) => `${pts[item.dataIndex].name}: rel. RMSE ${fmt(pts[item.dataIndex].x)}, Δ ${fmtDelta(m, pts[item.dataIndex].y)}` } },
        },
      },
    });
  }

  private destroyCharts(): void {
    this.deltaChart?.destroy(); this.deltaChart = undefined;
    this.scatter?.destroy(); this.scatter = undefined;
  }
}

/** The runtime a file experiment on this report's target runs in, in words; undefined: the user's PyTorch. */
function runtimeWords(report: Report): string | undefined {
  const r = architectureRuntime(report.target.format);
  return r === 'tfjs' ? 'TensorFlow.js' : r === 'onnx' ? 'ONNX Runtime' : undefined;
}

function fileName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
