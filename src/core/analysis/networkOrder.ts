// Network order of a checkpoint's layers, from the best evidence the files give:
// - `stored`: the tensors' order in the file is the writer's (pickle insertion order of a
//   state dict, npz members, a safetensors writer that kept its input order);
// - `declared`: the file's own layer list or graph (Keras config, TF.js/ONNX/TFLite nodes);
// - `paired`: none in this file (safetensors written by the reference library are stored sorted
//   by dtype, then name), so the paired checkpoint's order, by layer name;
// - `names`: no evidence on either side: a numeric-aware hierarchical order of the names
//   (`features.3` before `features.12`, a module's children together, before the next module).
// The report says which one each side used: the "first N kernel layers transfer" reason and the
// reuse plan depend on it.
import { Checkpoint } from '../common/types';
import { NetworkOrder } from '../shared/reportTypes';
import { Layer } from './layers';
import { canonicalName, stripPrefixes } from './matching';

/** Whether the file itself says in which order its layers run. */
export function hasOwnOrder(ck: Checkpoint): boolean {
  return ck.storedOrder !== 'sorted' || !!ck.layerOrder?.length;
}

export function ownOrder(ck: Checkpoint): NetworkOrder | undefined {
  if (ck.layerOrder?.length) return 'declared';
  return ck.storedOrder === 'sorted' ? undefined : 'stored';
}

/**
 * Module names that by convention hold a network's head: between siblings they go last, since
 * `classifier` sorts before `features` and `fc` before `layer1` but runs after them.
 */
const HEAD = /^(classifier|fc|head|heads|lm_head|logits|output|out|pred|predictions|top)(_?\d+)?$/i;

/** Name components compared numerically where both are integers: `features.3` < `features.12`. */
export function compareNames(a: string, b: string): number {
  const pa = a.split(/[./]/), pb = b.split(/[./]/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i], y = pb[i];
    if (x === y) continue;
    const nx = /^\d+$/.test(x), ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y) || x.length - y.length;
    const hx = HEAD.test(x), hy = HEAD.test(y);
    if (hx !== hy) return hx ? 1 : -1;
    // Within a component, digit runs compare as numbers too (`conv2` < `conv10`).
    return naturalCompare(x, y);
  }
  return pa.length - pb.length;
}

function naturalCompare(x: string, y: string): number {
  const rx = x.match(/\d+|\D+/g) ?? [], ry = y.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(rx.length, ry.length); i++) {
    const a = rx[i], b = ry[i];
    if (a === b) continue;
    if (/^\d/.test(a) && /^\d/.test(b)) return Number(a) - Number(b) || a.length - b.length;
    return a < b ? -1 : 1;
  }
  return rx.length - ry.length;
}

export function byNames(layers: readonly Layer[]): Layer[] {
  return [...layers].sort((a, b) => compareNames(a.name, b.name));
}

/**
 * Layers of a side without an order of its own, in the paired side's order: each layer takes
 * the place of the paired layer of the same (canonical) name; a layer the other side lacks
 * stays right after its predecessor in name order. Undefined when no name is shared.
 */
export function byPaired(layers: readonly Layer[], paired: readonly Layer[], prefixRules: readonly string[]): Layer[] | undefined {
  const key = (n: string) => stripPrefixes(canonicalName(n), prefixRules);
  const index = new Map<string, number>();
  paired.forEach((l, i) => { const k = key(l.name); if (!index.has(k)) index.set(k, i); });
  const named = byNames(layers);
  let last = -1, shared = 0;
  const keyed = named.map((l, i) => {
    const d = index.get(key(l.name));
    if (d !== undefined) { last = d; shared++; }
    return { l, k: d ?? last + 1e-6 * (i + 1), i };
  });
  if (shared === 0) return undefined;
  keyed.sort((a, b) => a.k - b.k || a.i - b.i);
  return keyed.map((x) => x.l);
}

/** A side's layers in network order, and which evidence gave it (see the head of this file). */
export function orderSide(layers: Layer[], ck: Checkpoint, other: { layers: Layer[]; ck: Checkpoint } | undefined, prefixRules: readonly string[]): { layers: Layer[]; order: NetworkOrder } {
  const own = ownOrder(ck);
  if (own) return { layers, order: own };
  if (other && hasOwnOrder(other.ck)) {
    const paired = byPaired(layers, other.layers, prefixRules);
    if (paired) return { layers: paired, order: 'paired' };
  }
  return { layers: byNames(layers), order: 'names' };
}
