// Judges layers and the network from stored metrics. PURE: no node imports, no I/O — the
// report webview bundles this module to re-judge live when a user moves a threshold.
//
// Rules (Wang et al. 2020 and the companion UNet/PSPNet study): a layer is judged by its
// kernel's change; conv weights are the most sensitive; conv bias is insensitive and can be
// reused directly (reported, never drives the verdict). A kernel whose output feeds a
// normalization is judged with the scale that normalization removes factored out
// (ScaleInvariantMetrics). A BN layer's learned affine (γ, β) is judged like a weight; its
// running statistics are data statistics, measured in the layer's own units (BnStatistics):
// when only they moved the layer is `recalibrate` — re-estimated on target data by forward
// passes, no training, as AdaBN (Li et al. 2016) does. Integer tensors (num_batches_tracked)
// are listed and never judged. The thresholds are this project's calibration (README).
import type { AnalyzeOptions, LayerReport, ParamReport, Report, ReportSummary, Verdict, MatchedBy, BnStatistics } from './reportTypes';

const VERDICTS: Verdict[] = ['reuse', 'fine-tune', 'recalibrate', 'retrain', 'incompatible', 'source-only', 'target-only'];
const MATCHES: MatchedBy[] = ['name', 'prefix-rule', 'order+shape', 'none'];

/** Weighted share of the target's parameters that transfer at or above which the network looks reusable. */
export const NETWORK_REUSABLE_SHARE = 0.9;
/** Weighted share at or above which the network looks partly reusable, wherever those layers lie. */
export const NETWORK_PARTLY_SHARE = 0.25;
/**
 * The layers before the split point make the network partly reusable when the mean of their
 * depth share (kernel layers) and weighted parameter share reaches this: a third of the depth
 * needs ~7% of the parameters; a one-layer stem of a deep network never does.
 */
export const NETWORK_PARTLY_LEADING = 0.2;
/** What a fine-tune layer counts for in the shares: it gives a start, not a finished layer. */
export const FINE_TUNE_WEIGHT = 0.5;
/** BN running mean moved by at least this many source standard deviations (RMS over channels): the statistics moved. */
export const BN_MEAN_SHIFT_MOVED = 0.1;
/** |ln(σ²_t/σ²_s)| (RMS over channels) at or above this (a std ratio of e^0.1 ≈ 1.105): the statistics moved. */
export const BN_LOG_VAR_MOVED = 0.2;

/** How much of a layer's parameters count as transferred, by verdict. */
export function transferWeight(v: Verdict): number {
  return v === 'reuse' || v === 'recalibrate' ? 1 : v === 'fine-tune' ? FINE_TUNE_WEIGHT : 0;
}

