// Stored reports are judged with the thresholds of the moment they were analysed. When the user
// changes the thresholds (settings, or "Save to settings" in the report), every view must show
// verdicts under the new ones: re-judging is pure arithmetic on the stored metrics (no file is
// read), so it happens whenever a report is handed out. No vscode here: tested in Node.
import { rejudgeReport, type AnalyzeOptions, type Report } from '../../protocol';

export function withCurrentThresholds(report: Report, current: AnalyzeOptions): Report {
  const o = report.options;
  if (o.metric === current.metric && o.reuseBelow === current.reuseBelow && o.fineTuneBelow === current.fineTuneBelow) return report;
  // Matching is not redone: the report keeps the prefix rules it was matched with.
  return rejudgeReport(report, { ...current, prefixRules: [...o.prefixRules] });
}
