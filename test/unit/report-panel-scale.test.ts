// The report panel at today's checkpoint sizes, without a browser: how a 50,000-layer report is
// sent (in pieces, first screen first), charted (grouped by the names' hierarchy, zoomable),
// filtered (a lower-case index) and windowed. Timings are in bench/report-panel.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerReport, Report, Verdict } from '../../src/protocol';
import { parseToReportWebview } from '../../src/protocol';
import { CHUNK_LAYERS, FIRST_LAYERS, reportMessages } from '../../src/extension/report/reportMessages';
import { chartGroups, chartSeries, networkOrder } from '../../webview/report/chartModel';
import { childGroups, depthGroups, groupAt, groupStats, MAX_BARS, nameSegments, type DepthGroup } from '../../webview/report/depthGroups';
import { barAt, barsExtent, moveRange, rangeAction, rangeLabel, rangeSpan, type BarRange } from '../../webview/report/chartRange';
import { rejudge } from '../../webview/report/rejudge';
import { DEFAULT_TABLE_VIEW, searchIndex, tableRows, toggleSort, type ExperimentColumns } from '../../webview/report/tableModel';
import { scrollToRow, visibleWindow } from '../../webview/report/virtualWindow';

const sample = (): Report => JSON.parse(readFileSync(join(__dirname, '../fixtures/report/sample-report.json'), 'utf8')) as Report;

/** A mixture-of-experts report: per block an attention projection, a norm and experts × 3 projections (64 × 770 = 49,280 layers). */
function moeReport(blocks = 64, experts = 256): Report {
  const r = sample();
  const base = r.layers.find((l) => l.verdict === 'reuse')!;
  const layers: LayerReport[] = [];
  const add = (name: string, rel: number) => {
    const verdict: Verdict = rel < 0.1 ? 'reuse' : rel < 0.6 ? 'fine-tune' : 'retrain';
    layers.push({ ...base, name, sourceName: name, targetName: name, index: layers.length, kernelRelRmse: rel, kernelRmse: rel / 10, verdict, reason: `relative RMSE ${rel}` });
  };
  for (let b = 0; b < blocks; b++) {
    add(`model.layers.${b}.attn.proj`, 0.01 + b / blocks);
    add(`model.layers.${b}.post_norm`, 0.02);
    for (let e = 0; e < experts; e++) for (const p of ['gate_proj', 'up_proj', 'down_proj']) add(`model.layers.${b}.mlp.experts.${e}.${p}`, ((b * 7 + e * 3) % 100) / 80);
  }
  r.layers = layers;
  r.summary = { ...r.summary, layers: layers.length };
  return r;
}

function assertCovers(groups: DepthGroup[], start: number, end: number): void {
  assert.equal(groups[0].start, start);
  assert.equal(groups[groups.length - 1].end, end);
  for (let i = 1; i < groups.length; i++) assert.equal(groups[i].start, groups[i - 1].end, `group ${i} follows group ${i - 1}`);
  for (const g of groups) assert.ok(g.end > g.start);
}

test('a 49,280-layer MoE report is charted as a few hundred groups by block, each a stretch of the network, every layer in one', () => {
  const r = moeReport();
  const ordered = networkOrder(r);
  const groups = chartGroups(ordered)!;
  assert.ok(groups, 'a large report is grouped');
  assert.ok(groups.length <= MAX_BARS && groups.length >= 40, `${groups.length} bars`);
  assertCovers(groups, 0, ordered.length);
  // Each block's three parts: the attention projection and the norm (one layer each), and its 768 expert layers.
  assert.deepEqual(groups.slice(0, 4).map((g) => [g.label, g.end - g.start]), [
    ['model.layers.0.attn.proj', 1], ['model.layers.0.post_norm', 1], ['model.layers.0.mlp.experts.*', 768], ['model.layers.1.attn.proj', 1],
  ]);
  assert.equal(groups.length, 64 * 3);
});

