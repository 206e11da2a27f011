// How an analysis and its layers read in the Reuse Analysis view: icon, colour, description,
// tooltip. Pure data (ids of ThemeIcons / ThemeColors, Markdown text) so it is tested without VS Code.
import * as path from 'node:path';
import type { LayerReport, Report, Verdict } from '../../protocol';
import { formatCount, formatMetric, formatShape } from './format';

export const VERDICT_ICON: Record<Verdict, { icon: string; color: string; label: string }> = {
  reuse: { icon: 'pass-filled', color: 'testing.iconPassed', label: 'reuse' },
  'fine-tune': { icon: 'debug-step-over', color: 'list.warningForeground', label: 'fine-tune' },
  recalibrate: { icon: 'sync', color: 'terminal.ansiCyan', label: 'recalibrate (re-estimate BN statistics on target data)' },
  retrain: { icon: 'error', color: 'list.errorForeground', label: 'retrain' },
  incompatible: { icon: 'circle-slash', color: 'errorForeground', label: 'incompatible (shapes differ)' },
  'source-only': { icon: 'arrow-left', color: 'descriptionForeground', label: 'only in source' },
  'target-only': { icon: 'arrow-right', color: 'descriptionForeground', label: 'only in target' },
};

export function analysisLabel(report: Report): string {
  return `${path.basename(report.source.path)} → ${path.basename(report.target.path)}`;
}

export function analysisDescription(report: Report): string {
  const s = report.summary;
  const recal = s.byVerdict.recalibrate ? ` · ${s.byVerdict.recalibrate} recalibrate` : '';
  // Layers passed as reuse without their weight measured are counted in "reuse": say so.
  const unmeasured = s.notMeasured ? ` (${s.notMeasured} not measured)` : '';
  return `${s.byVerdict.reuse} reuse${unmeasured}${recal} · ${s.byVerdict['fine-tune']} fine-tune · ${s.byVerdict.retrain} retrain`;
}

export function analysisTooltip(report: Report): string {
  const s = report.summary;
  const lines = [
    `**${esc(analysisLabel(report))}**`,
    '',
    `Source: \`${esc(report.source.path)}\` (${report.source.format}, ${formatCount(report.source.parameters)} parameters)`,
    '',
    `Target: \`${esc(report.target.path)}\` (${report.target.format}, ${formatCount(report.target.parameters)} parameters)`,
    '',
    `Network: **${s.network.verdict}**${s.network.estimate ? ' (estimate)' : ''} — ${esc(s.network.reason)}`,
    '',
    esc(s.text),
  ];
  if (report.warnings.length) lines.push('', '**Warnings**', ...report.warnings.map((w) => `- ${esc(w)}`));
  return lines.join('\n');
}

/** Layers in network order. */
export function layersInOrder(report: Report): LayerReport[] {
  return [...report.layers].sort((a, b) => a.index - b.index);
}

/** The description next to a layer: its kernel metric and what the thresholds apply to. */
export function layerDescription(layer: LayerReport, metric: 'relRmse' | 'rmse'): string {
  if (layer.verdict === 'source-only' || layer.verdict === 'target-only') return VERDICT_ICON[layer.verdict].label;
  if (layer.verdict === 'incompatible') return 'shapes differ';
  const rel = layer.kernelRelRmse, abs = layer.kernelRmse;
  if (abs === null && rel === null) return layer.verdict;
  return metric === 'relRmse'
    ? `RMSE ${formatMetric(abs)} (rel ${formatMetric(rel)})`
    : `RMSE ${formatMetric(abs)}`;
}

export function layerTooltip(layer: LayerReport, report: Report): string {
  const o = report.options;
  const lines = [
    `**${esc(layer.name)}** · ${layer.kind} · verdict **${layer.verdict}**`,
    '',
    esc(layer.reason),
    '',
    `Kernel RMSE: ${formatMetric(layer.kernelRmse)} · relative RMSE: ${formatMetric(layer.kernelRelRmse)}`,
    '',
    `Thresholds (${o.metric}): reuse below ${o.reuseBelow}, fine-tune below ${o.fineTuneBelow}`,
    '',
    `Matched by ${layer.matchedBy}: \`${esc(layer.sourceName ?? '—')}\` ↔ \`${esc(layer.targetName ?? '—')}\``,
  ];
  if (layer.params.length) {
    lines.push('', '| param | shape | RMSE | rel | cosine |', '|---|---|---|---|---|');
    for (const p of layer.params) {
      lines.push(`| ${esc(p.role)} | ${formatShape(p.shape)} | ${formatMetric(p.rmse)} | ${formatMetric(p.relRmse)} | ${formatMetric(p.cosine)} |`);
    }
  }
  return lines.join('\n');
}

/** Escapes Markdown so names with `_` or `*` show as written. */
export function esc(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!|<>]/g, (c) => `\\${c}`);
}
