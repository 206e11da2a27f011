// Mutations aimed at the pickle machine's work budgets (src/core/formats/pytorch/pickle.ts): they walk the
// opcodes of a pickle (a legacy .pt, a .pkl, or the stored data.pkl of a torch zip) and change
// what the machine is asked to build: calls (REDUCE) of container copiers on memoised values,
// BUILD with memoised state, memo gets of other entries, self-appends (cycles), swapped opcodes.
// Random bit flips almost never produce a well-formed call on a memo entry; these do.
import { Rng } from './rng';

type Mutated = { bytes: Uint8Array; step: string } | undefined;

/** Argument length of each opcode: a number of bytes, 'line' (text to \n), 'line2' (two lines), or a length prefix. */
const ARG: Record<number, number | 'line' | 'line2' | 'u8len' | 'u32len' | 'u64len'> = {
  0x80: 1, 0x95: 8, 0x2e: 0, 0x28: 0, 0x30: 0, 0x31: 0, 0x32: 0, 0x4e: 0, 0x88: 0, 0x89: 0,
  0x4a: 4, 0x4b: 1, 0x4d: 2, 0x8a: 'u8len', 0x8b: 'u32len', 0x47: 8, 0x49: 'line', 0x4c: 'line', 0x46: 'line',
  0x58: 'u32len', 0x8c: 'u8len', 0x8d: 'u64len', 0x56: 'line', 0x53: 'line', 0x54: 'u32len', 0x55: 'u8len',
  0x42: 'u32len', 0x43: 'u8len', 0x8e: 'u64len', 0x96: 'u64len',
  0x29: 0, 0x85: 0, 0x86: 0, 0x87: 0, 0x74: 0, 0x5d: 0, 0x6c: 0, 0x61: 0, 0x65: 0, 0x7d: 0, 0x64: 0, 0x73: 0, 0x75: 0,
  0x8f: 0, 0x90: 0, 0x91: 0, 0x70: 'line', 0x71: 1, 0x72: 4, 0x94: 0, 0x67: 'line', 0x68: 1, 0x6a: 4,
  0x63: 'line2', 0x93: 0, 0x52: 0, 0x81: 0, 0x92: 0, 0x69: 'line2', 0x6f: 0, 0x62: 0, 0x50: 'line', 0x51: 0,
};

interface Op { at: number; op: number; end: number }

/** The opcodes of the pickle at `start`, up to STOP (or the first byte that is not one). */
function opsOf(b: Uint8Array, start: number): Op[] {
  const ops: Op[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = start;
  while (p < b.byteLength && ops.length < 200_000) {
    const op = b[p];
    const arg = ARG[op];
    if (arg === undefined) break;
    let end = p + 1;
    if (typeof arg === 'number') end += arg;
    else if (arg === 'line' || arg === 'line2') {
      for (let k = arg === 'line' ? 1 : 2; k > 0; k--) { const nl = b.indexOf(0x0a, end); if (nl < 0) return ops; end = nl + 1; }
    } else if (arg === 'u8len') { if (end + 1 > b.byteLength) break; end += 1 + b[end]; }
    else if (arg === 'u32len') { if (end + 4 > b.byteLength) break; end += 4 + dv.getUint32(end, true); }
    else { if (end + 8 > b.byteLength) break; end += 8 + Number(dv.getBigUint64(end, true)); }
    if (end > b.byteLength) break;
    ops.push({ at: p, op, end });
    if (op === 0x2e) break;
    p = end;
  }
  return ops;
}

/** Memo indices the pickle stores (BINPUT, LONG_BINPUT, MEMOIZE in order). */
function memoIndices(b: Uint8Array, ops: Op[]): number[] {
  const out: number[] = [];
  let next = 0;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const o of ops) {
    if (o.op === 0x71) out.push(b[o.at + 1]);
    else if (o.op === 0x72) out.push(dv.getUint32(o.at + 1, true));
    else if (o.op === 0x94) out.push(next++);
  }
  return out;
}