test('zooming into a group of experts shows ranges of experts, then each expert, then its layers', () => {
  const r = moeReport();
  const ordered = networkOrder(r);
  const segs = nameSegments(ordered.map((l) => l.name));
  const mlp = chartGroups(ordered)!.find((g) => g.label === 'model.layers.2.mlp.experts.*')!;
  // One level down: 256 experts in 16 ranges of 16.
  const ranges = childGroups(segs, mlp.start, mlp.end);
  assert.equal(ranges.length, 16);
  assert.equal(ranges[0].label, 'model.layers.2.mlp.experts.0–15.*');
  assert.equal(ranges[15].label, 'model.layers.2.mlp.experts.240–255.*');
  assertCovers(ranges, mlp.start, mlp.end);
  // The chart zoomed into the block's experts: as many bars as fit, level by level (one per expert).
  const zoomed = chartGroups(ordered, mlp.start, mlp.end)!;
  assert.equal(zoomed.length, 256);
  assert.equal(zoomed[5].label, 'model.layers.2.mlp.experts.5.*');
  assertCovers(zoomed, mlp.start, mlp.end);
  // A range of 16 experts (48 layers) is few enough for one bar per layer, as the small chart.
  assert.equal(chartGroups(ordered, ranges[0].start, ranges[0].end), undefined);
  const s = chartSeries(r, 'relRmse', false, ordered.slice(ranges[0].start, ranges[0].end));
  assert.equal(s.labels[0], 'model.layers.2.mlp.experts.0.gate_proj');
  assert.equal(s.labels.length, 48);
});

test('dragging across block groups zooms into the layers from the first group\'s first to the last group\'s last, labelled by both ends', () => {
  const r = moeReport();
  const ordered = networkOrder(r);
  const groups = chartGroups(ordered)!;
  // A drag on a 1,000-px plot from block 0's experts (bar 2) to block 1's experts (bar 5).
  const [left, right] = [60, 1060];
  const n = groups.length;
  const x = (bar: number) => left + ((bar + 0.5) * (right - left)) / n;
  const range: BarRange = { anchor: barAt(x(5), left, right, n), focus: barAt(x(2), left, right, n) };
  assert.deepEqual(rangeSpan(range), [2, 5], 'dragged right to left: the same bars');
  const action = rangeAction({ groups }, ...rangeSpan(range));
  assert.equal(action?.kind, 'zoom');
  const g = (action as { group: DepthGroup }).group;
  assert.deepEqual([g.start, g.end], [groups[2].start, groups[5].end]);
  assert.equal(g.end - g.start, 768 + 1 + 1 + 768);
  assert.equal(g.label, 'model.layers.0.mlp.experts.* … 1.mlp.experts.*');
  // The range is charted like any stretch: 1,538 layers are grouped again, within it and all of it.
  const inside = chartGroups(ordered, g.start, g.end)!;
  assertCovers(inside, g.start, g.end);
  assert.ok(inside.length >= 2 && inside.length <= MAX_BARS, `${inside.length} bars`);
  // The band over the chosen bars covers exactly their slots.
  assert.deepEqual(barsExtent(2, 5, left, right, n).map(Math.round), [Math.round(left + (2 * 1000) / n), Math.round(left + (6 * 1000) / n)]);
  // Outside the plot, a drag keeps to the first and last bar.
  assert.deepEqual([barAt(0, left, right, n), barAt(5000, left, right, n)], [0, n - 1]);
});

test('choosing one bar is a click on it, every bar is no zoom, and a range of single layers zooms into those layers', () => {
  const r = moeReport();
  const ordered = networkOrder(r);
  const groups = chartGroups(ordered)!;
  assert.deepEqual(rangeAction({ groups }, 2, 2), { kind: 'zoom', group: groups[2] }, 'one group: zoom into it, as a click does');
  assert.deepEqual(rangeAction({ groups }, 0, 0), { kind: 'select', at: 0 }, 'a group of one layer: select it');
  assert.equal(rangeAction({ groups }, 0, groups.length - 1), undefined, 'the whole chart is already shown');
  // A per-layer chart of the range [100, 148): bars 3..10 are layers 103..110.
  const names = ordered.slice(100, 148).map((l) => l.name);
  const a = rangeAction({ start: 100, names }, 3, 10);
  assert.deepEqual(a && a.kind === 'zoom' && [a.group.start, a.group.end], [103, 111]);
  assert.equal(a && a.kind === 'zoom' && a.group.label, `${names[3]} … ${names[10].split('.').slice(5).join('.')}`);
  assert.deepEqual(rangeAction({ start: 100, names }, 7, 7), { kind: 'select', at: 107 });
  assert.equal(rangeLabel('conv1', 'fc'), 'conv1 … fc');
});

