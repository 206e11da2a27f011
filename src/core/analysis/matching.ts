// Pairs source layers with target layers: by name (after prefix rules), then what is left by
// order and shape with a sequence alignment, so that a layer inserted or removed in the middle
// does not shift every later pair (which a zip of two lists would).
import { MatchedBy } from '../shared/reportTypes';
import { Layer } from './layers';

export interface LayerPair {
  /** Display name: the source's name after prefix rules, or the target's. */
  name: string;
  source: Layer | null;
  target: Layer | null;
  matchedBy: MatchedBy;
}

/**
 * Keys of checkpoint dicts that wrap a whole state dict. When every tensor of one side lies
 * under one of them (`state_dict.features.0.weight`), it is stripped like a prefix rule.
 */
const WRAPPERS = ['state_dict', 'model_state_dict', 'model', 'ema', 'net', 'network', 'params', 'weights', 'module'];

/** Strips prefix rules (repeatedly, `module._orig_mod.x` → `x`) from the start of a name. */
export function stripPrefixes(name: string, rules: readonly string[]): string {
  let n = name;
  for (let changed = true; changed;) {
    changed = false;
    for (const r of rules) {
      if (r && n.startsWith(r) && n.length > r.length) { n = n.slice(r.length); changed = true; }
    }
  }
  return n;
}

/**
 * The wrapper keys (with their dots) under which every layer of a side lies, outermost first:
 * a Lightning checkpoint `state_dict.model.conv1.weight` gives ['state_dict.', 'model.'].
 */
export function wrapperChain(layers: readonly Layer[]): string[] {
  const chain: string[] = [];
  let names = layers.map((l) => l.name);
  for (;;) {
    const w = WRAPPERS.map((x) => x + '.').find((p) => names.length > 0 && names.every((n) => n.startsWith(p) && n.length > p.length));
    if (!w) return chain;
    chain.push(w);
    names = names.map((n) => n.slice(w.length));
  }
}

/**
 * Name normalisation shared by both sides: a wrapper found on either side is stripped wherever
 * it leads a name on either side (source all under `model.`, target `model.*` plus a new `head`:
 * the `model.` layers still pair by name), then the user's prefix rules.
 */
function normaliser(source: readonly Layer[], target: readonly Layer[], rules: readonly string[]): (name: string) => string {
  const wrappers = [...new Set([...wrapperChain(source), ...wrapperChain(target)])];
  return (name) => stripPrefixes(stripPrefixes(name, wrappers), rules);
}

/** Role → shape of a layer's tensors, the signature order+shape matching compares. */
function shapeKey(l: Layer): { main: string; all: string } {
  const main = l.tensors.find((t) => t.role === 'weight') ?? l.tensors.find((t) => t.role === 'running_mean') ?? l.tensors[0];
  const all = l.tensors.map((t) => `${t.role}=${t.tensor.shape.join('x')}`).sort().join(';');
  return { main: main ? `${main.role}=${main.tensor.shape.join('x')}` : '', all };
}

/** Pair score for the alignment: 0 means the two layers cannot be paired by shape. */
function pairScore(a: Layer, b: Layer): number {
  if (a.kind !== b.kind) return 0;
  const ka = shapeKey(a), kb = shapeKey(b);
  if (ka.main !== kb.main) return 0;
  // Same main weight: 2; every tensor the same role and shape too: 3 (breaks ties such as conv with/without bias).
  return ka.all === kb.all ? 3 : 2;
}

/** Cells above which the alignment table would take too much memory; a windowed greedy pass is used instead. */
const MAX_ALIGN_CELLS = 16_000_000;

/**
 * Aligns two layer sequences (like an edit distance, maximising the total pair score; a gap
 * costs nothing). Returns index pairs in increasing order of both.
 */
export function alignByOrderAndShape(src: readonly Layer[], tgt: readonly Layer[]): [number, number][] {
  const m = src.length, n = tgt.length;
  if (m === 0 || n === 0) return [];
  if ((m + 1) * (n + 1) > MAX_ALIGN_CELLS) return greedyAlign(src, tgt);
  // Suffix table: best[i][j] = best score aligning src[i..] with tgt[j..]. Tracing it forward and
  // taking a pair whenever it is optimal prefers the earliest pairing among equal scores, so a
  // layer inserted in the middle is skipped where it stands, not where the sequences end.
  const W = n + 1;
  const best = new Int32Array((m + 1) * W);
  const w = (i: number, j: number) => pairScore(src[i], tgt[j]);
  for (let i = m - 1; i >= 0; i--) {
    for (let j = n - 1; j >= 0; j--) {
      let b = Math.max(best[(i + 1) * W + j], best[i * W + j + 1]);
      const p = w(i, j);
      if (p > 0) b = Math.max(b, best[(i + 1) * W + j + 1] + p);
      best[i * W + j] = b;
    }
  }
  const pairs: [number, number][] = [];
  let i = 0, j = 0;
  while (i < m && j < n) {
    const here = best[i * W + j];
    const p = w(i, j);
    if (p > 0 && here === best[(i + 1) * W + j + 1] + p) { pairs.push([i, j]); i++; j++; }
    else if (here === best[(i + 1) * W + j]) i++;
    else j++;
  }
  return pairs;
}

