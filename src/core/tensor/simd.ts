// A WebAssembly SIMD version of the float32 pair kernel (kernels.ts sumF32), and the memory
// arenas it works in. Why: the profile of a float32 compare showed the JS loop as the largest
// single cost after reading (about 5 cycles per element: one subtract, four multiplies, four
// float64 adds, an abs and a compare, one element at a time). The SIMD loop does two float64
// lanes per instruction: 0.84 ns per element against 1.31 for the JS loop on the same chunks.
//
// WebAssembly can only read its own linear memory, and copying each chunk in would cost
// what the SIMD saves; so chunk buffers are carved out of a WebAssembly.Memory (an arena per
// FilePool), the file is read straight into them, and the kernel runs where the bytes land.
// Half floats are decoded there too (f16ToF32, bf16ToF32): SIMD bit operations instead of a
// table lookup per element, which had made a float16 compare 2.4x slower than float32.
//
// The module is about 500 bytes, assembled below from the opcodes (no toolchain needed). If the
// runtime lacks WebAssembly SIMD, `createArena` returns undefined and the JS loops run.

/** Where the kernel leaves its sums (bytes 0..64, see Arena); chunk slots start at 64 KiB. */
const RESULT_BYTES = 65536;

/** Where cellSums writes (in the result area, after the sums), and how many cells fit. */
const CELLS_AT = 72;
/** Where cellSums leaves the total of the cell sums it wrote (finite iff every one is). */
const CELLS_TOTAL_AT = 64;
export const CELL_SLOTS = (RESULT_BYTES - CELLS_AT) / 8;

/** Byte size of one arena slot: one default chunk of float32 (see tensorData DEFAULT_CHUNK_ELEMENTS). */
export const SLOT_BYTES = 1 << 20;
/** Slots per arena: two streams of a pair (four byte buffers and two decode buffers each). */
export const SLOTS = 12;

export interface Arena {
  readonly memory: WebAssembly.Memory;
  /** Sums over n (a multiple of 8) float32 pairs at byte offsets s and t of the arena. */
  sumF32(s: number, t: number, n: number): void;
  /** The same sums over n (a multiple of 8) bfloat16 pairs, summed where they lie (no decode). */
  sumBF16(s: number, t: number, n: number): void;
  /** Decodes n (a multiple of 4) float16 at byte offset src into float32 at dst, exactly. */
  f16ToF32(src: number, dst: number, n: number): void;
  /** Same for bfloat16. */
  bf16ToF32(src: number, dst: number, n: number): void;
  /**
   * Sums of squared differences per cell of n float32 pairs at s and t (the first cell `first`
   * elements long, the others `cellSize`), written to `cells` (at most CELL_SLOTS of them);
   * returns their total, which is finite only when every cell's sum is.
   */
  cellSums(s: number, t: number, n: number, first: number, cellSize: number): number;
  readonly cells: Float64Array;
  /** dd, ss, tt, st of the last sumF32 or sumBF16. */
  readonly result: Float64Array;
  /** Its largest difference per lane (0..3) and smallest (4..7); max |d| is the larger of the two ends. */
  readonly extremes: Float32Array;
  /** A free slot (SLOT_BYTES long, 16-aligned), or undefined when all are in use. */
  take(): Uint8Array | undefined;
  give(slot: Uint8Array): void;
}

const arenas = new WeakMap<ArrayBufferLike, Arena>();

/** The arena whose memory `buffer` is, if any: how accumulatePair knows the SIMD kernel can run. */
export function arenaOf(buffer: ArrayBufferLike): Arena | undefined {
  return arenas.get(buffer);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, to hand to a worker thread (a Module crosses threads without recompiling). */
export function simdModule(): WebAssembly.Module | undefined {
  return module() ?? undefined;
}

/** Adopts a module compiled by the thread that started this one: saves ~10 ms of a thread's start. */
export function adoptSimdModule(m: unknown): void {
  if (compiled === undefined && m instanceof WebAssembly.Module) compiled = m;
}

function module(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(assemble());
  } catch {
    compiled = null; // no SIMD in this runtime: the JS loops do the work
  }
  return compiled;
}