export interface LayerJudgement {
  verdict: Verdict;
  reason: string;
  drivenBy: string | null;
  kernelRmse: number | null;
  kernelRelRmse: number | null;
  /** What kernelRmse/kernelRelRmse measure: the raw change, or the scale-invariant one (a normalization follows). */
  judgedOn: 'raw' | 'scale-invariant' | null;
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
  const judged = layer.params.filter((p) => both(p) && !isInteger(p) && !shapesDiffer(p) && !p.targetDtype);
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

/** What a streamed compare keeps of a layer once it is written out: its target parameters counted, its tensors let go. */
export type LayerDigest = Pick<LayerReport, 'name' | 'kind' | 'verdict' | 'matchedBy'> & { targetParameters: number; notMeasured?: boolean };
/** What the summary reads of a layer: the layer, or its digest. */
export type SummaryLayer = (Pick<LayerReport, 'name' | 'kind' | 'verdict' | 'matchedBy'> & { params: LayerReport['params'] }) | LayerDigest;

function onTarget(l: SummaryLayer): number {
  return 'targetParameters' in l ? l.targetParameters : targetParameters(l as LayerReport);
}

/** A weight read as integers on both sides: a quantization whose scale was not read (the reader warned). */
function weightUnread(layer: Pick<LayerReport, 'params'>): boolean {
  return layer.params.some((p) => p.role === 'weight' && both(p) && isInteger(p));
}

/**
 * A layer passed as `reuse` without its weight measured (weightUnread): it says nothing of
 * what transfers, so the network estimate and its split point leave it out.
 */
export function notMeasured(l: SummaryLayer): boolean {
  if (l.verdict !== 'reuse') return false;
  // A BN layer with running statistics is judged on them (judgeBn), whatever its weight holds.
  if ('params' in l) return !(l.kind === 'bn' && (l as LayerReport).bnStats) && weightUnread(l);
  return l.notMeasured === true;
}

/**
 * A judgement, its fields set one by one: V8 may allocate the clones an object spread makes
 * straight into the old generation, garbage there on a 100,000-layer compare.
 */
const NONE = { drivenBy: null, kernelRmse: null, kernelRelRmse: null, judgedOn: null };

function judgement(verdict: Verdict, reason: string, b: Omit<LayerJudgement, 'verdict' | 'reason'>): LayerJudgement {
  return { verdict, reason, drivenBy: b.drivenBy, kernelRmse: b.kernelRmse, kernelRelRmse: b.kernelRelRmse, judgedOn: b.judgedOn };
}

export function judgeLayer(layer: LayerReport, o: AnalyzeOptions): LayerJudgement {
  const none = NONE;
  if (!layer.sourceName) {
    return judgement('target-only', 'only in the target: no source layer matched by name or by order and shape; train it from scratch', none);
  }
  if (!layer.targetName) {
    return judgement('source-only', 'only in the source: the target has no layer matched to it by name or by order and shape', none);
  }
  const clash = layer.params.filter(shapesDiffer);
  if (clash.length) {
    const p = clash.find((x) => x.role === 'weight') ?? clash[0];
    const head = layer.kind === 'linear' || layer.kind === 'conv' ? ' (a new head or a resized layer?)' : '';
    return judgement('incompatible', `${label(layer.kind, p.role)} shape ${shapeText(p.sourceShape)} in the source, ${shapeText(p.targetShape)} in the target${head}: cannot be copied; initialise it and train`, none);
  }
  const mixed = layer.params.find((p) => p.targetDtype && p.role === 'weight');
  if (mixed) {
    return judgement('incompatible', `${label(layer.kind, mixed.role)} is ${mixed.dtype} in the source, ${mixed.targetDtype} in the target (integers whose quantization scale was not read; see the warnings): its values cannot be compared or copied as they are`, none);
  }
  if (layer.kind === 'bn' && layer.bnStats) return judgeBn(layer, layer.bnStats, o);
  // Integer weights are quantized ones whose scale was not read (the reader warned): no counters,
  // not measured, and a float bias beside them does not speak for the layer.
  if (weightUnread(layer)) {
    return judgement('reuse', 'weight is integers on both sides (a quantization whose scale was not read; see the warnings): not measured, so this verdict says nothing of its values', none);
  }
  const d = drivingParam(layer, o);
  if (!d) {
    return judgement('reuse', 'no floating-point tensor to compare (only integer counters); nothing to retrain', none);
  }
  const what = label(layer.kind, d.role);
  const notes = sideNotes(layer, d, o);
  const inv = layer.normalizedBy && d.role === 'weight' ? d.scaleInvariant : undefined;
  const base = { drivenBy: d.role, kernelRmse: inv ? inv.rmse : d.rmse, kernelRelRmse: inv ? inv.relRmse : d.relRmse, judgedOn: inv ? 'scale-invariant' as const : 'raw' as const };
  if (d.nonFinite && d.nonFinite.source > 0) {
    return judgement('retrain', `source ${what} holds ${d.nonFinite.source} NaN/Inf values: not reusable (metrics cover the finite pairs only)${notes}`, base);
  }
  const v = inv ? (o.metric === 'rmse' ? inv.rmse : inv.relRmse) : valueOf(d, o);
  if (v === null) {
    const why = d.rmse === null ? 'has no finite values to compare' : 'is all zeros in the source, so its relative RMSE is undefined';
    return judgement('retrain', `${what} ${why}: nothing to reuse${notes}`, base);
  }
  const m = inv ? `${what} ${metricName(o)} ${fmt(v)} with the scale removed (${invariantText(layer, d, o)})` : `${what} ${metricName(o)} ${fmt(v)}`;
  const { verdict, reason } = tier(v, m, o);
  return judgement(verdict, reason + notes, base);
}

/** reuse / fine-tune / retrain of a measured change `v`, described as `m`. */
function tier(v: number, m: string, o: AnalyzeOptions): { verdict: Verdict; reason: string } {
  if (v < o.reuseBelow) return { verdict: 'reuse', reason: `${m} < ${fmt(o.reuseBelow)}: reuse as is` };
  if (v < o.fineTuneBelow) return { verdict: 'fine-tune', reason: `${m} ≥ ${fmt(o.reuseBelow)} and < ${fmt(o.fineTuneBelow)}: start from the source and fine-tune` };
  return { verdict: 'retrain', reason: `${m} ≥ ${fmt(o.fineTuneBelow)}: changed too much to transfer; retrain` };
}

/** Why the scale-invariant number is the one judged, with the raw numbers beside it. */
function invariantText(layer: LayerReport, d: ParamReport, o: AnalyzeOptions): string {
  const inv = d.scaleInvariant!, n = layer.normalizedBy!;
  const what = inv.per === 'filter'
    ? `it feeds ${n.layer}, a BatchNorm, which undoes each output filter's scale: filters compared at unit norm`
    : `it feeds ${n.layer}, a normalization, which undoes a common scale: kernel compared at unit norm`;
  const scale = inv.scaleRatio !== null && Math.abs(inv.scaleRatio - 1) >= 0.01 ? `, ${inv.per === 'filter' ? 'filter norms' : 'norm'} ×${fmt(inv.scaleRatio)}${inv.per === 'filter' ? ' (median)' : ''}` : '';
  const cos = inv.per === 'filter' ? `filter cosines mean ${fmt(inv.meanCosine)}, min ${fmt(inv.minCosine)}` : `cosine ${fmt(inv.meanCosine)}`;
  return `${what}; raw ${metricName(o)} ${fmt(valueOf(d, o))}${scale}, ${cos}`;
}

/**
 * A BN layer with running statistics on both sides: the learned affine (γ, β as one vector)
 * is judged like a weight; the statistics, in the layer's own units, decide between reuse
 * (they stayed) and recalibrate (they moved: re-estimate them on target data, no training).
 */
function judgeBn(layer: LayerReport, st: BnStatistics, o: AnalyzeOptions): LayerJudgement {
  const moved = st.meanShift.rms >= BN_MEAN_SHIFT_MOVED || st.logVarRatio.rms >= BN_LOG_VAR_MOVED;
  const stats = `running mean shift ${fmt(st.meanShift.rms)} std (RMS over ${st.channels} channels, largest ${fmt(st.meanShift.max)}), `
    + `log variance ratio ${fmt(st.logVarRatio.rms)} (largest ${fmt(st.logVarRatio.max)})`;
  const statsVerdict = moved
    ? `${stats}: the statistics moved (≥ ${fmt(BN_MEAN_SHIFT_MOVED)} std or ≥ ${fmt(BN_LOG_VAR_MOVED)})`
    : `${stats}: the statistics stayed (< ${fmt(BN_MEAN_SHIFT_MOVED)} std and < ${fmt(BN_LOG_VAR_MOVED)})`;
  const recal = 'recalibrate: keep γ/β and re-estimate the running statistics on target data (forward passes in train mode, no training; AdaBN)';
  const gamma = layer.params.find((p) => p.role === 'weight' && both(p));
  const hasAffine = !!gamma || layer.params.some((p) => p.role === 'bias' && both(p));
  const a = layer.affine;
  const base = { drivenBy: hasAffine ? 'weight' : 'running_mean', kernelRmse: a?.rmse ?? null, kernelRelRmse: a?.relRmse ?? null, judgedOn: 'raw' as const };
  const notes = sideNotes(layer, gamma ?? layer.params[0], o);
  if (!hasAffine || !a) {
    // No learned affine (affine=False): only the statistics are there to judge.
    return moved
      ? judgement('recalibrate', `no learned affine; ${statsVerdict}: ${recal}${notes}`, base)
      : judgement('reuse', `no learned affine; ${statsVerdict}: reuse as is${notes}`, base);
  }
  const v = o.metric === 'rmse' ? a.rmse : a.relRmse;
  if (v === null) return judgement('retrain', `BN γ/β ${a.rmse === null ? 'have no finite values to compare' : 'are all zeros in the source, so their relative change is undefined'}: nothing to reuse; ${statsVerdict}${notes}`, base);
  const m = `BN γ/β ${metricName(o)} ${fmt(v)}`;
  const t = tier(v, m, o);
  if (t.verdict !== 'reuse') return judgement(t.verdict, `${t.reason} (the statistics follow in training); ${statsVerdict}${notes}`, base);
  if (!moved) return judgement('reuse', `${m} < ${fmt(o.reuseBelow)} and ${statsVerdict}: reuse as is${notes}`, base);
  return judgement('recalibrate', `${m} < ${fmt(o.reuseBelow)}: the learned affine transfers; ${statsVerdict}: ${recal}${notes}`, base);
}

/** What the role rules add beside the verdict: conv bias, BN weight/bias, NaN in the target, one-sided params. */
function sideNotes(layer: LayerReport, d: ParamReport, o: AnalyzeOptions): string {
  const notes: string[] = [];
  const other = (role: string) => layer.params.find((p) => p.role === role && p !== d && both(p));
  if (layer.kind === 'bn' && layer.bnStats) {
    // γ/β and the statistics are in the reason already.
  } else if (layer.kind === 'bn') {
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

/**
 * The network verdict, weighing parameters and depth (README, "How the verdicts are made"):
 * - shares count a layer's target parameters by transferWeight (fine-tune counts half);
 * - the split point is the first kernel layer (conv/linear/embedding, network order) that does
 *   not transfer; the layers before it are what a user reuses in one piece;
 * - reusable: weighted share ≥ 90%; partly reusable: weighted share ≥ 25%, or the layers before
 *   the split reach NETWORK_PARTLY_LEADING as the mean of their depth and parameter shares.
 */
export function summarise(layers: readonly SummaryLayer[]): ReportSummary {
  const byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  const matchedBy = Object.fromEntries(MATCHES.map((m) => [m, 0])) as Record<MatchedBy, number>;
  let reusable = 0, transferable = 0, recalibrate = 0, weighted = 0, total = 0, unmeasured = 0;
  const measured: SummaryLayer[] = [];
  for (const l of layers) {
    byVerdict[l.verdict]++;
    matchedBy[l.matchedBy]++;
    if (notMeasured(l)) { unmeasured++; continue; }
    measured.push(l);
    const p = onTarget(l);
    total += p;
    weighted += p * transferWeight(l.verdict);
    if (l.verdict === 'reuse' || l.verdict === 'recalibrate') { reusable += p; transferable += p; }
    if (l.verdict === 'recalibrate') recalibrate += p;
    if (l.verdict === 'fine-tune') transferable += p;
  }
  const share = total > 0 ? weighted / total : 0;
  const pct = (x: number) => (x > 0 && x < 0.01 ? '<1%' : `${Math.round(x * 100)}%`);
  const lead = leadingTransferable(unmeasured ? measured : layers, total);
  const leadScore = (lead.depthShare + lead.parameterShare) / 2;
  let verdict: ReportSummary['network']['verdict'];
  if (share >= NETWORK_REUSABLE_SHARE) verdict = 'reusable';
  else if (share >= NETWORK_PARTLY_SHARE || (lead.count > 0 && leadScore >= NETWORK_PARTLY_LEADING)) verdict = 'partly reusable';
  else verdict = 'not reusable';
  // The paper's pattern: early kernels are generic and transfer, later ones are task-specific.
  // Where the network splits is what a user acts on, so the reason says it first.
  const leadPart = `${lead.count} of ${lead.kernels} kernel layers, ${pct(lead.depthShare)} of the depth, ${pct(lead.parameterShare)} of the parameters weighted`;
  const leadText = lead.kernels === 0 ? 'no kernel layers were compared'
    : lead.count === 0 ? `split point ${lead.first}: the first kernel layer ${lead.firstVerdict === 'incompatible' ? 'has another shape in the target' : 'already changed too much to transfer'}`
    : lead.count === lead.kernels ? `no split point: all ${lead.kernels} kernel layers transfer`
    : `split point ${lead.next}: ${lead.first}${lead.count > 1 ? ` … ${lead.last}` : ''} transfer (${leadPart}; mean ${fmt(leadScore)}${leadScore >= NETWORK_PARTLY_LEADING ? ' ≥' : ' <'} ${fmt(NETWORK_PARTLY_LEADING)}): copy them (as judged, reuse or fine-tune) and retrain from ${lead.next}`;
  const fineTuneNote = byVerdict['fine-tune'] > 0 ? `, fine-tune layers counting ${pct(FINE_TUNE_WEIGHT)}` : '';
  const reason = `estimate, not from a replacement experiment: ${leadText}; ${pct(share)} of the target's parameters `
    + `(${fmtCount(Math.round(weighted))} of ${fmtCount(total)}${fineTuneNote}) transfer `
    + `(reusable at ≥ ${pct(NETWORK_REUSABLE_SHARE)}; partly reusable at ≥ ${pct(NETWORK_PARTLY_SHARE)}, or when the layers before the split point average ≥ ${fmt(NETWORK_PARTLY_LEADING)} of depth and parameters)`
    + (unmeasured ? `; ${unmeasured} layer${unmeasured > 1 ? 's' : ''} left out, ${unmeasured > 1 ? 'their weights' : 'its weight'} not measured (quantized, scale not read)` : '');
  const extra = (['source-only', 'target-only'] as Verdict[]).filter((v) => byVerdict[v] > 0).map((v) => `, ${byVerdict[v]} ${v}`).join('');
  const recalText = byVerdict.recalibrate > 0 ? `, ${byVerdict.recalibrate} recalibrate` : '';
  const unmeasuredText = unmeasured ? `; ${unmeasured} not measured (quantized weights whose scale was not read: passed as reuse, left out of the estimate)` : '';
  const text = `${byVerdict.reuse + byVerdict.recalibrate - unmeasured} of ${layers.length} layers reusable (${fmtCount(reusable)} of ${fmtCount(total)} parameters${recalText}); `
    + `${byVerdict['fine-tune']} fine-tune, ${byVerdict.retrain} retrain, ${byVerdict.incompatible} incompatible${extra}${unmeasuredText}`
    + ` — network looks ${verdict} (estimate)`;
  return {
    layers: layers.length, byVerdict, matchedBy,
    reusableParameters: reusable, transferableParameters: transferable, totalParameters: total,
    recalibrateParameters: recalibrate, weightedShare: share,
    ...(unmeasured ? { notMeasured: unmeasured } : {}),
    network: {
      verdict, reason, estimate: true,
      splitAt: lead.kernels > 0 && lead.count < lead.kernels ? lead.next ?? null : null,
      leading: { kernelLayers: lead.count, kernelLayersTotal: lead.kernels, depthShare: lead.depthShare, parameterShare: lead.parameterShare },
    },
    text,
  };
}

const KERNEL_KINDS = new Set(['conv', 'linear', 'embedding']);

/**
 * The run of kernel layers (conv/linear/embedding), in network order, that transfer from the
 * start, and the weighted share of the target's parameters in every layer before the split.
 */
function leadingTransferable(layers: readonly SummaryLayer[], total: number): { count: number; kernels: number; depthShare: number; parameterShare: number; first?: string; firstVerdict?: Verdict; last?: string; next?: string } {
  const ordered = layers; // network order, as the report lists them
  // Layers on one side only were never compared: they say nothing about what transfers.
  const kernels = ordered.filter((l) => KERNEL_KINDS.has(l.kind) && l.verdict !== 'source-only' && l.verdict !== 'target-only');
  let count = 0;
  while (count < kernels.length && transferWeight(kernels[count].verdict) > 0) count++;
  const split = kernels[count];
  let before = 0;
  for (const l of ordered) {
    if (l === split) break;
    before += onTarget(l) * transferWeight(l.verdict);
  }
  return {
    count, kernels: kernels.length,
    depthShare: kernels.length ? count / kernels.length : 0,
    parameterShare: total > 0 && count > 0 ? before / total : 0,
    first: kernels[0]?.name, firstVerdict: kernels[0]?.verdict, last: kernels[count - 1]?.name, next: split?.name,
  };
}

/** How far from reusable a verdict is, for capping a BN layer by the kernel it normalises. */
const SEVERITY: Partial<Record<Verdict, number>> = { reuse: 0, recalibrate: 1, 'fine-tune': 2, retrain: 3, incompatible: 3 };

/**
 * Judges every layer, then caps each normalization layer by the kernel layer whose output it
 * normalises (normalizedBy): a BN after a retrained conv is relearned with it, whatever its own
 * numbers say (a fresh BN's γ/β start at 1/0, so two independently trained ones look alike);
 * after a fine-tuned conv it trains with it.
 */
export function judgeLayers(layers: readonly LayerReport[], o: AnalyzeOptions): LayerReport[] {
  return capByInput(layers.map((l) => ({ ...l, ...judgeLayer(l, o) })));
}

/**
 * Layers each judged on its own (judgeLayer), a normalization layer then capped by the verdict of
 * the kernel it normalises: what a report's verdicts are. The engine judges each layer as it
 * builds it, so it needs only this step.
 */
export function capByInput(judged: readonly LayerReport[]): LayerReport[] {
  const feeder = new Map<string, LayerReport>();
  for (const l of judged) if (l.normalizedBy) feeder.set(l.normalizedBy.layer, l);
  return judged.map((l) => {
    const k = feeder.get(l.name);
    const own = SEVERITY[l.verdict], cap = k ? SEVERITY[k.verdict] : undefined;
    if (!k || own === undefined || cap === undefined || cap < 2 || own >= cap) return l;
    const verdict: Verdict = cap >= 3 ? 'retrain' : 'fine-tune';
    const why = verdict === 'retrain'
      ? `its input layer ${k.name} is judged ${k.verdict}, so this normalization is learned anew with it`
      : `its input layer ${k.name} is fine-tuned, so this normalization trains with it`;
    return { ...l, verdict, reason: `${why} (on its own: ${l.verdict}; ${l.reason})` };
  });
}

/** Re-derives every verdict, reason and the summary from the stored metrics; reads no file. */
export function rejudgeReport(report: Report, options: AnalyzeOptions): Report {
  const layers = judgeLayers(report.layers, options);
  // Matching is not redone here, so the report keeps the prefix rules it was matched with.
  return { ...report, options: { ...options, prefixRules: [...report.options.prefixRules] }, layers, summary: summarise(layers) };
}
