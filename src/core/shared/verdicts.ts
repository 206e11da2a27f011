// Judges layers and the network from stored metrics. PURE: no node imports, no I/O — the
// report webview bundles this module to re-judge live when a user moves a threshold.
//
// Rules (Wang et al. 2020 and the companion UNet/PSPNet study): a layer is judged by its
// kernel's change; conv weights are the most sensitive; conv bias is insensitive and can be
// reused directly (reported, never drives the verdict); BN running mean/variance matter more
// than BN weight/bias, so a BN layer is judged by its running statistics. Integer tensors
// (num_batches_tracked) are listed and never judged.
import type { AnalyzeOptions, LayerReport, ParamReport, Report, ReportSummary, Verdict, MatchedBy } from './reportTypes';

const VERDICTS: Verdict[] = ['reuse', 'fine-tune', 'retrain', 'incompatible', 'source-only', 'target-only'];
const MATCHES: MatchedBy[] = ['name', 'prefix-rule', 'order+shape', 'none'];

/** Share of the target's parameters in reuse/fine-tune layers at or above which the network looks reusable. */
export const NETWORK_REUSABLE_SHARE = 0.9;
/** Below this share the network does not look reusable. */
export const NETWORK_PARTLY_SHARE = 0.25;

export interface LayerJudgement {
  verdict: Verdict;
  reason: string;
  drivenBy: string | null;
  kernelRmse: number | null;
  kernelRelRmse: number | null;
}

/** A number for a reason: three significant digits, no trailing zeros. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return x.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(x.toPrecision(3)));
}

function metricName(o: AnalyzeOptions): string {
  return o.metric === 'rmse' ? 'RMSE' : 'relative RMSE';
}

function shapeText(s: number[] | undefined): string {
  return s ? `[${s.join(', ')}]` : '[]';
}

function isInteger(p: ParamReport): boolean {
  if (p.role === 'num_batches_tracked') return true;
  return !!p.dtype && !['F64', 'F32', 'F16', 'BF16'].includes(p.dtype);
}

function both(p: ParamReport): boolean {
  return p.sourceName !== null && p.targetName !== null;
}

function shapesDiffer(p: ParamReport): boolean {
  return !!p.sourceShape && !!p.targetShape && p.sourceShape.join(',') !== p.targetShape.join(',');
}

function valueOf(p: ParamReport, o: AnalyzeOptions): number | null {
  return o.metric === 'rmse' ? p.rmse : p.relRmse;
}

/** What a role is called in a reason. */
function label(kind: LayerReport['kind'], role: string): string {
  if (role === 'weight') {
    if (kind === 'conv') return 'kernel';
    if (kind === 'bn') return 'BN weight';
    if (kind === 'norm') return 'norm weight';
    if (kind === 'embedding') return 'embedding';
    return 'weight';
  }
  if (role.startsWith('other:')) return role.slice(6);
  return role.replace(/_/g, ' ');
}

/** The param that drives a layer's verdict, or undefined when none can. */
export function drivingParam(layer: LayerReport, o: AnalyzeOptions): ParamReport | undefined {
  const judged = layer.params.filter((p) => both(p) && !isInteger(p) && !shapesDiffer(p));
  if (layer.kind === 'bn') {
    const stats = judged.filter((p) => p.role === 'running_mean' || p.role === 'running_var');
    if (stats.length) {
      // The statistic that changed most decides; a missing value (all-zero mean) counts as unknown, not small.
      return stats.reduce((a, b) => ((valueOf(b, o) ?? -1) > (valueOf(a, o) ?? -1) ? b : a));
    }
  }
  return judged.find((p) => p.role === 'weight')
    ?? judged.find((p) => p.role === 'pointwise_weight')
    ?? judged.filter((p) => p.role !== 'bias').sort((a, b) => size(b) - size(a))[0]
    ?? judged[0];
}

function size(p: ParamReport): number {
  return (p.targetShape ?? p.shape).reduce((a, b) => a * b, 1);
}

/** Parameters a layer holds on the target side (what a reuse plan fills). */
export function targetParameters(layer: LayerReport): number {
  return layer.params.filter((p) => p.targetName !== null).reduce((s, p) => s + size(p), 0);
}

