// Quantized ONNX weights, found from the graph: which integer tensors stand for floats, and how.
// - QDQ format (onnxruntime's quantize_static, most exporters): an int8/uint8 (int16/uint16,
//   int32 bias) constant feeds DequantizeLinear(x, scale, zero_point?, axis); the op that takes
//   the DequantizeLinear's output (Conv, Gemm, MatMul, ...) gives its role and layout.
// - QOperator format: QLinearConv / QLinearMatMul take the weight with its scale and zero point;
//   QLinearConv's int32 bias is at scale x_scale * w_scale.
// - Dynamic quantization (quantize_dynamic): ConvInteger / MatMulInteger take the weight and its
//   zero point; its scale comes in after the op, through Cast → Mul(·, x_scale * w_scale).
// - onnxruntime's contrib ops (domain com.microsoft), input layouts from its ContribOperators.md:
//   QGemm (B with b_scale/b_zero_point per tensor or per column, int32 C at alpha·a_scale·b_scale),
//   MatMulIntegerToFloat, DynamicQuantizeMatMul and QAttention (B [in, out], per column).
// The float32 each weight stands for is read with the shared descriptor (formats/quantized.ts:
// StoredInt + Affine), as TF.js and TFLite quantized tensors are. Integer tensors that no
// dequantization reaches (shapes, indices) stay integers and are not judged.
import { Affine, StoredInt } from '../quantized';
import { ONNX_DTYPE, ONNX_DTYPE_NAME } from './onnxSchema';

export interface NodeInfo { opType: string; inputs: string[]; outputs: string[]; transB?: number; axis?: number; blockSize?: number; alpha?: number }

export interface QuantizedWeight {
  kind: StoredInt;
  affine: Affine;
  /** The value whose consumers give the weight's role and layout: a DequantizeLinear's output, or the weight itself. */
  via: string;
}

export interface QuantPlan {
  weights: Map<string, QuantizedWeight>;
  /** Scales and zero points (of weights or of activations): parts of a quantization, not weights. */
  params: Set<string>;
  /** A (de)quantized value → the value it quantizes: the layer graph sees through QuantizeLinear/DequantizeLinear. */
  alias: Map<string, string>;
  warnings: string[];
}

export const STORED_INT: Partial<Record<number, StoredInt>> = {
  [ONNX_DTYPE.INT8]: 'int8', [ONNX_DTYPE.UINT8]: 'uint8', [ONNX_DTYPE.INT16]: 'int16', [ONNX_DTYPE.UINT16]: 'uint16', [ONNX_DTYPE.INT32]: 'int32',
};

/** What the plan needs to know of a constant (initializer or Constant node tensor). */
export interface ConstantInfo { dims: number[]; dataType: number }

/** Which inputs of an op are scales or zero points. */
const PARAM_INPUTS: Record<string, (i: number) => boolean> = {
  QuantizeLinear: (i) => i >= 1, DequantizeLinear: (i) => i >= 1,
  QLinearConv: (i) => [1, 2, 4, 5, 6, 7].includes(i), QLinearMatMul: (i) => [1, 2, 4, 5, 6, 7].includes(i),
  ConvInteger: (i) => i >= 2, MatMulInteger: (i) => i >= 2,
  QLinearAdd: (i) => [1, 2, 4, 5, 6, 7].includes(i), QLinearMul: (i) => [1, 2, 4, 5, 6, 7].includes(i),
  QLinearSigmoid: (i) => i >= 1, QLinearLeakyRelu: (i) => i >= 1, QLinearSoftmax: (i) => i >= 1,
  QLinearAveragePool: (i) => i >= 1, QLinearGlobalAveragePool: (i) => i >= 1,
  QLinearConcat: (i) => i < 2 || (i - 2) % 3 !== 0,
  QGemm: (i) => [1, 2, 4, 5, 7, 8].includes(i), MatMulIntegerToFloat: (i) => i >= 2 && i <= 5,
  DynamicQuantizeMatMul: (i) => i === 2 || i === 3, QAttention: (i) => [3, 4, 6, 7].includes(i),
};

/** Ops whose first output is their first input (de)quantized: the graph of layers looks through them. */
export const PASS_THROUGH = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear']);

/**
 * A scale or zero point is at most this many numbers: `values` (formats/onnx smallValues) reads
 * none larger, so it is also the most blocked scales one tensor can have.
 */
export const MAX_SMALL_VALUES = 1 << 20;
/** Blocked scales are held as numbers (16 bytes with their offsets) for as long as the model is open: at most this many for a whole model. */
const MAX_HELD_SCALES = 1 << 24;

