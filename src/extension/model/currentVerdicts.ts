// Stored reports are judged with the thresholds of the moment they were analysed. When the user
// changes the thresholds (settings, or "Save to settings" in the report), every view must show
// verdicts under the new ones: re-judging is pure arithmetic on the stored metrics (no file is
// read), so it happens whenever a report is handed out. No vscode here: tested in Node.
import { rejudgeReport, type AnalyzeOptions, type Report } from '../../protocol';

const sameThresholds = (a: AnalyzeOptions, b: AnalyzeOptions) =>
  a.metric === b.metric && a.reuseBelow === b.reuseBelow && a.fineTuneBelow === b.fineTuneBelow;

export function withCurrentThresholds(report: Report, current: AnalyzeOptions): Report {
  if (sameThresholds(report.options, current)) return report;
  // Matching is not redone: the report keeps the prefix rules it was matched with.
  return rejudgeReport(report, { ...current, prefixRules: [...report.options.prefixRules] });
}

/**
 * withCurrentThresholds, once per stored report and thresholds: the Reuse Analysis tree (each
 * item, each page), the hints and the panel all ask for a report, and re-judging a
 * 100,000-layer one took ~300 ms of the extension host and a copy of its layers each time.
 */
export class JudgedReports {
  private readonly judged = new Map<string, { stored: Report; report: Report }>();

  get(id: string, stored: Report, current: AnalyzeOptions): Report {
    const hit = this.judged.get(id);
    if (hit && hit.stored === stored && sameThresholds(hit.report.options, current)) return hit.report;
    const report = withCurrentThresholds(stored, current);
    if (report === stored) this.judged.delete(id);
    else this.judged.set(id, { stored, report });
    return report;
  }

  forget(id?: string): void {
    if (id === undefined) this.judged.clear();
    else this.judged.delete(id);
  }
}
