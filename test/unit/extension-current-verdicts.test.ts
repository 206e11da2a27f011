import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/protocol';
import { withCurrentThresholds } from '../../src/extension/model/currentVerdicts';

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