const FLOATS = new Set<number>([ONNX_DTYPE.FLOAT, ONNX_DTYPE.FLOAT16, ONNX_DTYPE.BFLOAT16, ONNX_DTYPE.DOUBLE]);

/**
 * Finds the quantized weights of a graph. `values` reads a small constant's numbers (a scale, a
 * zero point); it returns undefined for a name that is no constant or too large to be one.
 */
export async function planQuantization(nodes: readonly NodeInfo[], constants: ReadonlyMap<string, ConstantInfo>,
  values: (name: string) => Promise<number[] | undefined>): Promise<QuantPlan> {
  const plan: QuantPlan = { weights: new Map(), params: new Set(), alias: new Map(), warnings: [] };
  const consumers = new Map<string, { node: NodeInfo; index: number }[]>();
  const producer = new Map<string, NodeInfo>();
  for (const node of nodes) {
    node.inputs.forEach((name, index) => { if (name) { const l = consumers.get(name) ?? []; l.push({ node, index }); consumers.set(name, l); } });
    for (const o of node.outputs) producer.set(o, node);
  }
  // Scales and zero points: constants every use of which is a scale or zero-point input.
  for (const [name, uses] of consumers) {
    if (constants.has(name) && uses.every((u) => PARAM_INPUTS[u.node.opType]?.(u.index))) plan.params.add(name);
  }
  const intConstant = (name: string | undefined) => {
    const c = name ? constants.get(name) : undefined;
    return c && STORED_INT[c.dataType] ? { ...c, kind: STORED_INT[c.dataType]! } : undefined;
  };
  const isFloatConstant = (name: string) => FLOATS.has(constants.get(name)?.dataType ?? -1);

  /**
   * Records `name` as quantized with `scale`/`zero` along `axis`, or says why not. The scale may be
   * a product: times the constant `scaleTimes` (a bias's input scale) and `factor` (QGemm's alpha).
   */
  const record = async (name: string, scaleName: string | undefined, zeroName: string | undefined, axis: number, via: string, scaleTimes?: string, factor = 1): Promise<void> => {
    const w = intConstant(name);
    if (!w || plan.weights.has(name)) return;
    const skip = (why: string) => { plan.warnings.push(`${name}: ${w.kind} weights ${why}; left as integers, not judged`); };
    const bad = typeMismatch(w, scaleName, zeroName);
    if (bad) return skip(bad);
    let scale = scaleName && isFloatConstant(scaleName) ? await values(scaleName) : undefined;
    if (scale && scaleTimes) {
      const k = isFloatConstant(scaleTimes) ? await values(scaleTimes) : undefined;
      scale = k && k.length === 1 ? scale.map((s) => s * k[0]) : undefined;
    }
    if (scale && factor !== 1) scale = scale.map((s) => s * factor);
    if (!scale || scale.length === 0) return skip('whose scale is not a constant in the file');
    const zero = zeroName ? await values(zeroName) : [0];
    const rank = w.dims.length, ax = axis < 0 ? axis + rank : axis;
    const channels = scale.length;
    if (!zero || (zero.length !== 1 && zero.length !== channels) || (channels > 1 && (ax < 0 || ax >= rank || w.dims[ax] !== channels))) {
      plan.warnings.push(`${name}: ${channels} scales and ${zero?.length ?? 'no'} zero points do not fit its shape [${w.dims.join(', ')}] along axis ${axis}; left as integers, not judged`);
      return;
    }
    const z = (c: number) => zero.length === 1 ? zero[0] : zero[c];
    plan.weights.set(name, { kind: w.kind, affine: { scale, offset: scale.map((s, c) => -z(c) * s), axis: channels > 1 ? ax : undefined }, via });
  };

  /** Why a weight's scale or zero point cannot be its own (undefined: they can). */
  const typeMismatch = (w: ConstantInfo & { kind: StoredInt }, scaleName: string | undefined, zeroName: string | undefined): string | undefined => {
    // ONNX (and onnxruntime's contrib ops) give a zero point the weight's own type: one of another type is no zero point of it.
    const zeroType = zeroName ? constants.get(zeroName)?.dataType : undefined;
    if (zeroType !== undefined && zeroType !== w.dataType) return `whose zero point ${zeroName} is ${ONNX_DTYPE_NAME[zeroType]?.toLowerCase() ?? `type ${zeroType}`}, not ${w.kind}`;
    if (scaleName && constants.has(scaleName) && !isFloatConstant(scaleName)) return `whose scale ${scaleName} is ${ONNX_DTYPE_NAME[constants.get(scaleName)!.dataType]?.toLowerCase() ?? 'no float'}, not a float`;
    return undefined;
  };

  let scalesHeld = 0;
  /**
   * Blocked quantization (DequantizeLinear with block_size, opset 21): the scale (and zero point)
   * has the weight's shape with its axis cut into ceil(size / block_size) blocks.
   */
  const recordBlocked = async (name: string, scaleName: string | undefined, zeroName: string | undefined, axis: number, block: number, via: string): Promise<void> => {
    const w = intConstant(name);
    if (!w || plan.weights.has(name)) return;
    const skip = (why: string) => { plan.warnings.push(`${name}: ${w.kind} weights in blocks of ${block} ${why}; left as integers, not judged`); };
    const bad = typeMismatch(w, scaleName, zeroName);
    if (bad) return skip(bad);
    const s = scaleName ? constants.get(scaleName) : undefined;
    if (!s || !isFloatConstant(scaleName!)) return skip('whose scale is not a constant in the file');
    const rank = w.dims.length, ax = axis < 0 ? axis + rank : axis;
    if (!(ax >= 0 && ax < rank) || !(block > 0)) return skip(`along axis ${axis} of its shape [${w.dims.join(', ')}]`);
    const want = w.dims.map((d, k) => (k === ax ? Math.ceil(d / block) : d));
    const z = zeroName ? constants.get(zeroName) : undefined;
    for (const [what, c] of [['scale', s], ['zero point', z]] as const) {
      if (c && c.dims.join() !== want.join()) return skip(`along axis ${ax} whose ${what} has shape [${c.dims.join(', ')}], not [${want.join(', ')}] for its shape [${w.dims.join(', ')}]`);
    }
    const n = want.reduce((a, b) => a * b, 1);
    if (n > MAX_SMALL_VALUES || scalesHeld + n > MAX_HELD_SCALES) return skip(`whose ${n} scales are more than Reuse Lens holds (${MAX_SMALL_VALUES} a tensor, ${MAX_HELD_SCALES} a model)`);
    const scale = await values(scaleName!);
    const zero = zeroName ? await values(zeroName) : undefined;
    if (!scale || scale.length !== n || (zeroName && (!zero || zero.length !== n))) return skip('whose scale or zero point cannot be read');
    scalesHeld += n;
    plan.weights.set(name, { kind: w.kind, affine: { scale, offset: scale.map((v, c) => -(zero ? zero[c] : 0) * v), axis: ax, block }, via });
  };

  const unread = new Set<string>();
  for (const node of nodes) {
    const [x] = node.inputs;
    switch (node.opType) {
      case 'QuantizeLinear': case 'DynamicQuantizeLinear':
        if (node.outputs[0] && x) plan.alias.set(node.outputs[0], x);
        break;
      case 'DequantizeLinear':
        if (node.outputs[0] && x) plan.alias.set(node.outputs[0], x);
        if (node.blockSize) { await recordBlocked(x, node.inputs[1], node.inputs[2] || undefined, node.axis ?? 1, node.blockSize, node.outputs[0] ?? x); break; }
        if (intConstant(x)) { await record(x, node.inputs[1], node.inputs[2], node.axis ?? 1, node.outputs[0] ?? x); break; }
        // onnxruntime's quantized Gather: the int8 table is gathered as integers, the rows dequantized after (one scale for the table).
        if (producer.get(x)?.opType === 'Gather' && intConstant(producer.get(x)!.inputs[0])) {
          const table = producer.get(x)!.inputs[0];
          const scale = node.inputs[1] ? constants.get(node.inputs[1]) : undefined;
          if (scale && scale.dims.reduce((a, b) => a * b, 1) !== 1) plan.warnings.push(`${table}: a table gathered before a per-axis DequantizeLinear is not read; left as integers, not judged`);
          else await record(table, node.inputs[1], node.inputs[2], 0, table);
        }
        break;
      case 'QLinearConv':
        await record(node.inputs[3], node.inputs[4], node.inputs[5], 0, node.inputs[3]);
        // The int32 bias is at scale x_scale * w_scale, zero point 0.
        if (node.inputs[8]) await record(node.inputs[8], node.inputs[4], undefined, 0, node.inputs[8], node.inputs[1]);
        break;
      case 'QLinearMatMul': {
        const b = intConstant(node.inputs[3]);
        if (b) await record(node.inputs[3], node.inputs[4], node.inputs[5], b.dims.length - 1, node.inputs[3]);
        break;
      }
      case 'ConvInteger': case 'MatMulInteger': {
        const w = intConstant(node.inputs[1]);
        if (!w) break;
        const scale = integerOpScale(node, consumers, producer, isFloatConstant);
        if (scale) plan.params.add(scale);
        await record(node.inputs[1], scale, node.inputs[3] || undefined, node.opType === 'ConvInteger' ? 0 : w.dims.length - 1, node.inputs[1]);
        break;
      }
      case 'QGemm': {
        // B is (K, N), or (N, K) with transB; b_scale is per tensor or per column (N).
        const b = intConstant(node.inputs[3]);
        if (b) await record(node.inputs[3], node.inputs[4], node.inputs[5] || undefined, node.transB ? 0 : b.dims.length - 1, node.inputs[3]);
        // C: int32 with zero point 0 at scale alpha * a_scale * b_scale, per column as b_scale is.
        const c = intConstant(node.inputs[6]);
        if (c) await record(node.inputs[6], node.inputs[4], undefined, c.dims.length - 1, node.inputs[6], node.inputs[1], node.alpha ?? 1);
        break;
      }
      // B [K, N] (QAttention's [in, 3·hidden]) with its scale and zero point per tensor or per column.
      case 'MatMulIntegerToFloat': case 'DynamicQuantizeMatMul': case 'QAttention': {
        const [scale, zero] = CONTRIB_MATMUL[node.opType];
        const b = intConstant(node.inputs[1]);
        if (b) await record(node.inputs[1], node.inputs[scale], node.inputs[zero] || undefined, b.dims.length - 1, node.inputs[1]);
        break;
      }
      default:
        // Quantized ops whose weights are not read (packed bits, per-direction scales): say so, once per weight.
        if (UNREAD_QUANTIZED_OPS.has(node.opType)) {
          for (const name of node.inputs) {
            const w = intConstant(name);
            if (w && w.dims.length >= 1 && w.dims.reduce((a, b) => a * b, 1) >= 2 && !plan.params.has(name) && !unread.has(name)) {
              unread.add(name);
              plan.warnings.push(`${name}: ${w.kind} weights of ${node.opType} are not read (${UNREAD_QUANTIZED_OPS.get(node.opType)}); left as integers, not judged`);
            }
          }
        }
    }
  }
  return plan;
}

