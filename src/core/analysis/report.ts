// Builds the Report (schema reuse-lens/report@1, see reportTypes.ts and DESIGN.md) from the
// layer pairs and the metrics measured for each tensor pair. Verdicts come from verdicts.ts,
// the same code the webview runs when it re-judges.
import { Checkpoint, TensorInfo } from '../common/types';
import { AnalyzeOptions, BnStatistics, CheckpointSummary, LayerReport, ParamReport, Report } from '../shared/reportTypes';
import { LayerPair } from './matching';
import { ROLE_ORDER } from './layers';
import { isFloatDType, numel } from '../tensor/dtypes';
import { TensorPairMetrics } from './metrics';
import { judgeLayer, capByInput, summarise, SummaryLayer, LayerDigest, notMeasured, targetParameters } from '../shared/verdicts';

export function checkpointSummary(ck: Checkpoint): CheckpointSummary {
  return { path: ck.path, format: ck.format, tensors: ck.tensors.length, parameters: ck.tensors.reduce((s, t) => s + safeNumel(t.shape), 0) };
}

function safeNumel(shape: number[]): number {
  try { return numel(shape); } catch { return 0; }
}

export interface ParamPair { role: string; source?: TensorInfo; target?: TensorInfo }

/** The tensors of a layer pair, paired by role, in role order. */
export function paramPairs(pair: LayerPair): ParamPair[] {
  // Most layers of a large state dict are one tensor on each side (an expert's projection).
  const s = pair.source?.tensors, t = pair.target?.tensors;
  if (s?.length === 1 && t?.length === 1 && s[0].role === t[0].role) return [{ role: s[0].role, source: s[0].tensor, target: t[0].tensor }];
  const byRole = new Map<string, ParamPair>();
  for (const lt of pair.source?.tensors ?? []) byRole.set(lt.role, { role: lt.role, source: lt.tensor });
  for (const lt of pair.target?.tensors ?? []) {
    const p = byRole.get(lt.role);
    if (p) p.target = lt.tensor; else byRole.set(lt.role, { role: lt.role, target: lt.tensor });
  }
  const rank = (r: string) => { const i = ROLE_ORDER.indexOf(r); return i < 0 ? ROLE_ORDER.length : i; };
  return [...byRole.values()].sort((a, b) => rank(a.role) - rank(b.role));
}

/**
 * Whether a param pair is compared: both sides present with the same shape, and both floats or
 * both integers (floats against integers are a quantized weight whose scale was not read: no
 * numbers to compare, nor bytes to read).
 */
