// Groups a checkpoint's tensors into layers by name prefix, gives each tensor a role and each
// layer a kind. PyTorch (`features.0.weight`) and Keras (`conv2d/kernel:0`, `gamma`,
// `moving_mean`) names map to the same roles, so layers of both frameworks compare alike.
import { TensorInfo } from '../common/types';
import { LayerKind } from '../shared/reportTypes';
import { numel } from '../tensor/dtypes';

export interface LayerTensor {
  /** `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`, `pointwise_weight` or `other:<leaf>`. */
  role: string;
  tensor: TensorInfo;
}

export interface Layer {
  /** Name prefix shared by the layer's tensors: `features.0`, `conv2d`. */
  name: string;
  kind: LayerKind;
  tensors: LayerTensor[];
  parameters: number;
}

/** Leaf names (last name component) and the role each stands for. */
const ROLE_OF_LEAF: Record<string, string> = {
  weight: 'weight', kernel: 'weight', gamma: 'weight', embeddings: 'weight', depthwise_kernel: 'weight',
  scale: 'weight',
  // TF.js weights manifests written by hand-built models (face-api.js and its kind).
  filters: 'weight', weights: 'weight', depthwise_filter: 'weight',
  bias: 'bias', beta: 'bias',
  running_mean: 'running_mean', moving_mean: 'running_mean',
  running_var: 'running_var', moving_variance: 'running_var',
  num_batches_tracked: 'num_batches_tracked',
  pointwise_kernel: 'pointwise_weight', pointwise_filter: 'pointwise_weight',
};