/** onnxruntime's quantized ops whose weights Reuse Lens does not dequantize, and why. */
const UNREAD_QUANTIZED_OPS = new Map([
  ['MatMulNBits', 'packed n-bit blocks'], ['GatherBlockQuantized', 'packed blocks'], ['MatMulBnb4', 'packed 4-bit blocks'],
  ['MatMulFpQ4', 'packed 4-bit blocks'], ['QMoE', 'packed expert weights'], ['DynamicQuantizeLSTM', 'scales per direction and gate'],
  ['QEmbedLayerNormalization', 'embedding tables with their own scales'], ['QOrderedMatMul', 'ordered layouts'], ['QOrderedAttention', 'ordered layouts'],
]);

/** The input positions of B's scale and zero point in the contrib ops that take B [K, N] as their input 1. */
const CONTRIB_MATMUL: Record<string, [number, number]> = { MatMulIntegerToFloat: [3, 5], DynamicQuantizeMatMul: [2, 3], QAttention: [4, 7] };

/**
 * The weight scale of a ConvInteger/MatMulInteger, as onnxruntime's dynamic quantization writes
 * it: the op's int32 output is Cast to float and multiplied by x_scale * w_scale (a Mul of the
 * activation's run-time scale and the weight's constant one), or by a constant directly.
 */
function integerOpScale(node: NodeInfo, consumers: ReadonlyMap<string, { node: NodeInfo; index: number }[]>, producer: ReadonlyMap<string, NodeInfo>,
  isFloatConstant: (name: string) => boolean): string | undefined {
  for (const cast of consumers.get(node.outputs[0]) ?? []) {
    if (cast.node.opType !== 'Cast') continue;
    for (const mul of consumers.get(cast.node.outputs[0]) ?? []) {
      if (mul.node.opType !== 'Mul') continue;
      const other = mul.node.inputs[1 - mul.index];
      if (other === undefined) continue;
      if (isFloatConstant(other)) return other;
      const p = producer.get(other);
      const found = p?.opType === 'Mul' ? p.inputs.filter(isFloatConstant) : [];
      if (found.length === 1) return found[0];
    }
  }
  return undefined;
}
