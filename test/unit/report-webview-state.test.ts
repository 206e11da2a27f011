// The report panel's state logic, run in Node without a browser: sorting, filtering, the
// virtual window of the table, live re-judging, threshold controls, chart and detail data,
// and exports. Uses the hand-shaped sample report and a real report from the pairs fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerReport, Report, Verdict } from '../../src/protocol';
import { isReport } from '../../src/protocol';
import { analyzePaths } from '../../src/core/analysis/engine';
import {
  DEFAULT_TABLE_VIEW, bnStatsChange, rowIndexOfLayer, tableRows, toggleExpanded, toggleSort, toggleVerdict, type TableView,
} from '../../webview/report/tableModel';
import { scrollToRow, visibleWindow } from '../../webview/report/virtualWindow';
import { changedVerdicts, rejudge, thresholdsOf } from '../../webview/report/rejudge';
import { parseThreshold, setThreshold, sliderRange, sliderToValue, switchMetric, valueToSlider } from '../../webview/report/thresholdModel';
import { chartSeries, suggestLogScale } from '../../webview/report/chartModel';
import { canDrawFilters, filterPixels, heatColor, heatmapPixels, histogram, sharedScale } from '../../webview/report/detailModel';
import { exportContent, EXPORT_CHOICES } from '../../webview/report/exportModel';
import { parseView } from '../../webview/report/viewState';
import { fmt } from '../../webview/report/format';
import { networkOrderLine } from '../../webview/report/orderModel';

const sample = (): Report => JSON.parse(readFileSync(join(__dirname, '../fixtures/report/sample-report.json'), 'utf8')) as Report;

/** A report of `n` layers made from the sample's, with distinct names and spread-out distances. */
function bigReport(n: number): Report {
  const r = sample();
  const base = r.layers.filter((l) => l.verdict === 'reuse' || l.verdict === 'fine-tune' || l.verdict === 'retrain');
  r.layers = Array.from({ length: n }, (_, i) => {
    const b = base[i % base.length];
    const rel = 0.001 * Math.exp((i * 7) % n / (n / 8));
    return { ...b, name: `block${i}.${b.name}`, index: i, kernelRelRmse: rel, kernelRmse: rel / 10 };
  });
  return r;
}

const names = (rows: ReturnType<typeof tableRows>) => rows.filter((r) => r.type === 'layer').map((r) => r.layer.name);

test('the sample report is a valid report by the panel guard', () => {
  assert.equal(isReport(sample()), true);
});

test('the table lists layers in network order by default', () => {
  const r = sample();
  const rows = tableRows(r, DEFAULT_TABLE_VIEW);
  assert.deepEqual(names(rows), [...r.layers].sort((a, b) => a.index - b.index).map((l) => l.name));
  assert.ok(rows.every((x) => x.type === 'layer'));
});

test('sorting by relative RMSE puts the most changed layer first and layers without a metric last', () => {
  const r = sample();
  const view = toggleSort(DEFAULT_TABLE_VIEW, 'relRmse');
  assert.equal(view.sortDir, 'desc', 'distances sort largest first on the first click');
  const rows = names(tableRows(r, view));
  const values = rows.map((n) => r.layers.find((l) => l.name === n)!.kernelRelRmse);
  const present = values.filter((v) => v !== null) as number[];
  assert.deepEqual(present, [...present].sort((a, b) => b - a));
  assert.deepEqual(values.slice(present.length), values.filter((v) => v === null), 'nulls come last');
  // A second click flips the direction; nulls still come last.
  const asc = names(tableRows(r, toggleSort(view, 'relRmse')));
  const ascValues = asc.map((n) => r.layers.find((l) => l.name === n)!.kernelRelRmse);
  assert.equal(ascValues[0], Math.min(...present));
  assert.equal(ascValues[ascValues.length - 1], null);
});

test('sorting by verdict orders reuse, fine-tune, retrain, then the rest', () => {
  const r = sample();
  const order = names(tableRows(r, toggleSort(DEFAULT_TABLE_VIEW, 'verdict'))).map((n) => r.layers.find((l) => l.name === n)!.verdict);
  const rank: Verdict[] = ['reuse', 'fine-tune', 'retrain', 'incompatible', 'source-only', 'target-only'];
  for (let i = 1; i < order.length; i++) assert.ok(rank.indexOf(order[i - 1]) <= rank.indexOf(order[i]), `${order[i - 1]} before ${order[i]}`);
});

