// Live re-judging in the panel: new thresholds -> new verdicts, reasons and summary, from the
// metrics already in the report (no checkpoint is read again). The rule itself is the
// engine's (src/core/shared/verdicts.ts, pure), so the panel, the CLI and the tree never disagree.
import type { Report, Thresholds } from '../../src/protocol';
import { rejudgeReport } from '../../src/core/shared/verdicts';

export function thresholdsOf(report: Report): Thresholds {
  return { metric: report.options.metric, reuseBelow: report.options.reuseBelow, fineTuneBelow: report.options.fineTuneBelow };
}

export function sameThresholds(a: Thresholds, b: Thresholds): boolean {
  return a.metric === b.metric && a.reuseBelow === b.reuseBelow && a.fineTuneBelow === b.fineTuneBelow;
}

export function metricLabel(metric: Thresholds['metric']): string {
  return metric === 'relRmse' ? 'relative RMSE' : 'RMSE';
}

/** The report as it would be with thresholds `t`. Returns the same object when they are the report's own. */
export function rejudge(report: Report, t: Thresholds): Report {
  if (sameThresholds(t, thresholdsOf(report))) return report;
  return rejudgeReport(report, { ...report.options, metric: t.metric, reuseBelow: t.reuseBelow, fineTuneBelow: t.fineTuneBelow });
}

/** Names of layers whose verdict differs between two reports of the same analysis, with the old verdict. */
export function changedVerdicts(before: Report, after: Report): Map<string, string> {
  const out = new Map<string, string>();
  // The report's own thresholds (rejudge returned it as is): nothing changed, no 50,000-entry map.
  if (before === after) return out;
  const old = new Map(before.layers.map((l) => [l.name, l.verdict]));
  for (const l of after.layers) {
    const was = old.get(l.name);
    if (was !== undefined && was !== l.verdict) out.set(l.name, was);
  }
  return out;
}