export function judgeLayer(layer: LayerReport, o: AnalyzeOptions): LayerJudgement {
  const none = { drivenBy: null, kernelRmse: null, kernelRelRmse: null };
  if (!layer.sourceName) {
    return { verdict: 'target-only', reason: 'only in the target: no source layer matched by name or by order and shape; train it from scratch', ...none };
  }
  if (!layer.targetName) {
    return { verdict: 'source-only', reason: 'only in the source: the target has no layer matched to it by name or by order and shape', ...none };
  }
  const clash = layer.params.filter(shapesDiffer);
  if (clash.length) {
    const p = clash.find((x) => x.role === 'weight') ?? clash[0];
    const head = layer.kind === 'linear' || layer.kind === 'conv' ? ' (a new head or a resized layer?)' : '';
    return {
      verdict: 'incompatible',
      reason: `${label(layer.kind, p.role)} shape ${shapeText(p.sourceShape)} in the source, ${shapeText(p.targetShape)} in the target${head}: cannot be copied; initialise it and train`,
      ...none,
    };
  }
  const d = drivingParam(layer, o);
  if (!d) {
    return { verdict: 'reuse', reason: 'no floating-point tensor to compare (only integer counters); nothing to retrain', ...none };
  }
  const base = { drivenBy: d.role, kernelRmse: d.rmse, kernelRelRmse: d.relRmse };
  const what = label(layer.kind, d.role);
  const notes = sideNotes(layer, d, o);
  if (d.nonFinite && d.nonFinite.source > 0) {
    return { verdict: 'retrain', reason: `source ${what} holds ${d.nonFinite.source} NaN/Inf values: not reusable (metrics cover the finite pairs only)${notes}`, ...base };
  }
  const v = valueOf(d, o);
  if (v === null) {
    const why = d.rmse === null ? 'has no finite values to compare' : 'is all zeros in the source, so its relative RMSE is undefined';
    return { verdict: 'retrain', reason: `${what} ${why}: nothing to reuse${notes}`, ...base };
  }
  const m = `${what} ${metricName(o)} ${fmt(v)}`;
  let verdict: Verdict, reason: string;
  if (v < o.reuseBelow) { verdict = 'reuse'; reason = `${m} < ${fmt(o.reuseBelow)}: reuse as is`; }
  else if (v < o.fineTuneBelow) { verdict = 'fine-tune'; reason = `${m} ≥ ${fmt(o.reuseBelow)} and < ${fmt(o.fineTuneBelow)}: start from the source and fine-tune`; }
  else { verdict = 'retrain'; reason = `${m} ≥ ${fmt(o.fineTuneBelow)}: changed too much to transfer; retrain`; }
  return { verdict, reason: reason + notes, ...base };
}

/** What the role rules add beside the verdict: conv bias, BN weight/bias, NaN in the target, one-sided params. */
function sideNotes(layer: LayerReport, d: ParamReport, o: AnalyzeOptions): string {
  const notes: string[] = [];
  const other = (role: string) => layer.params.find((p) => p.role === role && p !== d && both(p));
  if (layer.kind === 'bn') {
    const rm = other('running_mean'), rv = other('running_var');
    const stat = rm ?? rv;
    if (stat) notes.push(`${label('bn', stat.role)} ${fmt(valueOf(stat, o))}`);
    const w = other('weight'), b = other('bias');
    const wb = [w && `BN weight ${fmt(valueOf(w, o))}`, b && `bias ${fmt(valueOf(b, o))}`].filter(Boolean);
    if (wb.length) notes.push(`${wb.join(', ')} (BN weight/bias matter less than the running statistics)`);
  } else {
    const b = other('bias');
    if (b && layer.kind === 'conv') notes.push(`bias ${metricName(o)} ${fmt(valueOf(b, o))} (conv bias is insensitive: reusable directly; it does not drive the verdict)`);
    else if (b) notes.push(`bias ${fmt(valueOf(b, o))}`);
  }
  if (d.nonFinite && d.nonFinite.target > 0) notes.push(`the target ${label(layer.kind, d.role)} holds ${d.nonFinite.target} NaN/Inf values, left out of the metrics`);
  // A counter one framework keeps and another does not (num_batches_tracked) is not worth a word.
  const onlyS = layer.params.filter((p) => p.sourceName !== null && p.targetName === null && !isInteger(p)).map((p) => label(layer.kind, p.role));
  const onlyT = layer.params.filter((p) => p.sourceName === null && p.targetName !== null && !isInteger(p)).map((p) => label(layer.kind, p.role));
  if (onlyS.length) notes.push(`${onlyS.join(', ')} only in the source`);
  if (onlyT.length) notes.push(`${onlyT.join(', ')} only in the target (initialise it)`);
  return notes.length ? `; ${notes.join('; ')}` : '';
}