export function createArena(): Arena | undefined {
  const mod = module();
  if (!mod) return undefined;
  const pages = (RESULT_BYTES + SLOTS * SLOT_BYTES) / 65536;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const instance = new WebAssembly.Instance(mod, { env: { mem: memory } });
  type Fn = (a: number, b: number, n: number) => void;
  type Cells = (s: number, t: number, n: number, first: number, cellSize: number, out: number) => void;
  const ex = instance.exports as { sumF32: Fn; sumBF16: Fn; f16ToF32: Fn; bf16ToF32: Fn; cellSums: Cells };
  const buf = memory.buffer;
  const free: Uint8Array[] = [];
  const total = new Float64Array(buf, CELLS_TOTAL_AT, 1);
  for (let i = SLOTS - 1; i >= 0; i--) free.push(new Uint8Array(buf, RESULT_BYTES + i * SLOT_BYTES, SLOT_BYTES));
  const arena: Arena = {
    memory,
    sumF32: ex.sumF32,
    sumBF16: ex.sumBF16,
    f16ToF32: ex.f16ToF32,
    bf16ToF32: ex.bf16ToF32,
    cellSums: (s, t, n, first, cellSize) => { ex.cellSums(s, t, n, first, cellSize, CELLS_AT); return total[0]; },
    cells: new Float64Array(buf, CELLS_AT, CELL_SLOTS),
    result: new Float64Array(buf, 0, 4),
    extremes: new Float32Array(buf, 32, 8),
    take: () => free.pop(),
    give: (slot) => { free.push(slot); },
  };
  arenas.set(buf, arena);
  return arena;
}

// ---- the module, byte by byte ------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Opcodes (WebAssembly core + SIMD proposal, final numbering).
const I32 = 0x7f, V128 = 0x7b;
const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i], tee = (i: number) => [0x22, i];
const i32const = (v: number) => [0x41, ...sleb(v | 0)];
const I32_ADD = 0x6a, I32_SHL = 0x74, I32_LT_U = 0x49, I32_GE_U = 0x4f;
const F64_ADD = 0xa0;
const f64store = (offset: number) => [0x39, 3, ...uleb(offset)];
const simd = (op: number) => [0xfd, ...uleb(op)];
// v128.load64_zero: two float32 into the low half (align 2^2: float32 chunks are 4-aligned).
const load64 = (offset: number) => [...simd(0x5d), 2, offset];
const PROMOTE_LOW = simd(0x5f); // f64x2.promote_low_f32x4
const extract = (lane: number) => [...simd(0x21), lane]; // f64x2.extract_lane
// pmin/pmax are one instruction (minpd/maxpd); min/max would add NaN and ±0 handling we do
// not need: a NaN anywhere already makes the sums NaN, and then kernels.ts recounts carefully.
const F64X2_ADD = simd(0xf0);
const F32X4_ADD = simd(0xe4), F32X4_SUB = simd(0xe5), F32X4_PMIN = simd(0xea), F32X4_PMAX = simd(0xeb);
const vload = (offset: number) => [...simd(0x00), 1, ...uleb(offset)]; // align 2^1: bfloat16 too

const v128store = (offset: number) => [...simd(0x0b), 2, ...uleb(offset)];
const V128_ZERO = [...simd(0x0c), ...new Array(16).fill(0)];
// i8x16.shuffle of a vector with itself: lanes 2, 3 to 0, 1, so promote_low reaches the high half.
const SWAP_HALVES = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const SELECT = 0x1b, I32_GT_U = 0x4b;
/** Steps of 8 elements a float32 block sum takes before it is folded into float64 (see pairSumBody). */
const BLOCK_STEPS = 8;

// For the half-float decoders.
const V128_STORE = [...simd(0x0b), 2, 0];
const EXTEND_LOW_U16 = simd(0xa9); // i32x4.extend_low_i16x8_u
const I32X4_SHL = simd(0xab), I32X4_GT_S = simd(0x3b), I32X4_SPLAT = simd(0x11);
const V128_AND = simd(0x4e), V128_OR = simd(0x50), V128_BITSELECT = simd(0x52);
const F32X4_MUL = simd(0xe6), F32X4_SPLAT = simd(0x13);
const f32const = (v: number) => { const b = new Uint8Array(new Float32Array([v]).buffer); return [0x43, ...b]; };

