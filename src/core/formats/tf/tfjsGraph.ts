// TF.js graph models (`format: graph-model`): the weights are the graph's Const nodes, named by
// the converter (`unknown_9`, `.../conv2d_1/Conv2D_weights`), so nothing in a weight's name says
// what it is. The ops that consume them do: a Conv2D's input 1 is a kernel in TF layout
// [h, w, in, out], a FusedBatchNorm's inputs 1-4 are gamma, beta, mean and variance, ... Each
// consuming op is a layer, in the order of the graph's nodes.
import { Layout } from '../keras';

interface GraphNode { name?: unknown; op?: unknown; input?: unknown; attr?: Record<string, { b?: boolean; list?: { s?: string[] } }> }

export interface GraphWeight {
  /** Layer (the consuming op, named after its kernel's scope) and the role of the weight in it. */
  layer: string;
  role: string;
  layout: Layout;
}

export interface GraphEvidence {
  weights: Map<string, GraphWeight>;
  /** Layers in the order of the graph's nodes. */
  layerOrder: string[];
}

const CONV = new Set(['Conv2D', 'Conv3D', '_FusedConv2D', 'Conv1D']);
const DEPTHWISE = new Set(['DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative']);
const CONV_TRANSPOSE = new Set(['Conv2DBackpropInput', 'Conv3DBackpropInputV2']);
const MATMUL = new Set(['MatMul', '_FusedMatMul', 'BatchMatMul', 'BatchMatMulV2']);
const BATCH_NORM = new Set(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3']);
const BN_ROLES = ['weight', 'bias', 'running_mean', 'running_var'];
/** Ops a weight passes through unchanged on its way to the op that uses it. */
const PASS_THROUGH = new Set(['Identity', 'Cast']);

/** `name:1` and `^name` (control inputs) name the node `name`. */
function nodeOf(input: string): string { return input.replace(/^\^/, '').replace(/:\d+$/, ''); }

function scope(name: string): string {
  const cut = name.lastIndexOf('/');
  return cut > 0 ? name.slice(0, cut) : name;
}

/** TF layout → PyTorch layout for the weight at `index` of an op; undefined when it is not a kernel. */
function layoutFor(op: string, index: number, shape: number[], transposeB: boolean): Layout {
  const r = shape.length;
  if (index === 1 && (CONV.has(op) || CONV_TRANSPOSE.has(op)) && r >= 3 && r <= 5) {
    // [.., in, out] → [out, in, ..]; a transposed conv's [.., out, in] becomes PyTorch's [in, out, ..].
    const perm = [r - 1, r - 2, ...Array.from({ length: r - 2 }, (_, i) => i)];
    return { shape: perm.map((p) => shape[p]), storedShape: shape, permute: perm };
  }
  if (index === 1 && DEPTHWISE.has(op) && r === 4) {
    const [kh, kw, cin, mult] = shape;
    return { shape: [cin * mult, 1, kh, kw], storedShape: shape, permute: [2, 3, 0, 1] };
  }
  if (index === 1 && MATMUL.has(op) && r === 2 && !transposeB) return { shape: [shape[1], shape[0]], storedShape: shape, permute: [1, 0] };
  return { shape };
}

function roleFor(op: string, index: number, fused: string[]): string {
  if (BATCH_NORM.has(op)) return BN_ROLES[index - 1] ?? `other:${op}${index}`;
  if (CONV.has(op) || DEPTHWISE.has(op) || MATMUL.has(op) || CONV_TRANSPOSE.has(op)) {
    if (index === 1) return 'weight';
    // Fused ops carry their extra inputs after the kernel: BiasAdd's bias, Prelu's alpha.
    if (index === 2 && fused[0] === 'BiasAdd') return 'bias';
    return `other:${fused[index - 2] ?? op}`;
  }
  if (op === 'BiasAdd' && index === 1) return 'bias';
  if (op === 'Prelu' && index === 1) return 'other:alpha';
  return `other:${op}`;
}

function decodeB64(s: string): string { try { return Buffer.from(s, 'base64').toString('utf8'); } catch { return s; } }

/**
 * Kinds, roles, layouts and order of a graph model's weights from the ops that consume them.
 * `shapes` gives each weight's stored shape; weights no op consumes are left out of the map.
 */
export function graphEvidence(topology: unknown, shapes: ReadonlyMap<string, number[]>): GraphEvidence | undefined {
  const nodes = (topology as { node?: unknown })?.node;
  if (!Array.isArray(nodes)) return undefined;
  const byName = new Map<string, GraphNode>();
  for (const n of nodes as GraphNode[]) if (n && typeof n.name === 'string') byName.set(n.name, n);
  // The weights a node reads, through Identity/Cast nodes.
  const resolve = (input: string, depth = 0): string | undefined => {
    const name = nodeOf(input);
    if (shapes.has(name)) return name;
    const n = byName.get(name);
    if (depth < 8 && n && PASS_THROUGH.has(String(n.op)) && Array.isArray(n.input) && typeof n.input[0] === 'string') return resolve(n.input[0], depth + 1);
    return undefined;
  };
  const weights = new Map<string, GraphWeight>();
  const layerOrder = new Set<string>();
  for (const n of nodes as GraphNode[]) {
    if (!n || typeof n.op !== 'string' || n.op === 'Const' || PASS_THROUGH.has(n.op) || !Array.isArray(n.input)) continue;
    const inputs = (n.input as unknown[]).map((x) => (typeof x === 'string' && !x.startsWith('^') ? resolve(x) : undefined));
    if (!inputs.some((x) => x !== undefined)) continue;
    const fused = (n.attr?.fused_ops?.list?.s ?? []).map(decodeB64);
    const transposeB = !!n.attr?.transpose_b?.b;
    // The layer is named after its kernel's scope when the kernel has one (`model/conv2d_1`), else the op's.
    const kernel = inputs[1];
    const layer = kernel && kernel.includes('/') ? scope(kernel) : scope(String(n.name));
    let used = false;
    inputs.forEach((w, index) => {
      if (w === undefined || weights.has(w) || index === 0) return;
      weights.set(w, { layer, role: roleFor(n.op as string, index, fused), layout: layoutFor(n.op as string, index, shapes.get(w)!, transposeB) });
      used = true;
    });
    if (used) layerOrder.add(layer);
  }
  return { weights, layerOrder: [...layerOrder] };
}
