// Pairs source layers with target layers: by name (after prefix rules), then what is left by
// order and shape with a sequence alignment, so that a layer inserted or removed in the middle
// does not shift every later pair (which a zip of two lists would).
// The alignment itself, and how it stays fast on tens of thousands of layers: alignment.ts.
import { MatchedBy } from '../shared/reportTypes';
import { Layer } from './layers';
import { AlignLimits, Alignment, alignSignatures, DEFAULT_LIMITS, longestIncreasing, Signatures } from './alignment';

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

/** The form names are matched in: TF's `/` scopes as PyTorch's `.` (a Keras layer pairs with its TF.js twin). */
export function canonicalName(name: string): string {
  // Most names (PyTorch's) have neither: no regex run, no string made (called ~5 times per layer).
  if (!name.includes(':') && !name.includes('/')) return name;
  return name.replace(/:\d+$/, '').replace(/\//g, '.');
}

/**
 * The wrapper keys (with their dots) under which every layer of a side lies, outermost first:
 * a Lightning checkpoint `state_dict.model.conv1.weight` gives ['state_dict.', 'model.'].
 */
export function wrapperChain(layers: readonly Layer[]): string[] {
  const chain: string[] = [];
  let names = layers.map((l) => canonicalName(l.name));
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
function normaliser(source: readonly Layer[], target: readonly Layer[], rules: readonly string[]): { key: (name: string) => string; display: (name: string) => string } {
  const wrappers = [...new Set([...wrapperChain(source), ...wrapperChain(target)])];
  // Names stay as each file spells them (`conv2d/kernel`, `conv2d.kernel`); only matching sees one form.
  const spelled = [...wrappers, ...wrappers.map((w) => w.replace(/\.$/, '/'))];
  return {
    key: (name) => stripPrefixes(stripPrefixes(canonicalName(name), wrappers), rules),
    display: (name) => stripPrefixes(stripPrefixes(name, spelled), rules),
  };
}

/** Role → shape of a layer's tensors, the signature order+shape matching compares. */
function shapeKey(l: Layer): { main: string; all: string } {
  const main = l.tensors.find((t) => t.role === 'weight') ?? l.tensors.find((t) => t.role === 'running_mean') ?? l.tensors[0];
  const all = l.tensors.map((t) => `${t.role}=${t.tensor.shape.join('x')}`).sort().join(';');
  return { main: main ? `${l.kind}|${main.role}=${main.tensor.shape.join('x')}` : `${l.kind}|`, all };
}

/**
 * Signature ids of both sides, interned together: equal `main` ids pair (same kind, same main
 * weight), equal `all` ids too score higher (every tensor the same role and shape, which breaks
 * ties such as conv with/without bias). Strings are built once per layer, not once per cell.
 */
function signaturesOf(src: readonly Layer[], tgt: readonly Layer[]): [Signatures, Signatures] {
  const ids = new Map<string, number>();
  const id = (k: string) => { let v = ids.get(k); if (v === undefined) { v = ids.size; ids.set(k, v); } return v; };
  const side = (ls: readonly Layer[]): Signatures => {
    const main = new Int32Array(ls.length), all = new Int32Array(ls.length);
    ls.forEach((l, i) => { const k = shapeKey(l); main[i] = id(k.main); all[i] = id(`${k.main}#${k.all}`); });
    return { main, all };
  };
  return [side(src), side(tgt)];
}

/**
 * Aligns two layer sequences (like an edit distance, maximising the total pair score; a gap
 * costs nothing). Returns index pairs in increasing order of both. alignment.ts says how.
 */
export function alignByOrderAndShape(src: readonly Layer[], tgt: readonly Layer[], limits: AlignLimits = DEFAULT_LIMITS): [number, number][] {
  const [s, t] = signaturesOf(src, tgt);
  return alignSignatures(s, t, limits).pairs;
}

export interface Matching {
  pairs: LayerPair[];
  /** What the user should know about how (or why not) layers were paired. */
  notes: string[];
}

/** Pairs layers; see matchLayersExplained. */
export function matchLayers(source: readonly Layer[], target: readonly Layer[], prefixRules: readonly string[], limits: AlignLimits = DEFAULT_LIMITS): LayerPair[] {
  return matchLayersExplained(source, target, prefixRules, limits).pairs;
}

/**
 * Aligns the layers left after name pairing. Small: one exact alignment of all of them (name
 * pairs ignored, as they always were). Large: the name pairs that keep network order anchor it,
 * and only the gaps between them are aligned, each on its own.
 */
function alignRest(restS: number[], restT: number[], sig: [Signatures, Signatures], srcPair: Int32Array, limits: AlignLimits): Alignment {
  const [s, t] = sig;
  if ((restS.length + 1) * (restT.length + 1) <= limits.exactCells) return alignSignatures(s, t, limits);
  const named: [number, number][] = [];
  srcPair.forEach((j, i) => { if (j >= 0) named.push([i, j]); });
  const anchors = longestIncreasing(named);
  const pairs: [number, number][] = [];
  let banded = 0, a = 0, b = 0;
  const view = (x: Signatures, from: number, to: number): Signatures => ({ main: x.main.subarray(from, to), all: x.all.subarray(from, to) });
  for (const [ai, aj] of [...anchors, [Infinity, Infinity] as [number, number]]) {
    let a1 = a, b1 = b;
    while (a1 < restS.length && restS[a1] < ai) a1++;
    while (b1 < restT.length && restT[b1] < aj) b1++;
    const r = alignSignatures(view(s, a, a1), view(t, b, b1), limits);
    for (const [i, j] of r.pairs) pairs.push([a + i, b + j]);
    banded += r.banded;
    a = a1; b = b1;
  }
  return { pairs, banded };
}

/**
 * Pairs layers. Name pairs come first (recorded as 'name' when identical, 'prefix-rule' when
 * equal only after stripping), even when shapes differ: a same-named layer with another shape
 * is a new head, reported as incompatible rather than hidden. The rest are aligned by order and
 * shape; a lone unpaired source layer and a lone unpaired target layer of the same kind left
 * between the same two aligned pairs are paired too (a replaced head in another framework).
 * Returned in network order: target order, with source-only layers after their source predecessor.
 * Time and memory grow about linearly with the layer count (alignment.ts).
 */
export function matchLayersExplained(source: readonly Layer[], target: readonly Layer[], prefixRules: readonly string[], limits: AlignLimits = DEFAULT_LIMITS): Matching {
  const norm = normaliser(source, target, prefixRules);
  const normT = target.map((l) => norm.key(l.name));
  const normS = source.map((l) => norm.key(l.name));
  const shown = norm.display;
  const targetByNorm = new Map<string, number>();
  normT.forEach((k, j) => { if (!targetByNorm.has(k)) targetByNorm.set(k, j); });

  const srcPair = new Int32Array(source.length).fill(-1);
  const tgtPair = new Int32Array(target.length).fill(-1);
  const how: MatchedBy[] = new Array<MatchedBy>(source.length).fill('none');

  let byName = 0;
  source.forEach((l, i) => {
    const j = targetByNorm.get(normS[i]);
    if (j === undefined || tgtPair[j] >= 0) return;
    srcPair[i] = j; tgtPair[j] = i; byName++;
    how[i] = canonicalName(l.name) === canonicalName(target[j].name) ? 'name' : 'prefix-rule';
  });

  const restS: number[] = [], restT: number[] = [];
  srcPair.forEach((j, i) => { if (j < 0) restS.push(i); });
  tgtPair.forEach((i, j) => { if (i < 0) restT.push(j); });
  const sig = signaturesOf(restS.map((i) => source[i]), restT.map((j) => target[j]));
  const { pairs: aligned, banded } = alignRest(restS, restT, sig, srcPair, limits);
  for (const [a, b] of aligned) {
    srcPair[restS[a]] = restT[b]; tgtPair[restT[b]] = restS[a]; how[restS[a]] = 'order+shape';
  }
  // Lone leftovers between the same two aligned pairs, same kind: a replaced layer of another shape.
  const bounds: [number, number][] = [[-1, -1], ...aligned, [restS.length, restT.length]];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const [s0, t0] = bounds[k], [s1, t1] = bounds[k + 1];
    if (s1 - s0 === 2 && t1 - t0 === 2) {
      const i = restS[s0 + 1], j = restT[t0 + 1];
      if (source[i].kind === target[j].kind) { srcPair[i] = j; tgtPair[j] = i; how[i] = 'order+shape'; }
    }
  }

  const notes: string[] = [];
  if (source.length > 0 && target.length > 0 && byName === 0 && aligned.length === 0) {
    notes.push(`No layer pairs: none of the ${source.length} source layers has a name (after prefix rules) or the kind and shape, in order, of one of the ${target.length} target layers; these look like different networks.`);
  }
  if (banded > 0) {
    notes.push(`Order-and-shape pairing of ${restS.length} source and ${restT.length} target layers left unpaired by name was bounded (${banded} long stretch${banded === 1 ? '' : 'es'} without an anchor aligned near the diagonal); a layer moved far from its place may be left unpaired.`);
  }

  const pairOfSource = (i: number): LayerPair => {
    const j = srcPair[i];
    return { name: shown(source[i].name), source: source[i], target: j >= 0 ? target[j] : null, matchedBy: j >= 0 ? how[i] : 'none' };
  };
  // Network order in one pass: target order, each source-only layer right after the source
  // layer before it (a run of them after the run's predecessor; leading ones first).
  const out: LayerPair[] = [];
  const sourceOnlyAfter = (i: number) => { for (let k = i + 1; k < source.length && srcPair[k] < 0; k++) out.push(pairOfSource(k)); };
  sourceOnlyAfter(-1);
  target.forEach((l, j) => {
    const i = tgtPair[j];
    if (i < 0) { out.push({ name: shown(l.name), source: null, target: l, matchedBy: 'none' }); return; }
    out.push(pairOfSource(i));
    sourceOnlyAfter(i);
  });
  return { pairs: out, notes };
}