/** A function (src, dst, n): for each 4 halves at src, `convert` turns the i32x4 (zero-extended u16) in local 4 into float32 bits on the stack. */
function decoder(constants: number[], constantLocals: number, convert: number[]): number[] {
  return [
    2, 1, I32, 1 + constantLocals, V128, // locals: 3 end; 4 x, then constants
    ...constants,
    ...get(0), ...get(2), ...i32const(1), I32_SHL, I32_ADD, ...set(3), // end = src + 2n
    0x02, 0x40,
    ...get(0), ...get(3), I32_GE_U, 0x0d, 0,
    0x03, 0x40,
    ...get(0), ...load64(0), ...EXTEND_LOW_U16, ...set(4),
    ...get(1), ...convert, ...V128_STORE,
    ...get(0), ...i32const(8), I32_ADD, ...set(0),
    ...get(1), ...i32const(16), I32_ADD, ...set(1),
    ...get(0), ...get(3), I32_LT_U, 0x0d, 0,
    0x0b,
    0x0b,
    0x0b,
  ];
}

function f16Body(): number[] {
  // float16 → float32 without a table: move exponent and mantissa into float32 position and
  // multiply by 2^112, which rebiases the exponent and turns float16 subnormals into the right
  // float32 normals (WebAssembly keeps subnormals: no flush to zero). Inf/NaN (exponent 31)
  // take exponent 255 instead, keeping the mantissa; then the sign goes back on.
  // Constant locals: 5 = 0x7fff, 6 = 2^112, 7 = 0x7bff, 8 = 0x7f800000, 9 = 0x8000.
  const constants = [
    ...i32const(0x7fff), ...I32X4_SPLAT, ...set(5),
    ...f32const(2 ** 112), ...F32X4_SPLAT, ...set(6),
    ...i32const(0x7bff), ...I32X4_SPLAT, ...set(7),
    ...i32const(0x7f800000), ...I32X4_SPLAT, ...set(8),
    ...i32const(0x8000), ...I32X4_SPLAT, ...set(9),
  ];
  const convert = [
    // bitselect(v1, v2, mask): v1 where mask is set. v1 = inf/nan bits, v2 = scaled value.
    ...get(4), ...get(5), ...V128_AND, ...i32const(13), ...I32X4_SHL, ...get(8), ...V128_OR,
    ...get(4), ...get(5), ...V128_AND, ...i32const(13), ...I32X4_SHL, ...get(6), ...F32X4_MUL,
    ...get(4), ...get(5), ...V128_AND, ...get(7), ...I32X4_GT_S,
    ...V128_BITSELECT,
    ...get(4), ...get(9), ...V128_AND, ...i32const(16), ...I32X4_SHL,
    ...V128_OR,
  ];
  return decoder(constants, 5, convert);
}

function bf16Body(): number[] {
  return decoder([], 0, [...get(4), ...i32const(16), ...I32X4_SHL]);
}

function cellSumsBody(): number[] {
  // (s, t, n, first, cellSize, out): for consecutive cells of float32 pairs starting at byte
  // offsets s and t — the first cell `first` elements long, the others `cellSize`, the last cut
  // at n — writes each cell's sum of squared differences as a float64 at out, out + 8, ...,
  // and their total at CELLS_TOTAL_AT. Scalar float64: cells are a few elements (3×3), too
  // short for lanes. Locals: 6 end, 7 cell end (i32); 8 acc, 9 d, 10 total (f64).
  const F32_LOAD = [0x2a, 2, 0], F64_PROMOTE = 0xbb, F64_SUB = 0xa1, F64_MUL = 0xa2, F64_ZERO = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
  return [
    2, 2, I32, 3, 0x7c, // locals: 2 × i32, 3 × f64 (10: the total)
    ...get(0), ...get(2), ...i32const(2), I32_SHL, I32_ADD, ...set(6),
    ...get(0), ...get(3), ...i32const(2), I32_SHL, I32_ADD, ...set(7),
    0x02, 0x40,
    ...get(0), ...get(6), I32_GE_U, 0x0d, 0, // nothing to do
    0x03, 0x40, // each cell
    ...F64_ZERO, ...set(8),
    0x03, 0x40, // each element of the cell
    ...get(0), ...F32_LOAD, F64_PROMOTE, ...get(1), ...F32_LOAD, F64_PROMOTE, F64_SUB, ...tee(9),
    ...get(9), F64_MUL, ...get(8), F64_ADD, ...set(8),
    ...get(0), ...i32const(4), I32_ADD, ...set(0),
    ...get(1), ...i32const(4), I32_ADD, ...set(1),
    ...get(0), ...get(7), I32_LT_U, 0x0d, 0,
    0x0b,
    ...get(5), ...get(8), ...f64store(0),
    ...get(10), ...get(8), F64_ADD, ...set(10),
    ...get(5), ...i32const(8), I32_ADD, ...set(5),
    // cell end = min(cell end + 4 × cellSize, end)
    ...get(6), ...get(7), ...get(4), ...i32const(2), I32_SHL, I32_ADD, ...tee(7), ...get(7), ...get(6), I32_GT_U, SELECT, ...set(7),
    ...get(0), ...get(6), I32_LT_U, 0x0d, 0,
    0x0b,
    0x0b,
    ...i32const(CELLS_TOTAL_AT), ...get(10), ...f64store(0),
    0x0b,
  ];
}