test('the filter matches every word against name, kind, verdict and reason', () => {
  const r = sample();
  const view: TableView = { ...DEFAULT_TABLE_VIEW, filter: 'conv retrain' };
  const rows = tableRows(r, view);
  assert.ok(rows.length > 0);
  for (const row of rows) {
    assert.equal(row.layer.kind, 'conv');
    assert.equal(row.layer.verdict, 'retrain');
  }
  assert.equal(tableRows(r, { ...DEFAULT_TABLE_VIEW, filter: 'no-such-layer' }).length, 0);
});

test('verdict chips filter the table to the chosen verdicts', () => {
  const r = sample();
  const view = toggleVerdict(toggleVerdict(DEFAULT_TABLE_VIEW, 'reuse'), 'incompatible');
  const verdicts = new Set(tableRows(r, view).map((x) => x.layer.verdict));
  assert.deepEqual([...verdicts].sort(), ['incompatible', 'reuse']);
  assert.deepEqual(toggleVerdict(view, 'reuse').verdicts, ['incompatible'], 'a second click removes it');
});

test('expanding a layer shows its parameters right under it, including BN running statistics', () => {
  const r = sample();
  const bn = r.layers.find((l) => l.kind === 'bn')!;
  const rows = tableRows(r, toggleExpanded(DEFAULT_TABLE_VIEW, bn.name));
  const at = rowIndexOfLayer(rows, bn.name);
  const params = rows.slice(at + 1, at + 1 + bn.params.length);
  assert.deepEqual(params.map((p) => (p.type === 'param' ? p.param.role : 'layer')), bn.params.map((p) => p.role));
  assert.ok(params.some((p) => p.type === 'param' && p.param.role === 'running_var'));
  assert.equal(bnStatsChange(bn), Math.max(...bn.params.filter((p) => p.role.startsWith('running_')).map((p) => p.relRmse!)));
  assert.equal(bnStatsChange(r.layers.find((l) => l.kind === 'conv')!), null);
  // Measured in the layer's own units where the report has them: mean shift, or half the log variance ratio (log std ratio).
  const stats = { channels: 8, eps: 1e-5, meanShift: { rms: 0.3, max: 1 }, logVarRatio: { rms: 0.8, max: 2 } };
  assert.equal(bnStatsChange({ ...bn, bnStats: stats }), 0.4);
  assert.deepEqual(toggleExpanded(toggleExpanded(DEFAULT_TABLE_VIEW, bn.name), bn.name).expanded, []);
});

test('a 500-layer table puts only the visible window of rows in the DOM, wherever it is scrolled', () => {
  const r = bigReport(500);
  const all = r.layers.map((l) => l.name);
  const rows = tableRows(r, { ...DEFAULT_TABLE_VIEW, expanded: all });
  const rowCount = rows.length;
  assert.ok(rowCount > 1000);
  for (const scrollTop of [0, 24 * 300, 24 * (rowCount - 10), 1e9]) {
    const w = visibleWindow({ scrollTop, viewportHeight: 480, rowHeight: 24, rowCount, overscan: 8 });
    assert.ok(w.end - w.start <= 480 / 24 + 1 + 16, `window of ${w.end - w.start} rows`);
    assert.ok(w.start >= 0 && w.end <= rowCount && w.start < w.end);
    assert.equal(w.padTop + (w.end - w.start) * 24 + w.padBottom, rowCount * 24, 'spacers keep the scroll height');
    const firstVisible = Math.floor(Math.min(scrollTop, rowCount * 24 - 480) / 24);
    assert.ok(w.start <= firstVisible && w.end >= Math.min(rowCount, firstVisible + 20), 'the visible rows are inside the window');
  }
  const empty = visibleWindow({ scrollTop: 0, viewportHeight: 480, rowHeight: 24, rowCount: 0 });
  assert.deepEqual([empty.start, empty.end, empty.totalHeight], [0, 0, 0]);
});

test('selecting a layer from the chart scrolls its row into view only when it is out of view', () => {
  assert.equal(scrollToRow(100, 0, 480, 24), 100 * 24 + 24 - 480, 'below: scroll down until it is the last row');
  assert.equal(scrollToRow(3, 24 * 50, 480, 24), 3 * 24, 'above: scroll up to it');
  assert.equal(scrollToRow(55, 24 * 50, 480, 24), 24 * 50, 'visible: stay');
});