/** Parameter count for a summary: 11.2M, 9.1K, 512. */
export function fmtCount(n: number): string {
  if (n >= 1e9) return `${Number((n / 1e9).toPrecision(3))}B`;
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (n >= 1e4) return `${Number((n / 1e3).toPrecision(3))}K`;
  return String(n);
}

export function summarise(layers: readonly LayerReport[]): ReportSummary {
  const byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  const matchedBy = Object.fromEntries(MATCHES.map((m) => [m, 0])) as Record<MatchedBy, number>;
  let reusable = 0, transferable = 0, total = 0;
  for (const l of layers) {
    byVerdict[l.verdict]++;
    matchedBy[l.matchedBy]++;
    const p = targetParameters(l);
    total += p;
    if (l.verdict === 'reuse') { reusable += p; transferable += p; }
    if (l.verdict === 'fine-tune') transferable += p;
  }
  const share = total > 0 ? transferable / total : 0;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lead = leadingTransferable(layers);
  let verdict: ReportSummary['network']['verdict'];
  if (share >= NETWORK_REUSABLE_SHARE) verdict = 'reusable';
  else if (share >= NETWORK_PARTLY_SHARE || lead.count > 0) verdict = 'partly reusable';
  else verdict = 'not reusable';
  // The paper's pattern: early kernels are generic and transfer, later ones are task-specific.
  // Which leading layers transfer is what a user acts on, so the reason says it first.
  const leadText = lead.kernels === 0 ? 'no kernel layers were compared'
    : lead.count === 0 ? `the first kernel layer (${lead.first}) ${lead.firstVerdict === 'incompatible' ? 'has another shape in the target' : 'already changed too much to transfer'}`
    : lead.count === lead.kernels ? `all ${lead.kernels} kernel layers transfer`
    : `the first ${lead.count} of ${lead.kernels} kernel layers (${lead.first}${lead.count > 1 ? ` … ${lead.last}` : ''}) transfer: reuse them and retrain from ${lead.next}`;
  const reason = `estimate, not from a replacement experiment: ${leadText}; ${pct(share)} of the target's parameters `
    + `(${fmtCount(transferable)} of ${fmtCount(total)}) are in layers judged reuse or fine-tune `
    + `(reusable at ≥ ${pct(NETWORK_REUSABLE_SHARE)}; partly reusable at ≥ ${pct(NETWORK_PARTLY_SHARE)} or when the early kernel layers transfer)`;
  const extra = (['source-only', 'target-only'] as Verdict[]).filter((v) => byVerdict[v] > 0).map((v) => `, ${byVerdict[v]} ${v}`).join('');
  const text = `${byVerdict.reuse} of ${layers.length} layers reusable (${fmtCount(reusable)} of ${fmtCount(total)} parameters); `
    + `${byVerdict['fine-tune']} fine-tune, ${byVerdict.retrain} retrain, ${byVerdict.incompatible} incompatible${extra}`
    + ` — network looks ${verdict} (estimate)`;
  return {
    layers: layers.length, byVerdict, matchedBy,
    reusableParameters: reusable, transferableParameters: transferable, totalParameters: total,
    network: { verdict, reason, estimate: true },
    text,
  };
}

const KERNEL_KINDS = new Set(['conv', 'linear', 'embedding']);

/** The run of kernel layers (conv/linear/embedding), in network order, judged reuse or fine-tune from the start. */
function leadingTransferable(layers: readonly LayerReport[]): { count: number; kernels: number; first?: string; firstVerdict?: Verdict; last?: string; next?: string } {
  // Layers on one side only were never compared: they say nothing about what transfers.
  const kernels = layers.filter((l) => KERNEL_KINDS.has(l.kind) && l.verdict !== 'source-only' && l.verdict !== 'target-only');
  let count = 0;
  while (count < kernels.length && (kernels[count].verdict === 'reuse' || kernels[count].verdict === 'fine-tune')) count++;
  return { count, kernels: kernels.length, first: kernels[0]?.name, firstVerdict: kernels[0]?.verdict, last: kernels[count - 1]?.name, next: kernels[count]?.name };
}

/** Re-derives every verdict, reason and the summary from the stored metrics; reads no file. */
export function rejudgeReport(report: Report, options: AnalyzeOptions): Report {
  const layers = report.layers.map((l) => ({ ...l, ...judgeLayer(l, options) }));
  // Matching is not redone here, so the report keeps the prefix rules it was matched with.
  return { ...report, options: { ...options, prefixRules: [...report.options.prefixRules] }, layers, summary: summarise(layers) };
}