export function comparable(p: ParamPair): p is Required<ParamPair> {
  return !!p.source && !!p.target && sameShape(p.source.shape, p.target.shape) && isFloatDType(p.source.dtype) === isFloatDType(p.target.dtype);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * The metrics of each compared tensor pair, by its source tensor (a source tensor is in one
 * pair at most: each source layer pairs once): no key string built per pair.
 */
export type PairMetricsMap = ReadonlyMap<TensorInfo, TensorPairMetrics>;

function paramReport(p: ParamPair, m: TensorPairMetrics | undefined): ParamReport {
  const s = p.source, t = p.target;
  // Floats against integers (not comparable: no metrics) say which side is which.
  const mixed = !!s && !!t && isFloatDType(s.dtype) !== isFloatDType(t.dtype);
  const r: ParamReport = {
    role: p.role,
    sourceName: s?.name ?? null,
    targetName: t?.name ?? null,
    shape: (s ?? t)!.shape.slice(),
    dtype: (s ?? t)!.dtype,
    rmse: m?.rmse ?? null, relRmse: m?.relRmse ?? null, cosine: m?.cosine ?? null, maxAbsDiff: m?.maxAbsDiff ?? null,
  };
  if (s && t && !sameShape(s.shape, t.shape)) { r.sourceShape = [...s.shape]; r.targetShape = [...t.shape]; }
  if (mixed) r.targetDtype = t!.dtype;
  const storage = (s ?? t)!.storage;
  if (storage) r.storage = storage.dtype;
  if (m?.filterRmse) r.filterRmse = m.filterRmse;
  if (m?.filterGrid) r.filterGrid = m.filterGrid;
  if (m?.nonFinite) r.nonFinite = m.nonFinite;
  if (m?.scaleInvariant) r.scaleInvariant = m.scaleInvariant;
  return r;
}

/** What the engine measured about a layer pair beyond its tensors. */
export interface LayerExtras {
  normalized?: ReadonlyMap<LayerPair, NonNullable<LayerReport['normalizedBy']>>;
  bnStats?: ReadonlyMap<LayerPair, BnStatistics>;
}

/** A BN layer's γ and β taken as one vector: stable where β alone is near zero. */
function affineChange(pair: LayerPair, metrics: PairMetricsMap): LayerReport['affine'] {
  let dd = 0, ss = 0, n = 0;
  for (const p of paramPairs(pair)) {
    if ((p.role !== 'weight' && p.role !== 'bias') || !p.source || !p.target || !comparable(p)) continue;
    const m = metrics.get(p.source);
    if (!m) continue;
    dd += m.sumSqDiff; ss += m.sumSqSource; n += m.n;
  }
  if (n === 0) return undefined;
  return { rmse: Math.sqrt(dd / n), relRmse: ss > 0 ? Math.sqrt(dd / ss) : (dd === 0 ? 0 : null) };
}

export function layerReport(pair: LayerPair, index: number, metrics: PairMetricsMap, options: AnalyzeOptions, extras: LayerExtras = {}): LayerReport {
  const params = paramPairs(pair).map((p) => paramReport(p, p.source && p.target ? metrics.get(p.source) : undefined));
  const layer: LayerReport = {
    name: pair.name,
    index,
    kind: (pair.source ?? pair.target)!.kind,
    sourceName: pair.source?.name ?? null,
    targetName: pair.target?.name ?? null,
    matchedBy: pair.matchedBy,
    verdict: 'retrain', reason: '', drivenBy: null, kernelRmse: null, kernelRelRmse: null,
    parameters: (pair.target ?? pair.source)!.parameters,
    params,
  };
  const normalizedBy = extras.normalized?.get(pair);
  if (normalizedBy) layer.normalizedBy = normalizedBy;
  const bn = extras.bnStats?.get(pair);
  if (bn) layer.bnStats = bn;
  if (layer.kind === 'bn' && pair.source && pair.target) {
    const a = affineChange(pair, metrics);
    if (a) layer.affine = a;
  }
  // Assigned, not spread into a new object: the keys come out in the same order (judgedOn last).
  return Object.assign(layer, judgeLayer(layer, options));
}

/** What a report says before its layers: written first when the layers are streamed. */
export type ReportHead = Pick<Report, 'schema' | 'source' | 'target' | 'options'>;

export function reportHead(source: Checkpoint, target: Checkpoint, options: AnalyzeOptions): ReportHead {
  return { schema: 'reuse-lens/report@1', source: checkpointSummary(source), target: checkpointSummary(target), options: { ...options, prefixRules: [...options.prefixRules] } };
}

export function buildReport(source: Checkpoint, target: Checkpoint, pairs: readonly LayerPair[], metrics: PairMetricsMap, options: AnalyzeOptions, warnings: string[] = [], extras: LayerExtras = {}): Report {
  // Each layer is judged as it is built; a normalization layer then follows the kernel it normalises.
  const layers = capByInput(pairs.map((p, i) => layerReport(p, i, metrics, options, extras)));
  const tally = new LayerTally();
  for (const l of layers) tally.add(l);
  return assembleReport(reportHead(source, target, options), layers, tally, source, target, warnings);
}

/**
 * What the report says after its layers (summary, unmatched names, warnings), gathered layer by
 * layer: a streamed compare adds each layer as it is written out and keeps only this, one small
 * digest per layer instead of the layer. A test holds a streamed report to the whole report,
 * byte for byte.
 */
export class LayerTally {
  readonly digests: SummaryLayer[] = [];
  readonly unmatched: Report['unmatched'] = { source: [], target: [] };
  readonly nonFinite: string[] = [];

  add(l: LayerReport): void {
    const digest: LayerDigest = { name: l.name, kind: l.kind, verdict: l.verdict, matchedBy: l.matchedBy, targetParameters: targetParameters(l) };
    if (notMeasured(l)) digest.notMeasured = true;
    this.digests.push(digest);
    // Every tensor without a counterpart: whole one-sided layers, and one-sided roles (a bias only in the target).
    for (const p of l.params) {
      if (p.sourceName !== null && p.targetName === null) this.unmatched.source.push(p.sourceName);
      if (p.targetName !== null && p.sourceName === null) this.unmatched.target.push(p.targetName);
    }
    for (const p of l.params) {
      if (p.nonFinite) this.nonFinite.push(`${l.name} ${p.role}: ${p.nonFinite.source} NaN/Inf in the source, ${p.nonFinite.target} in the target; metrics cover the finite pairs only`);
    }
  }
}

/**
 * The report around its layers: `layers` is what it lists (empty when they were streamed),
 * `tally` every layer's part in what follows them.
 */
export function assembleReport(head: ReportHead, layers: LayerReport[], tally: LayerTally, source: Checkpoint, target: Checkpoint, warnings: string[]): Report {
  const allWarnings = [...warnings, ...source.warnings.map((w) => `${source.path}: ${w}`), ...target.warnings.map((w) => `${target.path}: ${w}`), ...tally.nonFinite];
  return { ...head, layers, unmatched: tally.unmatched, summary: summarise(tally.digests), warnings: allWarnings };
}