/** For very long sequences: pair each source layer with the next compatible target layer within a window. */
function greedyAlign(src: readonly Layer[], tgt: readonly Layer[]): [number, number][] {
  const pairs: [number, number][] = [];
  let j = 0;
  for (let i = 0; i < src.length && j < tgt.length; i++) {
    for (let k = j; k < Math.min(tgt.length, j + 64); k++) {
      if (pairScore(src[i], tgt[k]) > 0) { pairs.push([i, k]); j = k + 1; break; }
    }
  }
  return pairs;
}

/**
 * Pairs layers. Name pairs come first (recorded as 'name' when identical, 'prefix-rule' when
 * equal only after stripping), even when shapes differ: a same-named layer with another shape
 * is a new head, reported as incompatible rather than hidden. The rest are aligned by order and
 * shape; a lone unpaired source layer and a lone unpaired target layer of the same kind left
 * between the same two aligned pairs are paired too (a replaced head in another framework).
 * Returned in network order: target order, with source-only layers after their source predecessor.
 */
export function matchLayers(source: readonly Layer[], target: readonly Layer[], prefixRules: readonly string[]): LayerPair[] {
  const norm = normaliser(source, target, prefixRules);
  const normS = norm, normT = norm;
  const targetByNorm = new Map<string, number>();
  target.forEach((l, j) => { const k = normT(l.name); if (!targetByNorm.has(k)) targetByNorm.set(k, j); });

  const srcPair = new Array<number>(source.length).fill(-1);
  const tgtPair = new Array<number>(target.length).fill(-1);
  const how = new Map<number, MatchedBy>(); // by source index

  source.forEach((l, i) => {
    const j = targetByNorm.get(normS(l.name));
    if (j === undefined || tgtPair[j] >= 0) return;
    srcPair[i] = j; tgtPair[j] = i;
    how.set(i, l.name === target[j].name ? 'name' : 'prefix-rule');
  });

  const restS = source.map((_, i) => i).filter((i) => srcPair[i] < 0);
  const restT = target.map((_, j) => j).filter((j) => tgtPair[j] < 0);
  const aligned = alignByOrderAndShape(restS.map((i) => source[i]), restT.map((j) => target[j]));
  for (const [a, b] of aligned) {
    srcPair[restS[a]] = restT[b]; tgtPair[restT[b]] = restS[a]; how.set(restS[a], 'order+shape');
  }
  // Lone leftovers between the same two aligned pairs, same kind: a replaced layer of another shape.
  const bounds: [number, number][] = [[-1, -1], ...aligned, [restS.length, restT.length]];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const [s0, t0] = bounds[k], [s1, t1] = bounds[k + 1];
    if (s1 - s0 === 2 && t1 - t0 === 2) {
      const i = restS[s0 + 1], j = restT[t0 + 1];
      if (source[i].kind === target[j].kind) { srcPair[i] = j; tgtPair[j] = i; how.set(i, 'order+shape'); }
    }
  }

  const pairOfSource = (i: number): LayerPair => {
    const j = srcPair[i];
    return { name: normS(source[i].name), source: source[i], target: j >= 0 ? target[j] : null, matchedBy: j >= 0 ? how.get(i)! : 'none' };
  };
  const out: LayerPair[] = target.map((l, j) => (tgtPair[j] >= 0 ? pairOfSource(tgtPair[j]) : { name: normT(l.name), source: null, target: l, matchedBy: 'none' as MatchedBy }));
  // Source-only layers go right after the pair holding the nearest preceding source layer.
  const indexOfSource = new Map<Layer, number>(source.map((l, i) => [l, i]));
  const posOfSource = new Map<number, number>();
  const rebuild = () => { posOfSource.clear(); out.forEach((p, k) => { if (p.source) posOfSource.set(indexOfSource.get(p.source)!, k); }); };
  rebuild();
  source.forEach((l, i) => {
    if (srcPair[i] >= 0) return;
    let at = 0;
    for (let prev = i - 1; prev >= 0; prev--) { const k = posOfSource.get(prev); if (k !== undefined) { at = k + 1; break; } }
    out.splice(at, 0, pairOfSource(i));
    rebuild();
  });
  return out;
}