test('sorting 500 layers keeps every layer exactly once', () => {
  const r = bigReport(500);
  for (const key of ['name', 'rmse', 'relRmse', 'cosine', 'maxAbsDiff', 'bnStats', 'parameters', 'verdict', 'kind', 'index'] as const) {
    const rows = names(tableRows(r, toggleSort(DEFAULT_TABLE_VIEW, key)));
    assert.equal(new Set(rows).size, 500, key);
  }
});

test('moving the reuse threshold re-judges verdicts live without re-reading checkpoints', () => {
  const r = sample();
  const t = thresholdsOf(r);
  const fineTune = r.layers.filter((l) => l.verdict === 'fine-tune' && l.kernelRelRmse !== null && l.drivenBy === undefined);
  assert.ok(fineTune.length > 0);
  const lower = Math.min(...fineTune.map((l) => l.kernelRelRmse!));
  // Raise "reuse below" just above the smallest fine-tune layer: that layer becomes reuse.
  const raised = setThreshold(t, 'reuseBelow', lower * 1.01);
  const after = rejudge(r, raised);
  const changed = changedVerdicts(r, after);
  const l = fineTune.find((x) => x.kernelRelRmse === lower)!;
  assert.equal(after.layers.find((x) => x.name === l.name)!.verdict, 'reuse');
  assert.equal(changed.get(l.name), 'fine-tune');
  assert.equal(after.summary.byVerdict.reuse, r.layers.filter((x) => x.verdict === 'reuse').length + [...changed.values()].filter((v) => v === 'fine-tune').length);
  assert.equal(after.options.reuseBelow, raised.reuseBelow);
  // Shape mismatches and one-sided layers do not depend on thresholds.
  for (const v of ['incompatible', 'source-only'] as Verdict[]) {
    assert.deepEqual(after.layers.filter((x) => x.verdict === v).map((x) => x.name), r.layers.filter((x) => x.verdict === v).map((x) => x.name));
  }
  assert.equal(rejudge(r, t), r, 'the report\'s own thresholds change nothing');
});

test('a real engine report round-trips through the guard and re-judges like the engine', async () => {
  const f = (n: string) => join(__dirname, '../fixtures/pairs', n);
  const r = await analyzePaths(f('source.safetensors'), f('target.safetensors'));
  assert.equal(isReport(JSON.parse(JSON.stringify(r))), true);
  const strict = rejudge(r, { ...thresholdsOf(r), reuseBelow: 0, fineTuneBelow: 0 });
  const judged = strict.layers.filter((l) => l.kernelRelRmse !== null && ['reuse', 'fine-tune', 'retrain'].includes(l.verdict));
  assert.ok(judged.length > 0);
  assert.ok(judged.every((l) => l.verdict === 'retrain'), 'with both thresholds at 0 nothing is reusable');
  const loose = rejudge(r, { ...thresholdsOf(r), reuseBelow: 1e9, fineTuneBelow: 1e9 });
  // BN statistics that moved stay recalibrate (reusable): their threshold is in the layer's own units, not the kernel's.
  assert.ok(loose.layers.filter((l) => l.kernelRelRmse !== null && l.verdict !== 'incompatible').every((l) => l.verdict === 'reuse' || l.verdict === 'recalibrate'));
});

test('threshold controls keep reuse ≤ retrain, read typed numbers, and slide on a log scale', () => {
  const t = { metric: 'relRmse' as const, reuseBelow: 0.1, fineTuneBelow: 0.6 };
  assert.deepEqual(setThreshold(t, 'reuseBelow', 0.8), { ...t, reuseBelow: 0.8, fineTuneBelow: 0.8 });
  assert.deepEqual(setThreshold(t, 'fineTuneBelow', 0.05), { ...t, reuseBelow: 0.05, fineTuneBelow: 0.05 });
  assert.equal(setThreshold(t, 'reuseBelow', -1), t);
  assert.equal(parseThreshold(' 0.25 '), 0.25);
  assert.equal(parseThreshold('1e-3'), 0.001);
  assert.equal(parseThreshold('-0.1'), undefined);
  assert.equal(parseThreshold('abc'), undefined);
  assert.equal(parseThreshold(''), undefined);
  const range = sliderRange(sample(), t);
  assert.ok(range.lo <= Math.log10(0.031) && range.hi >= Math.log10(0.93));
  for (const v of [0.05, 0.1, 0.6]) {
    const back = sliderToValue(valueToSlider(v, range), range);
    assert.ok(Math.abs(back - v) / v < 0.05, `${v} -> ${back}`);
  }
});

