// What each export button produces, from the report as currently judged in the panel (so a
// plan exported after moving a threshold follows the new verdicts). The writers are the
// engine's own (src/core/shared/exports.ts, pure), the same the CLI prints.
import type { ExportFormat, Report } from '../../src/protocol';
import { planJson, planKeras, planPytorch, toCsv, toMarkdown } from '../../src/core/shared/exports';

export const EXPORT_CHOICES: { format: ExportFormat; label: string }[] = [
  { format: 'markdown', label: 'Markdown summary' },
  { format: 'csv', label: 'CSV table' },
  { format: 'json', label: 'JSON report' },
  { format: 'plan-json', label: 'Reuse plan (JSON)' },
  { format: 'pytorch', label: 'Reuse plan as PyTorch code' },
  { format: 'keras', label: 'Reuse plan as Keras code' },
];

export function exportContent(report: Report, format: ExportFormat): string {
  switch (format) {
    case 'json': return JSON.stringify(report, null, 2) + '\n';
    case 'csv': return toCsv(report);
    case 'markdown': return toMarkdown(report);
    case 'plan-json': return planJson(report);
    case 'pytorch': return planPytorch(report);
    case 'keras': return planKeras(report);
  }
}