test('the keyboard chooses a range as a drag does: arrows move, Shift+arrows extend, Home/End and PageUp/PageDown jump, within the bars', () => {
  const n = 78;
  let r = moveRange(undefined, 'right', true, n, 4);
  assert.deepEqual(r, { anchor: 4, focus: 5 }, 'the first key moves from the selected layer\'s bar');
  r = moveRange(r, 'right', true, n);
  assert.deepEqual(rangeSpan(r), [4, 6]);
  r = moveRange(r, 'left', false, n);
  assert.deepEqual(r, { anchor: 5, focus: 5 }, 'an arrow without Shift moves one bar and drops the range');
  r = moveRange(r, 'home', true, n);
  assert.deepEqual(rangeSpan(r), [0, 5]);
  r = moveRange(r, 'left', true, n);
  assert.deepEqual(rangeSpan(r), [0, 5], 'not past the first bar');
  r = moveRange(moveRange(r, 'end', false, n), 'pageLeft', true, n);
  assert.deepEqual(rangeSpan(r), [n - 1 - 8, n - 1], 'PageUp: a tenth of the bars');
  assert.deepEqual(moveRange(undefined, 'left', false, 3, 10), { anchor: 1, focus: 1 }, 'a start past the bars is clamped');
  assert.deepEqual(moveRange(undefined, 'home', true, n, 30), { anchor: 30, focus: 0 });
});

test('small reports (the demo) keep one bar per layer', () => {
  const r = sample();
  assert.equal(chartGroups(networkOrder(r)), undefined);
  assert.equal(chartSeries(r, 'relRmse', false).labels.length, r.layers.length);
  assert.equal(MAX_BARS, 300);
});

test('a group bar is the median of its layers, its whisker their min and max, its colour the most frequent verdict', () => {
  const r = moeReport(2, 8);
  const ordered = networkOrder(r);
  const g = { label: 'x', start: 2, end: 26 };
  const st = groupStats(ordered, g, (l) => l.kernelRelRmse);
  const vals = ordered.slice(2, 26).map((l) => l.kernelRelRmse!).sort((a, b) => a - b);
  assert.equal(st.layers, 24);
  assert.equal(st.min, vals[0]);
  assert.equal(st.max, vals[23]);
  assert.equal(st.median, (vals[11] + vals[12]) / 2);
  const counts: Partial<Record<Verdict, number>> = {};
  for (const l of ordered.slice(2, 26)) counts[l.verdict] = (counts[l.verdict] ?? 0) + 1;
  assert.deepEqual(st.counts, counts);
  assert.equal(st.major, (Object.entries(counts) as [Verdict, number][]).sort((a, b) => b[1] - a[1])[0][0]);
  // Layers without a kernel metric count in the verdict mix but not in the bar.
  const none = groupStats(ordered, g, () => null);
  assert.deepEqual([none.min, none.median, none.max, none.layers], [null, null, null, 24]);
});

test('names without a hierarchy are grouped in numbered ranges; a two-part network is opened further', () => {
  const flat = Array.from({ length: 5000 }, (_, i) => [`layer_${i}`]);
  const g = depthGroups(flat, 0, 5000);
  assert.ok(g.length <= MAX_BARS && g.length >= 16, `${g.length} bars`);
  assertCovers(g, 0, 5000);
  const two = nameSegments([
    ...Array.from({ length: 400 }, (_, i) => `encoder.block.${i >> 2}.conv${i % 4}`),
    ...Array.from({ length: 400 }, (_, i) => `decoder.block.${i >> 2}.conv${i % 4}`),
  ]);
  const g2 = depthGroups(two, 0, 800);
  assert.ok(g2.length >= 40 && g2.length <= MAX_BARS, `${g2.length} bars, not just encoder and decoder`);
  assertCovers(g2, 0, 800);
  assert.equal(groupAt(g2, 0), 0);
  assert.equal(groupAt(g2, 799), g2.length - 1);
  assert.equal(groupAt(g2, 800), -1);
});

test('filtering 49,280 layers by name uses one lower-case index per report and finds exactly the matching layers', () => {
  const r = moeReport();
  const index = searchIndex(r);
  assert.equal(index.length, r.layers.length);
  assert.equal(searchIndex(r), index, 'built once per report');
  const rows = tableRows(r, { ...DEFAULT_TABLE_VIEW, filter: 'Layers.7.MLP.experts.12.' });
  assert.deepEqual(rows.map((x) => x.layer.name), ['gate_proj', 'up_proj', 'down_proj'].map((p) => `model.layers.7.mlp.experts.12.${p}`));
  // Every word must match: the same as testing each layer's text.
  const words = ['experts.3.', 'retrain'];
  const want = r.layers.filter((l) => words.every((w) => `${l.name}\n${l.verdict}`.toLowerCase().includes(w))).map((l) => l.name);
  const got = tableRows(r, { ...DEFAULT_TABLE_VIEW, filter: words.join(' ') }).map((x) => x.layer.name);
  assert.ok(want.length > 10);
  assert.deepEqual(got, want);
  // Re-judged under other thresholds: a new report object, a new index with the new verdicts.
  const moved = rejudge(r, { metric: 'relRmse', reuseBelow: 0.1, fineTuneBelow: 10 });
  assert.notEqual(searchIndex(moved), index);
  assert.equal(tableRows(moved, { ...DEFAULT_TABLE_VIEW, filter: 'retrain' }).length, 0);
});

