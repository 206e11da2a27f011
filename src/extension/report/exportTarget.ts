// Where an export goes: the language of the untitled editor it opens in, and how it is named
// in messages. Pure, so the choice is tested without VS Code.
import type { ExportFormat } from '../../protocol';

export const EXPORT_LANGUAGE: Record<ExportFormat, string> = {
  json: 'json', 'plan-json': 'json', csv: 'csv', markdown: 'markdown', pytorch: 'python', keras: 'python',
};

export const EXPORT_NAME: Record<ExportFormat, string> = {
  json: 'JSON report', 'plan-json': 'reuse plan (JSON)', csv: 'CSV table', markdown: 'Markdown summary',
  pytorch: 'PyTorch reuse plan', keras: 'Keras reuse plan',
};

/** The editor language for `format`; plain text when that language is not installed (CSV has no built-in one). */
export function languageFor(format: ExportFormat, installed: readonly string[]): string {
  const lang = EXPORT_LANGUAGE[format];
  return installed.includes(lang) ? lang : 'plaintext';
}

/**
 * The tensor names whose weights the panel may draw as filter images: the conv weight of a
 * layer with 1 or 3 input channels, not too big to send as JSON. Looked up in the host's own
 * report, never taken from the webview.
 */
export function filterTensorsOf(report: import('../../protocol').Report, layerName: string, maxElements = 200_000):
  { sourceName: string; targetName: string } | { error: string } {
  const layer = report.layers.find((l) => l.name === layerName);
  if (!layer) return { error: `no layer ${layerName} in this report` };
  const w = layer.params.find((p) => p.role === 'weight' && p.shape.length === 4);
  if (layer.kind !== 'conv' || !w) return { error: `${layerName} is not a convolution layer` };
  if (w.shape[1] !== 1 && w.shape[1] !== 3) return { error: `${layerName} has ${w.shape[1]} input channels; filters are drawn for 1 or 3` };
  if (!w.sourceName || !w.targetName) return { error: `${layerName} is not in both checkpoints` };
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (n > maxElements) return { error: `${layerName} has ${n} weights, too many to draw` };
  return { sourceName: w.sourceName, targetName: w.targetName };
}
