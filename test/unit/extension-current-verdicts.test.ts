import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/protocol';
import { withCurrentThresholds, JudgedReports } from '../../src/extension/model/currentVerdicts';

const report: Report = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'report', 'sample-report.json'), 'utf8'));

test('thresholds saved to settings re-judge stored analyses for the tree and hints, without reading files', () => {
  assert.equal(withCurrentThresholds(report, { ...report.options }), report, 'same thresholds: the stored report as is');
  const judged = report.layers.filter((l) => l.kernelRelRmse !== null && l.verdict !== 'incompatible');
  assert.ok(judged.some((l) => l.verdict !== 'reuse'), 'the fixture has layers that are not reuse');
  // Everything under 1e9 is "reuse" now.
  const loose = withCurrentThresholds(report, { ...report.options, metric: 'relRmse', reuseBelow: 1e9, fineTuneBelow: 2e9, prefixRules: ['ignored.'] });
  for (const l of loose.layers.filter((x) => judged.some((j) => j.name === x.name))) assert.equal(l.verdict, 'reuse', l.name);
  assert.equal(loose.options.reuseBelow, 1e9);
  assert.deepEqual(loose.options.prefixRules, report.options.prefixRules, 'matching is not redone: prefix rules stay those of the analysis');
  assert.ok(loose.summary.byVerdict.reuse > report.summary.byVerdict.reuse);
  assert.equal(report.layers.find((l) => l.verdict !== 'reuse' && judged.includes(l))!.verdict !== 'reuse', true, 'the stored report is not mutated');
});

test('with thresholds changed, a stored report is re-judged once for every view that reads it, and again when the thresholds or the report change', () => {
  const judged = new JudgedReports();
  const loose = { ...report.options, reuseBelow: 1e9, fineTuneBelow: 2e9 };
  assert.equal(judged.get('a', report, { ...report.options }), report, 'thresholds as analysed: the stored report itself');
  const first = judged.get('a', report, loose);
  assert.notEqual(first, report);
  assert.equal(judged.get('a', report, { ...loose, prefixRules: ['other.'] }), first, 'the tree, the hints and the panel share one re-judged report');
  const tighter = judged.get('a', report, { ...loose, reuseBelow: 1e-9 });
  assert.notEqual(tighter, first, 'new thresholds: judged again');
  assert.equal(tighter.options.reuseBelow, 1e-9);
  const rerun: Report = JSON.parse(JSON.stringify(report));
  const again = judged.get('a', rerun, { ...loose, reuseBelow: 1e-9 });
  assert.notEqual(again, tighter, 'a new analysis under the same id: judged again');
  judged.forget('a');
  assert.notEqual(judged.get('a', rerun, { ...loose, reuseBelow: 1e-9 }), again, 'a removed analysis keeps nothing');
});