const get = (i: number): number[] => [0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff];
const global = (module: string, name: string): number[] => [0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')];

/** A snippet that leaves the stack as it found it: work on memoised values, result popped. */
function snippet(r: Rng, memo: number[]): { code: number[]; what: string } | undefined {
  if (!memo.length) return undefined;
  const m = r.pick(memo), k = r.pick(memo);
  const times = r.pick([1, 2, 16, 200]);
  switch (r.int(5)) {
    case 0: { // REDUCE: a container copier (or a bytes maker) on a memo entry, again and again
      const [mod, name] = r.pick([['builtins', 'tuple'], ['builtins', 'list'], ['builtins', 'set'], ['builtins', 'dict'], ['builtins', 'bytes'], ['collections', 'OrderedDict'], ['torch', 'Size']]);
      const code: number[] = [];
      for (let i = 0; i < times; i++) code.push(...global(mod, name), ...get(m), 0x85, 0x52, 0x30);
      return { code, what: `${times}x REDUCE ${mod}.${name}(memo ${m})` };
    }
    case 1: // BUILD: memo entry k as the state of memo entry m
      return { code: [...get(m), ...get(k), 0x62, 0x30], what: `BUILD memo ${m} with memo ${k}` };
    case 2: { // containers of many memo gets
      const code = [0x28];
      for (let i = 0; i < times; i++) code.push(...get(r.pick(memo)));
      code.push(r.pick([0x74, 0x6c]), 0x30);
      return { code, what: `container of ${times} memo gets` };
    }
    case 3: // a list that holds itself (or a dict holding itself): a cycle
      return { code: [...get(m), ...get(m), 0x61, 0x30], what: `APPEND memo ${m} to itself` };
    default: // dict items from memo entries
      return { code: [...get(m), 0x28, ...get(k), ...get(m), 0x75, 0x30], what: `SETITEMS memo ${k}: memo ${m} into memo ${m}` };
  }
}

/** Opcodes that take no argument and may stand for one another (same length: zip sizes stay right). */
const SWAPS = [0x52, 0x62, 0x61, 0x73, 0x85, 0x86, 0x87, 0x74, 0x6c, 0x65, 0x75, 0x90, 0x91, 0x32, 0x30];

/**
 * Mutates the pickle at [start, end) of `b`. `sameLength`: only edits that keep its length (a
 * pickle inside a zip, whose sizes we do not rewrite).
 */
export function mutatePickleAt(b: Uint8Array, start: number, r: Rng, sameLength: boolean): Mutated {
  const ops = opsOf(b, start);
  if (ops.length < 3) return undefined;
  const memo = memoIndices(b, ops);
  const kind = sameLength ? r.int(2) : r.int(3);
  if (kind === 0) { // swap an argument-less opcode for another
    const cands = ops.filter((o) => SWAPS.includes(o.op));
    if (!cands.length) return undefined;
    const o = r.pick(cands);
    const out = b.slice();
    out[o.at] = r.pick(SWAPS);
    return { bytes: out, step: `pickle op 0x${o.op.toString(16)} at ${o.at} -> 0x${out[o.at].toString(16)}` };
  }
  if (kind === 1) { // a memo get of another entry
    const gets = ops.filter((o) => o.op === 0x68 || o.op === 0x6a);
    if (!gets.length || !memo.length) return undefined;
    const o = r.pick(gets);
    const v = r.pick(memo);
    const out = b.slice();
    if (o.op === 0x68) out[o.at + 1] = v & 0xff; else new DataView(out.buffer).setUint32(o.at + 1, v, true);
    return { bytes: out, step: `pickle memo get at ${o.at} -> ${v}` };
  }
  // Insert work on memoised values just before a late opcode (after the memo is filled).
  const late = ops.slice(Math.floor(ops.length / 2), -1);
  const at = r.pick(late.length ? late : ops.slice(0, -1)).at;
  const s = snippet(r, memo);
  if (!s) return undefined;
  const out = new Uint8Array(b.byteLength + s.code.length);
  out.set(b.subarray(0, at), 0);
  out.set(s.code, at);
  out.set(b.subarray(at), at + s.code.length);
  return { bytes: out, step: `pickle at ${at}: ${s.what}` };
}

/**
 * The start of the largest of the pickles that follow one another from byte 0 (a legacy .pt is
 * four: magic number, protocol, system info, then the checkpoint's own).
 */
export function mainPickleStart(b: Uint8Array): number {
  let best = 0, bestOps = 0;
  for (let start = 0, k = 0; k < 5 && start < b.byteLength && isPickle(b.subarray(start)); k++) {
    const ops = opsOf(b, start);
    if (ops.length > bestOps) { best = start; bestOps = ops.length; }
    const last = ops[ops.length - 1];
    if (!last || last.op !== 0x2e) break;
    start = last.end;
  }
  return best;
}

/** A raw pickle stream (legacy .pt, .pkl): starts with PROTO. */
export function isPickle(b: Uint8Array): boolean {
  return b.byteLength >= 3 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5;
}
