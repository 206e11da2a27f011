// The report panel's boundary: every message between the page and the host is checked before
// use, the page's HTML allows no inline code, and what the page asks for is looked up in the
// host's own report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/protocol';
import { isReport, parseFromReportWebview, parseReportWebviewState, parseToReportWebview, REPORT_VIEW_TYPE } from '../../src/protocol';
import { reportCsp, reportHtml, makeNonce } from '../../src/extension/report/html';
import { filterTensorsOf, languageFor } from '../../src/extension/report/exportTarget';

const sample = (): Report => JSON.parse(readFileSync(join(__dirname, '../fixtures/report/sample-report.json'), 'utf8')) as Report;

test('the host accepts the page\'s known messages and returns clean copies', () => {
  assert.deepEqual(parseFromReportWebview({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseFromReportWebview({ type: 'requestFilters', requestId: 3, layer: 'features.0', extra: 'x' }), { type: 'requestFilters', requestId: 3, layer: 'features.0' });
  assert.deepEqual(parseFromReportWebview({ type: 'requestGrid', requestId: 4, layer: 'features.3' }), { type: 'requestGrid', requestId: 4, layer: 'features.3' });
  const t = { metric: 'rmse', reuseBelow: 0.01, fineTuneBelow: 0.05, __proto__: { polluted: true } };
  assert.deepEqual(parseFromReportWebview({ type: 'saveThresholds', thresholds: t }), { type: 'saveThresholds', thresholds: { metric: 'rmse', reuseBelow: 0.01, fineTuneBelow: 0.05 } });
  assert.deepEqual(parseFromReportWebview({ type: 'export', format: 'markdown', destination: 'editor', content: '# r' }), { type: 'export', format: 'markdown', destination: 'editor', content: '# r' });
  assert.deepEqual(parseFromReportWebview({ type: 'reveal', side: 'target' }), { type: 'reveal', side: 'target' });
});

test('the host drops malformed or unknown messages from the page', () => {
  const bad: unknown[] = [
    null, 'ready', 42, [], {}, { type: 'runCommand', command: 'workbench.action.terminal.new' },
    { type: 'requestFilters', requestId: '1', layer: 'a' }, { type: 'requestFilters', requestId: 1.5, layer: 'a' },
    { type: 'requestFilters', requestId: 1, layer: 7 },
    { type: 'saveThresholds', thresholds: { metric: 'rmse', reuseBelow: 0.5, fineTuneBelow: 0.1 } },
    { type: 'saveThresholds', thresholds: { metric: 'cosine', reuseBelow: 0.1, fineTuneBelow: 0.5 } },
    { type: 'saveThresholds', thresholds: { metric: 'rmse', reuseBelow: NaN, fineTuneBelow: 0.5 } },
    { type: 'saveThresholds', thresholds: { metric: 'rmse', reuseBelow: -1, fineTuneBelow: 0.5 } },
    { type: 'export', format: 'exe', destination: 'editor', content: '' },
    { type: 'export', format: 'csv', destination: 'disk', content: '' },
    { type: 'export', format: 'csv', destination: 'clipboard', content: 5 },
    { type: 'reveal', side: '/etc/passwd' },
  ];
  for (const m of bad) assert.equal(parseFromReportWebview(m), undefined, JSON.stringify(m));
});

test('the page accepts a report from the host and rejects one that is not a report', () => {
  const r = sample();
  const m = parseToReportWebview({ type: 'report', analysisId: 'a1', report: r, select: 'features.3' });
  assert.equal(m?.type, 'report');
  assert.equal(m?.type === 'report' && m.select, 'features.3');
  for (const broken of [
    { ...r, schema: 'reuse-lens/report@2' },
    { ...r, layers: [{ ...r.layers[0], verdict: 'maybe' }] },
    { ...r, layers: [{ ...r.layers[0], params: [{ ...r.layers[0].params[0], rmse: '0.1' }] }] },
    { ...r, layers: [{ ...r.layers[0], params: [{ ...r.layers[0].params[0], filterGrid: { rows: 2, cols: 2, values: [1, 2, 3] } }] }] },
    { ...r, summary: { ...r.summary, network: null } },
    { ...r, warnings: [1] },
  ]) {
    assert.equal(isReport(broken), false);
    assert.equal(parseToReportWebview({ type: 'report', analysisId: 'a1', report: broken }), undefined);
  }
  assert.equal(parseToReportWebview({ type: 'report', analysisId: 'a1', report: r, settings: { metric: 'x' } }), undefined);
});

test('the page checks filter weights and grids from the host before drawing them', () => {
  const ok = { type: 'filters', requestId: 1, layer: 'features.0', source: { shape: [1, 3, 1, 1], values: [1, 2, 3] }, target: null };
  assert.equal(parseToReportWebview(ok)?.type, 'filters');
  assert.equal(parseToReportWebview({ ...ok, source: { shape: [1, 3, 1, 1], values: [1, 2] } }), undefined, 'length must match the shape');
  assert.equal(parseToReportWebview({ ...ok, source: { shape: [3, 3], values: new Array(9).fill(0) } }), undefined, 'conv kernels are 4-D');
  assert.equal(parseToReportWebview({ type: 'grid', requestId: 2, layer: 'x', grid: { rows: 1, cols: 2, values: [0.1, 0.2] } })?.type, 'grid');
  assert.equal(parseToReportWebview({ type: 'grid', requestId: 2, layer: 'x', grid: { rows: 2, cols: 2, values: [0.1] } }), undefined);
  assert.equal(parseToReportWebview({ type: 'notice', level: 'info', text: 'Saved' })?.type, 'notice');
  assert.equal(parseToReportWebview({ type: 'notice', level: 'shout', text: 'x' }), undefined);
});

test('the state restored after a reload is validated, keeping the analysis id even when the report copy is bad', () => {
  const r = sample();
  assert.equal(parseReportWebviewState({ analysisId: 'a1', report: r, view: { logScale: true } })?.report, r);
  const s = parseReportWebviewState({ analysisId: 'a1', report: { schema: 'x' }, view: 'nope' });
  assert.deepEqual(s, { analysisId: 'a1', report: undefined, view: undefined });
  assert.equal(parseReportWebviewState({ report: r }), undefined);
  assert.equal(parseReportWebviewState(undefined), undefined);
});

test('the panel page allows no inline script or style and loads code only with its nonce', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[A-Za-z0-9_-]{20,}$/);
  assert.notEqual(nonce, makeNonce());
  const csp = reportCsp('https://x.vscode-cdn.net', nonce);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'(;|$)`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  const html = reportHtml({ cspSource: 'https://x.vscode-cdn.net', nonce, scriptUri: 'https://x/dist/webview/report.js', styleUri: 'https://x/media/report.css', title: 'Reuse: <a> → b' });
  assert.ok(html.includes(`<script nonce="${nonce}" src="https://x/dist/webview/report.js"></script>`));
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script, no inline code');
  assert.doesNotMatch(html, /<style|style="/);
  assert.ok(html.includes('Reuse: &lt;a&gt; → b'), 'the title is escaped');
  assert.equal(REPORT_VIEW_TYPE, 'reuseLens.report');
});

test('filter images are read only for first-layer conv weights named in the host\'s own report', () => {
  const r = sample();
  assert.deepEqual(filterTensorsOf(r, 'features.0'), { sourceName: 'features.0.weight', targetName: 'features.0.weight' });
  assert.match((filterTensorsOf(r, 'features.3') as { error: string }).error, /16 input channels/);
  assert.match((filterTensorsOf(r, 'features.1') as { error: string }).error, /not a convolution/);
  assert.match((filterTensorsOf(r, '../../etc/passwd') as { error: string }).error, /no layer/);
  assert.match((filterTensorsOf(r, 'features.0', 10) as { error: string }).error, /too many/);
});

test('exports open in an editor of the right language, plain text when the language is missing', () => {
  const langs = ['json', 'markdown', 'python', 'plaintext'];
  assert.equal(languageFor('markdown', langs), 'markdown');
  assert.equal(languageFor('pytorch', langs), 'python');
  assert.equal(languageFor('keras', langs), 'python');
  assert.equal(languageFor('plan-json', langs), 'json');
  assert.equal(languageFor('csv', langs), 'plaintext');
  assert.equal(languageFor('csv', [...langs, 'csv']), 'csv');
});

test('a report whose NaN metrics became null in JSON is still shown', () => {
  const r = sample();
  const w = r.layers[0].params[0];
  w.filterRmse = [...w.filterRmse!.slice(0, -1), null as unknown as number];
  w.filterGrid = { ...w.filterGrid!, values: [null as unknown as number, ...w.filterGrid!.values.slice(1)] };
  assert.equal(isReport(JSON.parse(JSON.stringify(r))), true);
  assert.equal(isReport({ ...r, layers: [{ ...r.layers[0], params: [{ ...w, filterRmse: ['x'] }] }] }), false);
});
