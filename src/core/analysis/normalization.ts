// Which conv/linear layers feed a normalization layer (conv → BatchNorm, linear → LayerNorm),
// found from names and network order: such a kernel is blind to the scale the normalization
// removes, so its change is judged with that scale factored out (scaleInvariance.ts).
//
// Rules, on each side's own layer list, and both sides must agree:
// - where the file has a graph (ONNX; a Keras or TF.js layers model's config, kerasGraph.ts), it
//   decides: the kernel's output goes straight to one norm layer and nowhere else
//   (Conv → BatchNormalization; Conv → Relu → BN is not taken);
// - the normalization comes right after the kernel layer in network order, under the same
//   parent module (`features.0` → `features.1`, `layer1.0.conv1` → `layer1.0.bn1`); a pre-
//   activation block's last conv is followed by the next block's norm, under another parent
//   (its output is added to the shortcut first), so it is not taken;
// - or the sibling named after the kernel (`conv1` → `bn1`/`norm1`, `downsample.0` →
//   `downsample.1`), which also serves files whose order is sorted by name (safetensors);
// - either way the norm's channel count equals the kernel's output channels.
import type { Layer } from './layers';
import type { LayerPair } from './matching';
import type { LayerReport } from '../shared/reportTypes';

export type NormalizedBy = NonNullable<LayerReport['normalizedBy']>;

function parentOf(name: string): string {
  const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  return cut < 0 ? '' : name.slice(0, cut);
}

function leafOf(name: string): string {
  const p = parentOf(name);
  return p ? name.slice(p.length + 1) : name;
}

/** Output channels of a kernel layer, or undefined when it has none. */
function outChannels(l: Layer): number | undefined {
  const w = l.tensors.find((t) => t.role === 'weight')?.tensor;
  return w && w.shape.length >= 2 ? w.shape[0] : undefined;
}

/** Channels a norm layer normalises (its γ, or its running mean). */
function normChannels(l: Layer): number | undefined {
  const t = l.tensors.find((x) => x.role === 'weight' || x.role === 'running_mean')?.tensor;
  return t && t.shape.length === 1 ? t.shape[0] : undefined;
}

const isNorm = (l: Layer) => l.kind === 'bn' || l.kind === 'norm';

/** Names a kernel's norm may have under the same parent: conv1 → bn1, norm1, batchnorm1; 0 → 1. */
function siblingNames(leaf: string): string[] {
  if (/^\d+$/.test(leaf)) return [String(Number(leaf) + 1)];
  const m = /^(.*?)(conv|linear|fc|dense|proj)(.*)$/i.exec(leaf);
  if (!m) return [];
  return ['bn', 'norm', 'batchnorm', 'batch_norm', 'ln', 'gn'].map((n) => `${m[1]}${n}${m[3]}`);
}

type Evidence = NormalizedBy['evidence'];

/** For one side: kernel layer name → the norm layer its output feeds, with the evidence. */
export function normFollowers(layers: readonly Layer[], graph?: Readonly<Record<string, string[]>>): Map<string, { norm: Layer; evidence: Evidence }> {
  const out = new Map<string, { norm: Layer; evidence: Evidence }>();
  // Built on first need: a state dict of 100,000 expert layers and no norm beside them needs none.
  let positions: Map<string, number> | undefined;
  const position = () => (positions ??= new Map(layers.map((l, i) => [l.name, i])));
  // Without a graph, a kernel's norm lies under the same parent (both rules below): a parent
  // with no norm layer (the experts of a mixture, 100,000 linear layers) has nothing to search.
  const normParents = new Set<string>();
  for (const l of layers) if (isNorm(l)) normParents.add(parentOf(l.name));
  layers.forEach((l, i) => {
    if (l.kind !== 'conv' && l.kind !== 'linear') return;
    const consumers = graph && Object.prototype.hasOwnProperty.call(graph, l.name) ? graph[l.name] : undefined;
    if (!consumers && !normParents.has(parentOf(l.name))) return;
    const ch = outChannels(l);
    if (ch === undefined) return;
    if (consumers) {
      const n = consumers.length === 1 ? layers[position().get(consumers[0]) ?? -1] : undefined;
      if (n && isNorm(n) && normChannels(n) === ch) out.set(l.name, { norm: n, evidence: 'graph' });
      return;
    }
    const fits = (n: Layer | undefined) => !!n && isNorm(n) && normChannels(n) === ch && parentOf(n.name) === parentOf(l.name);
    const next = layers[i + 1];
    if (fits(next)) { out.set(l.name, { norm: next, evidence: 'order' }); return; }
    // A file sorted by name (safetensors) lists bn1, bn2 before conv1, conv2: the sibling's
    // name decides, wherever it stands, except right before the kernel: that is a pre-activation
    // block (bn2 → relu → conv2), whose bn2 takes the previous conv's output, not conv2's.
    const parent = parentOf(l.name), sep = parent ? l.name[parent.length] : '';
    for (const s of siblingNames(leafOf(l.name))) {
      const j = position().get(`${parent}${sep}${s}`);
      if (j !== undefined && j !== i - 1 && fits(layers[j])) { out.set(l.name, { norm: layers[j], evidence: 'name' }); return; }
    }
  });
  return out;
}

/** The normalization each paired kernel layer feeds, when both sides say the same. */
export function normalizedLayers(pairs: readonly LayerPair[], source: readonly Layer[], target: readonly Layer[],
  graphs: { source?: Record<string, string[]>; target?: Record<string, string[]> } = {}): Map<LayerPair, NormalizedBy> {
  const fs = normFollowers(source, graphs.source), ft = normFollowers(target, graphs.target);
  if (fs.size === 0 || ft.size === 0) return new Map();
  const pairOfSource = new Map<Layer, LayerPair>(), pairOfTarget = new Map<Layer, LayerPair>();
  for (const p of pairs) { if (p.source) pairOfSource.set(p.source, p); if (p.target) pairOfTarget.set(p.target, p); }
  const out = new Map<LayerPair, NormalizedBy>();
  for (const p of pairs) {
    if (!p.source || !p.target) continue;
    const a = fs.get(p.source.name), b = ft.get(p.target.name);
    if (!a || !b) continue;
    const np = pairOfSource.get(a.norm);
    if (!np || np !== pairOfTarget.get(b.norm)) continue;
    const evidence: Evidence = a.evidence === 'graph' || b.evidence === 'graph' ? 'graph' : a.evidence === 'order' && b.evidence === 'order' ? 'order' : 'name';
    out.set(p, { layer: np.name, kind: np.source!.kind === 'bn' ? 'bn' : 'norm', evidence });
  }
  return out;
}