/** The roles that can drive a verdict, in the order a layer lists them. */
export const ROLE_ORDER = ['weight', 'pointwise_weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];

/** Splits `features.0.weight` into layer `features.0` and leaf `weight`; `conv2d/kernel:0` into `conv2d`, `kernel`. */
export function splitTensorName(name: string): { layer: string; leaf: string } {
  const clean = name.includes(':') ? name.replace(/:\d+$/, '') : name;
  const cut = Math.max(clean.lastIndexOf('.'), clean.lastIndexOf('/'));
  if (cut < 0) return { layer: clean, leaf: clean };
  return { layer: clean.slice(0, cut), leaf: clean.slice(cut + 1) };
}

export function roleOfLeaf(leaf: string): string {
  return ROLE_OF_LEAF[leaf] ?? `other:${leaf}`;
}

const EMBED = /embed/i;
// `ln_f`, `ln1`, `encoder.ln.0`, anything with `norm` (LayerNorm, GroupNorm, RMSNorm).
const NORM = /norm|(^|[._/])ln(_\w+|\d+)?($|[._/])/i;

/** The kind of a layer from its roles, the rank of its weight, and name hints. */
export function kindOf(name: string, tensors: LayerTensor[], leaves: string[]): LayerKind {
  const has = (role: string) => tensors.some((t) => t.role === role);
  const weight = tensors.find((t) => t.role === 'weight')?.tensor;
  if (has('running_mean') || has('running_var')) return 'bn';
  if (!weight) return 'other';
  const rank = weight.shape.length;
  if (leaves.includes('embeddings') || (EMBED.test(name) && rank === 2)) return 'embedding';
  if (rank >= 3 && rank <= 5) return 'conv';
  if (rank === 2) return 'linear';
  if (rank === 1 && (has('bias') || NORM.test(name) || leaves.includes('gamma'))) return 'norm';
  return 'other';
}

/**
 * Groups tensors into layers. Network order is the order in which a layer's first tensor
 * appears in the checkpoint, unless the file declares a layer order (Keras, ONNX): then
 * layers named there come in that order and the others keep their place after the layer
 * that precedes them in the file.
 */
export function groupLayers(tensors: readonly TensorInfo[], layerOrder?: readonly string[]): Layer[] {
  // One object per layer, built as the tensors come (no group object, no list of leaves beside
  // it): of its leaves, kindOf only asks whether one is `embeddings` or `gamma`, kept as bits.
  const byName = new Map<string, number>();
  const layers: Layer[] = [];
  const leafBits: number[] = [];
  for (const t of tensors) {
    const { layer, leaf } = t.group ? { layer: t.group.layer, leaf: t.group.role } : splitTensorName(t.name);
    const lt: LayerTensor = { role: t.group ? t.group.role : roleOfLeaf(leaf), tensor: t };
    const bit = leaf === 'embeddings' ? 1 : leaf === 'gamma' ? 2 : 0;
    const i = byName.get(layer);
    // A literal holds one element where an empty array grown by push holds room for 17: a
    // state dict of 100,000 one-tensor layers kept 25 MB of empty slots.
    if (i === undefined) { byName.set(layer, layers.length); layers.push({ name: layer, kind: 'other', tensors: [lt], parameters: 0 }); leafBits.push(bit); } else { layers[i].tensors.push(lt); leafBits[i] |= bit; }
  }
  layers.forEach((l, i) => {
    if (l.tensors.length > 1) {
      // Two tensors with the same role in one layer (rare: `weight` and `kernel`) keep the first as the role holder.
      const seen = new Set<string>();
      for (const lt of l.tensors) {
        if (seen.has(lt.role) && !lt.role.startsWith('other:')) lt.role = `other:${splitTensorName(lt.tensor.name).leaf}#${seen.size}`;
        seen.add(lt.role);
      }
      l.tensors.sort((a, b) => roleRank(a.role) - roleRank(b.role));
      l.tensors = l.tensors.slice(); // exactly as long as it is (push left room to grow)
    }
    l.kind = kindOf(l.name, l.tensors, LEAVES_OF_BITS[leafBits[i]]);
    let n = 0;
    for (const x of l.tensors) n += safeNumel(x.tensor.shape);
    l.parameters = n;
  });
  return layerOrder && layerOrder.length ? orderByDeclared(layers, layerOrder) : layers;
}

/** The leaves kindOf looks for, by the bits groupLayers keeps (1: `embeddings`, 2: `gamma`). */
const LEAVES_OF_BITS: readonly string[][] = [[], ['embeddings'], ['gamma'], ['embeddings', 'gamma']];

function roleRank(role: string): number {
  const i = ROLE_ORDER.indexOf(role);
  return i < 0 ? ROLE_ORDER.length : i;
}

function safeNumel(shape: number[]): number {
  try { return numel(shape); } catch { return 0; }
}

/** Position of a layer in a declared order: its own name, or the declared name it lies under. */
function declaredIndex(name: string, index: Map<string, number>): number | undefined {
  const direct = index.get(name);
  if (direct !== undefined) return direct;
  // Keras nests weights under the layer name (`dense/dense`, `model_weights/dense/dense`).
  const parts = name.split(/[./]/);
  for (const p of parts) { const i = index.get(p); if (i !== undefined) return i; }
  for (let k = parts.length - 1; k > 0; k--) {
    const i = index.get(parts.slice(0, k).join('/')) ?? index.get(parts.slice(0, k).join('.'));
    if (i !== undefined) return i;
  }
  return undefined;
}

function orderByDeclared(layers: Layer[], layerOrder: readonly string[]): Layer[] {
  const index = new Map<string, number>();
  layerOrder.forEach((n, i) => { if (!index.has(n)) index.set(n, i); });
  let last = -1;
  const keyed = layers.map((l, i) => {
    const d = declaredIndex(l.name, index);
    // Undeclared layers stay right after the layer before them in the file.
    const key = d !== undefined ? d : last + 1e-6 * (i + 1);
    if (d !== undefined) last = d;
    return { l, key, i };
  });
  keyed.sort((a, b) => a.key - b.key || a.i - b.i);
  return keyed.map((k) => k.l);
}

/** The tensor that holds a layer's main weight (kernel), if any. */
export function mainTensor(layer: Layer): LayerTensor | undefined {
  return layer.tensors.find((t) => t.role === 'weight') ?? layer.tensors.find((t) => t.role === 'running_mean') ?? layer.tensors[0];
}