test('a 49,280-row table keeps a few dozen rows in the DOM wherever it is scrolled, and scrolls to any row', () => {
  const rowCount = 49_280;
  for (const scrollTop of [0, 24 * 25_000, 24 * rowCount]) {
    const w = visibleWindow({ scrollTop, viewportHeight: 600, rowHeight: 24, rowCount });
    assert.ok(w.end - w.start <= 600 / 24 + 1 + 16, `${w.end - w.start} rows`);
    assert.equal(w.padTop + (w.end - w.start) * 24 + w.padBottom, rowCount * 24);
  }
  const last = scrollToRow(rowCount - 1, 0, 600, 24);
  assert.equal(last, rowCount * 24 - 600);
  const w = visibleWindow({ scrollTop: last, viewportHeight: 600, rowHeight: 24, rowCount });
  assert.ok(w.start <= rowCount - 1 && w.end === rowCount, 'the revealed last row is drawn');
});

test('the host sends a large report in pieces, the first screen first, each a valid message, together the whole report', () => {
  const r = moeReport();
  const settings = { metric: 'relRmse' as const, reuseBelow: 0.1, fineTuneBelow: 0.6 };
  const msgs = reportMessages('a1', r, settings, 'model.layers.40.post_norm');
  const first = msgs[0];
  assert.ok(first.type === 'report');
  assert.equal(first.report.layers.length, FIRST_LAYERS);
  assert.equal(first.pending, r.layers.length - FIRST_LAYERS);
  assert.equal(first.select, 'model.layers.40.post_norm');
  assert.equal(first.report.summary.layers, r.layers.length, 'the header counts every layer from the first message');
  const rest = msgs.slice(1);
  assert.equal(rest.length, Math.ceil((r.layers.length - FIRST_LAYERS) / CHUNK_LAYERS));
  const all = [...first.report.layers];
  for (const m of rest) {
    assert.ok(m.type === 'reportLayers');
    assert.equal(m.from, all.length, 'in order, none skipped');
    all.push(...m.layers);
  }
  assert.deepEqual(all.map((l) => l.name), r.layers.map((l) => l.name));
  // What the page accepts: every piece passes the guard (as JSON, as VS Code delivers it).
  for (const m of msgs) assert.ok(parseToReportWebview(JSON.parse(JSON.stringify(m))), `${m.type} passes the guard`);
  assert.equal(parseToReportWebview({ type: 'reportLayers', analysisId: 'a1', from: -1, layers: [] }), undefined);
  assert.equal(parseToReportWebview({ type: 'reportLayers', analysisId: 'a1', from: 0, layers: [{ name: 'x' }] }), undefined);
  assert.equal(parseToReportWebview({ ...JSON.parse(JSON.stringify(first)), pending: 1.5 }), undefined);
  // A small report (the demo) is one message, as before.
  const small = reportMessages('a2', sample(), settings, undefined);
  assert.equal(small.length, 1);
  assert.ok(small[0].type === 'report' && small[0].pending === undefined && small[0].report.layers.length === sample().layers.length);
});

test('with a replacement experiment the table sorts by the metric and its Δ per layer; layers it did not replace come last', () => {
  const r = sample();
  const replaced = r.layers.slice(0, 3);
  const x: ExperimentColumns = new Map(replaced.map((l, i) => [l.name, { value: 90 - i * 10, delta: -i * 10 }]));
  const byDelta = tableRows(r, toggleSort(DEFAULT_TABLE_VIEW, 'xDelta'), x).map((row) => row.layer.name);
  assert.deepEqual(byDelta.slice(0, 3), [replaced[2].name, replaced[1].name, replaced[0].name], 'the most harmful replacement first');
  assert.equal(new Set(byDelta).size, r.layers.length);
  const desc = tableRows(r, toggleSort(toggleSort(DEFAULT_TABLE_VIEW, 'xValue'), 'xValue'), x).map((row) => row.layer.name);
  assert.deepEqual(desc.slice(0, 3), replaced.map((l) => l.name));
  assert.ok(!replaced.some((l) => desc.slice(3).includes(l.name)));
});