test('switching the threshold metric to RMSE gives thresholds on the scale of the report\'s RMSE values, and back', () => {
  const r = sample();
  const t = thresholdsOf(r);
  const s = switchMetric(r, t, 'rmse');
  assert.equal(s.metric, 'rmse');
  const rmse = r.layers.map((l) => l.kernelRmse).filter((v): v is number => v !== null);
  assert.ok(s.reuseBelow > Math.min(...rmse) && s.reuseBelow < Math.max(...rmse), `reuse below ${s.reuseBelow} within the RMSE values`);
  assert.ok(s.fineTuneBelow > s.reuseBelow);
  const back = switchMetric(r, s, 'relRmse');
  assert.ok(Math.abs(back.reuseBelow - t.reuseBelow) / t.reuseBelow < 0.1 && Math.abs(back.fineTuneBelow - t.fineTuneBelow) / t.fineTuneBelow < 0.1);
  assert.equal(switchMetric(r, t, 'relRmse'), t);
});

test('the chart shows one bar per layer in network order, threshold lines only on the thresholds\' metric', () => {
  const r = sample();
  const s = chartSeries(r, 'relRmse', false);
  assert.deepEqual(s.labels, [...r.layers].sort((a, b) => a.index - b.index).map((l) => l.name));
  assert.equal(s.values.length, r.layers.length);
  assert.equal(s.missing, r.layers.filter((l) => l.kernelRelRmse === null).length);
  assert.deepEqual(s.thresholds.map((x) => x.value), [r.options.reuseBelow, r.options.fineTuneBelow]);
  assert.deepEqual(chartSeries(r, 'rmse', false).thresholds, []);
  // A log axis cannot show zero: identical kernels get a floor below the smallest bar.
  const z = sample();
  z.layers[0] = { ...z.layers[0], kernelRelRmse: 0 };
  const log = chartSeries(z, 'relRmse', true);
  assert.ok(log.values[0]! > 0 && log.values[0]! < Math.min(...log.values.slice(1).filter((v): v is number => v !== null)));
});

test('the chart starts on a log scale when layer distances span orders of magnitude', () => {
  const r = sample();
  assert.equal(suggestLogScale(r, 'relRmse'), false, '0.031 to 0.93: linear reads fine');
  const wide = sample();
  wide.layers[0] = { ...wide.layers[0], kernelRelRmse: 0.0001 };
  assert.equal(suggestLogScale(wide, 'relRmse'), true);
  const one = sample();
  one.layers = one.layers.slice(0, 1);
  assert.equal(suggestLogScale(one, 'relRmse'), false);
});

test('the detail pane bins per-filter RMSE and colours the filter grid', () => {
  const conv = sample().layers.find((l) => l.kind === 'conv')!;
  const w = conv.params.find((p) => p.role === 'weight')!;
  const hist = histogram(w.filterRmse!, 5);
  assert.equal(hist.counts.reduce((a, b) => a + b, 0), w.filterRmse!.length);
  assert.equal(hist.edges.length, 6);
  assert.equal(hist.edges[0], Math.min(...w.filterRmse!));
  assert.ok(Math.abs(hist.edges[5] - Math.max(...w.filterRmse!)) < 1e-12);
  assert.deepEqual(histogram([2, 2, 2], 10).counts, [3]);
  assert.deepEqual(histogram([NaN], 4).counts, []);
  const { pixels, max } = heatmapPixels(w.filterGrid!);
  assert.equal(pixels.length, w.filterGrid!.rows * w.filterGrid!.cols * 4);
  assert.equal(max, Math.max(...w.filterGrid!.values));
  assert.notDeepEqual(heatColor(0), heatColor(1));
  assert.deepEqual(heatColor(2), heatColor(1));
});