/**
 * The pair-sum loop over float32 (`kind` 'f32') or bfloat16 ('bf16') pairs. Params: 0 s, 1 t
 * (byte offsets), 2 n (elements, a multiple of 8). Writes dd ss tt st (float64) to bytes 0..32
 * and the largest and smallest difference per lane (float32) to 32..48 and 48..64.
 *
 * Why float32 lanes inside a block: four lanes per instruction instead of two, which halves
 * the arithmetic of a compare. Each lane sums at most 2 × BLOCK_STEPS = 16 products in float32
 * before the block is folded into the float64 totals, so the rounding of one block is bounded by
 * ~18 × 2^-24 of its size (~1e-6), errors of different blocks do not add up, and the
 * totals over millions of elements stay float64: the RMSE agrees with numpy's float64 to ~1e-7.
 *
 * Why eight elements a step, in two sets of block sums: an add waits ~4 cycles for the one
 * before it on the same sum, so one set of sums capped a step of 4 elements at ~4 cycles. Two
 * sets (summed into one at the fold) halve that wait. The running max and min take the
 * pairwise max/min of the step's two differences first, for the same reason.
 *
 * Why bfloat16 is summed where it lies, not decoded first: a bfloat16 is the top half of a
 * float32, so the 8 halves of one 16-byte load are two float32 vectors after one shift (the
 * lower halves, moved up) and one mask (the upper halves, in place). Decoding into a buffer
 * and reading it back had cost more than the sums. Pairs are summed in a different order than
 * the elements' (evens and odds apart), which totals do not depend on; products of bfloat16
 * are exact in float32 (8-bit significands), so only the block sums round.
 */
