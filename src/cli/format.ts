// Human-readable output of the CLI: plain text tables, network order, no colours.
import { InspectResult, Report } from '../core/shared/reportTypes';
import { fmt, fmtCount } from '../core/shared/verdicts';
import { ORDER_WORDS } from '../core/shared/orderWords';
import { statsRule } from '../core/shared/exports';

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatReport(r: Report): string {
  const metric = r.options.metric === 'rmse' ? 'RMSE' : 'relative RMSE';
  const head = [
    `source: ${r.source.path} (${r.source.format}, ${r.source.tensors} tensors, ${fmtCount(r.source.parameters)} parameters)`,
    `target: ${r.target.path} (${r.target.format}, ${r.target.tensors} tensors, ${fmtCount(r.target.parameters)} parameters)`,
    `thresholds on kernel ${metric}: reuse < ${r.options.reuseBelow}, fine-tune < ${r.options.fineTuneBelow}, else retrain`,
    statsRule(),
    ...(r.source.order && r.target.order ? [`network order: source from ${ORDER_WORDS[r.source.order]}; target from ${ORDER_WORDS[r.target.order]}`] : []),
    '',
  ];
  const rows = r.layers.map((l) => {
    const d = l.params.find((p) => p.role === (l.drivenBy ?? 'weight'));
    // Pairs found by order and shape have two different names; show both.
    const target = l.targetName && l.sourceName && l.matchedBy === 'order+shape' && l.targetName !== l.sourceName ? ` → ${l.targetName}` : '';
    return [String(l.index), l.name + target, l.kind, l.matchedBy, fmt(l.kernelRmse), fmt(l.kernelRelRmse), fmt(d?.cosine), l.verdict, l.reason];
  });
  const body = table(['#', 'layer', 'kind', 'matched by', 'kernel RMSE', 'rel. RMSE', 'cosine', 'verdict', 'reason'], rows);
  const m = r.summary.matchedBy;
  const matched = `matched: ${m.name} by name, ${m['prefix-rule']} by prefix rule, ${m['order+shape']} by order+shape, ${m.none} unmatched`;
  const warnings = r.warnings.length ? ['', ...r.warnings.map((w) => `warning: ${w}`)] : [];
  return [...head, body, '', matched, ...warnings, r.summary.text].join('\n') + '\n';
}

function shape(s: number[]): string { return `[${s.join(', ')}]`; }

export function formatInspect(r: InspectResult): string {
  const out: string[] = [`${r.path}: ${r.format}, ${r.tensors.length} tensors, ${fmtCount(r.parameters)} parameters, ${r.layers.length} layers`];
  if (r.order) out.push(`layers in network order from ${ORDER_WORDS[r.order]}`);
  out.push('');
  const byName = new Map(r.tensors.map((t) => [t.name, t]));
  const rows = r.layers.flatMap((l) => l.tensors.map((x, i) => {
    const t = byName.get(x.name)!;
    const row = [i === 0 ? l.name : '', i === 0 ? l.kind : '', x.role, x.name, t.storage ? `${t.dtype} (${t.storage})` : t.dtype, shape(t.shape), String(t.parameters)];
    if (t.stats) row.push(fmt(t.stats.min), fmt(t.stats.max), fmt(t.stats.mean), fmt(t.stats.std), fmt(t.stats.zeros) + (t.stats.nan || t.stats.inf ? `  (${t.stats.nan} NaN, ${t.stats.inf} Inf)` : ''));
    return row;
  }));
  const header = ['layer', 'kind', 'role', 'tensor', 'dtype', 'shape', 'params'];
  if (r.tensors.some((t) => t.stats)) header.push('min', 'max', 'mean', 'std', 'zeros');
  out.push(table(header, rows));
  if (r.entries.length) {
    out.push('', 'other entries (not compared):');
    for (const e of r.entries) out.push(`  ${e.name} (${e.type}): ${e.value}`);
  }
  if (r.metadata && Object.keys(r.metadata).length) {
    out.push('', 'metadata:');
    for (const [k, v] of Object.entries(r.metadata)) out.push(`  ${k}: ${v}`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}