test('filter images are offered for a first conv layer with 3 input channels and drawn on one shared scale', () => {
  const layers = sample().layers;
  const first = layers.find((l) => l.kind === 'conv')!;
  assert.equal(canDrawFilters(first), true);
  assert.equal(canDrawFilters(layers.filter((l) => l.kind === 'conv')[1]), false, '16 input channels');
  assert.equal(canDrawFilters(layers.find((l) => l.kind === 'bn')!), false);
  // A 2x3x1x2 kernel: filter 1's channel values at (0,0) are 1, -1, 0.
  const t = { shape: [2, 3, 1, 2], values: [0, 0, 0, 0, 0, 0, 1, 0.5, -1, 0, 0, 0] };
  const other = { shape: [2, 3, 1, 2], values: t.values.map((v) => v * 2) };
  const scale = sharedScale(t, other);
  assert.equal(scale, 2);
  const px = filterPixels(t, 1, scale);
  assert.deepEqual([...px.slice(0, 4)], [191, 64, 128, 255]);
  assert.deepEqual([...filterPixels({ shape: [1, 1, 1, 1], values: [0] }, 0, 0)], [128, 128, 128, 255]);
});

test('exports follow the live verdicts: Markdown, CSV, JSON and the PyTorch plan change with the thresholds', () => {
  const r = sample();
  const moved = rejudge(r, { ...thresholdsOf(r), reuseBelow: 0.5, fineTuneBelow: 0.9 });
  for (const { format } of EXPORT_CHOICES) {
    const a = exportContent(r, format), b = exportContent(moved, format);
    assert.ok(a.length > 0, format);
    assert.notEqual(a, b, `${format} reflects the new thresholds`);
  }
  const json = JSON.parse(exportContent(moved, 'json')) as Report;
  assert.equal(json.options.reuseBelow, 0.5);
  assert.match(exportContent(moved, 'markdown'), /features\.0/);
  assert.match(exportContent(moved, 'pytorch'), /import torch/);
  assert.ok(exportContent(moved, 'csv').split('\n')[0].includes(','));
});

test('a stored view is read back, and anything foreign in it is dropped', () => {
  const v = parseView({
    chartMetric: 'rmse', logScale: true, selected: 'features.0',
    table: { sortKey: 'relRmse', sortDir: 'desc', filter: 'conv', verdicts: ['reuse', 'bogus'], expanded: ['features.1', 3] },
    thresholds: { metric: 'relRmse', reuseBelow: 0.2, fineTuneBelow: 0.1 },
  });
  assert.equal(v.chartMetric, 'rmse');
  assert.equal(v.logScale, true);
  assert.deepEqual(v.table, { sortKey: 'relRmse', sortDir: 'desc', filter: 'conv', verdicts: ['reuse'], expanded: ['features.1'] });
  assert.equal(v.thresholds, undefined, 'reuse above retrain is not a valid pair');
  assert.equal(parseView({ table: { sortKey: 'constructor' } }).table.sortKey, 'index');
});

test('numbers read the same everywhere', () => {
  assert.equal(fmt(null), '—');
  assert.equal(fmt(0.123456), '0.1235');
  assert.equal(fmt(0.0001234), '1.23e-4');
  assert.equal(fmt(0), '0');
  assert.equal(fmt(Infinity), '∞');
});

void (null as unknown as LayerReport);

test('the report header says which network order each side used, and why it matters, in its tooltip', async () => {
  const fx = (p: string) => join(__dirname, '../fixtures', p);
  const torch = networkOrderLine(await analyzePaths(fx('pairs/source.pt'), fx('pairs/target.safetensors')))!;
  assert.equal(torch.text, 'Network order: both from the order the file stores them in');
  assert.match(torch.title, /split point/);
  assert.match(torch.title, /^stored: /m);
  const mixed = networkOrderLine(await analyzePaths(fx('keras/cross_cnn.h5'), fx('safetensors/order_target.safetensors')))!;
  assert.equal(mixed.text, 'Network order: source from the file\'s own layer list or graph; target from names in numeric-aware order (no file records a network order)');
  assert.match(mixed.title, /^declared: /m);
  assert.match(mixed.title, /^names: .*features\.3 before features\.12/m);
  const paired = sample();
  paired.source.order = 'stored';
  paired.target.order = 'paired';
  assert.match(networkOrderLine(paired)!.title, /^paired: .*sorted by dtype and name/m);
  // Reports saved before orders were recorded: no line rather than a wrong one.
  assert.equal(networkOrderLine(sample()), null);
});