function pairSumBody(kind: 'f32' | 'bf16'): number[] {
  // Locals: i32 3 end, 4 block end; v128 5 a, 6 b, 7 d, 8..11 block sums A (dd ss tt st),
  // 12 max d, 13 min d, 14..21 float64 totals (dd ss tt st, a low and a high pair of lanes
  // each), 22..25 block sums B, 26 a2, 27 b2, 28 d2, 29 the bfloat16 mask.
  const A = 8, B = 22, MAX = 12, MIN = 13, a = 5, b = 6, d = 7, a2 = 26, b2 = 27, d2 = 28, MASK = 29;
  const stepBytes = kind === 'f32' ? 32 : 16;
  const f32acc = (acc: number, x: number, y: number) => [...get(acc), ...get(x), ...get(y), ...F32X4_MUL, ...F32X4_ADD, ...set(acc)];
  const sums = (set0: number, x: number, y: number, diff: number) => [
    ...get(x), ...get(y), ...F32X4_SUB, ...tee(diff),
    ...get(diff), ...F32X4_MUL, ...get(set0), ...F32X4_ADD, ...set(set0),
    ...f32acc(set0 + 1, x, x), ...f32acc(set0 + 2, y, y), ...f32acc(set0 + 3, x, y),
  ];
  const load = kind === 'f32'
    ? [...get(0), ...vload(0), ...set(a), ...get(1), ...vload(0), ...set(b), ...get(0), ...vload(16), ...set(a2), ...get(1), ...vload(16), ...set(b2)]
    : [
      ...get(0), ...vload(0), ...tee(a2), ...i32const(16), ...I32X4_SHL, ...set(a), ...get(a2), ...get(MASK), ...V128_AND, ...set(a2),
      ...get(1), ...vload(0), ...tee(b2), ...i32const(16), ...I32X4_SHL, ...set(b), ...get(b2), ...get(MASK), ...V128_AND, ...set(b2),
    ];
  const inner = [
    ...load,
    ...sums(A, a, b, d), ...sums(B, a2, b2, d2),
    // Largest and smallest difference (no abs in the loop): max|d| = max(dmax, -dmin).
    ...get(MAX), ...get(d), ...get(d2), ...F32X4_PMAX, ...F32X4_PMAX, ...set(MAX),
    ...get(MIN), ...get(d), ...get(d2), ...F32X4_PMIN, ...F32X4_PMIN, ...set(MIN),
    ...get(0), ...i32const(stepBytes), I32_ADD, ...set(0),
    ...get(1), ...i32const(stepBytes), I32_ADD, ...set(1),
    ...get(0), ...get(4), I32_LT_U, 0x0d, 0, // br_if inner: again while s < block end
  ];
  const fold = (k: number, lo: number) => [
    ...get(A + k), ...get(B + k), ...F32X4_ADD, ...tee(A + k),
    ...PROMOTE_LOW, ...get(lo), ...F64X2_ADD, ...set(lo),
    ...get(lo + 1), ...get(A + k), ...get(A + k), ...SWAP_HALVES, ...PROMOTE_LOW, ...F64X2_ADD, ...set(lo + 1),
  ];
  const zero = (k: number) => [...V128_ZERO, ...set(k)];
  const outer = [
    // block end = min(s + BLOCK_STEPS * stepBytes, end)
    ...get(3), ...get(0), ...i32const(BLOCK_STEPS * stepBytes), I32_ADD, ...tee(4), ...get(4), ...get(3), I32_GT_U, SELECT, ...set(4),
    ...[0, 1, 2, 3].flatMap((k) => [...zero(A + k), ...zero(B + k)]),
    0x03, 0x40, ...inner, 0x0b,
    ...fold(0, 14), ...fold(1, 16), ...fold(2, 18), ...fold(3, 20),
    ...get(0), ...get(3), I32_LT_U, 0x0d, 0, // br_if outer: again while s < end
  ];
  const store = (lo: number, hi: number, offset: number) => [
    ...i32const(0), ...get(lo), ...get(hi), ...F64X2_ADD, ...tee(lo), ...extract(0), ...get(lo), ...extract(1), F64_ADD, ...f64store(offset),
  ];
  return [
    2, 2, I32, 25, V128, // local declarations
    ...(kind === 'bf16' ? [...i32const(0xffff0000), ...I32X4_SPLAT, ...set(MASK)] : []),
    ...get(0), ...get(2), ...i32const(kind === 'f32' ? 2 : 1), I32_SHL, I32_ADD, ...set(3),
    0x02, 0x40, // block
    ...get(0), ...get(3), I32_GE_U, 0x0d, 0, // br_if 0: nothing to do
    0x03, 0x40, ...outer, 0x0b, // loop ... end
    0x0b, // end block
    ...store(14, 15, 0), ...store(16, 17, 8), ...store(18, 19, 16), ...store(20, 21, 24),
    // The four max-d lanes to bytes 32..48, the four min-d lanes to 48..64 (float32).
    ...i32const(32), ...get(MAX), ...v128store(0),
    ...i32const(48), ...get(MIN), ...v128store(0),
    0x0b,
  ];
}

function assemble(): Uint8Array<ArrayBuffer> {
  const body = pairSumBody('f32'), bodyBf16 = pairSumBody('bf16');
  const f16 = f16Body(), bf16 = bf16Body(), cells = cellSumsBody();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 (i32 i32 i32) -> (), 1 (i32 × 6) -> ()
    ...section(1, [2, 0x60, 3, I32, I32, I32, 0, 0x60, 6, I32, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, 1]), // import memory env.mem, min 1 page
    ...section(3, [5, 0, 0, 0, 1, 0]), // five functions: cellSums of type 1, the others of type 0
    ...section(7, [5, ...str('sumF32'), 0x00, 0, ...str('f16ToF32'), 0x00, 1, ...str('bf16ToF32'), 0x00, 2, ...str('cellSums'), 0x00, 3, ...str('sumBF16'), 0x00, 4]),
    ...section(10, [5, ...uleb(body.length), ...body, ...uleb(f16.length), ...f16, ...uleb(bf16.length), ...bf16, ...uleb(cells.length), ...cells, ...uleb(bodyBf16.length), ...bodyBf16]),
  ]);
}
