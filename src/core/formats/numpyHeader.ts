// The .npy header: magic \x93NUMPY, version, header length, then a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. We parse that literal with a tiny
// parser of our own (never eval), and map descr to our dtypes.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { DType } from '../common/types';
import { numel } from '../tensor/dtypes';

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function hasNpyMagic(b: Uint8Array): boolean {
  return b.byteLength >= 6 && NPY_MAGIC.every((x, i) => b[i] === x);
}

/** Bytes to read before the header length is known: magic, version, and a 2- or 4-byte length. */
export const NPY_PREAMBLE_BYTES = 12;

export interface NpyPreamble { major: number; minor: number; headerStart: number; headerLength: number }

/** Throws an Error with a problem description (callers turn it into a CheckpointError naming the file). */
export function parseNpyPreamble(b: Uint8Array): NpyPreamble {
  if (!hasNpyMagic(b)) throw new Error('not a NumPy .npy array (magic \\x93NUMPY missing)');
  if (b.byteLength < 10) throw new Error('truncated: .npy preamble cut short');
  const major = b[6], minor = b[7];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (major === 1) return { major, minor, headerStart: 10, headerLength: dv.getUint16(8, true) };
  if (major === 2 || major === 3) {
    if (b.byteLength < 12) throw new Error('truncated: .npy preamble cut short');
    return { major, minor, headerStart: 12, headerLength: dv.getUint32(8, true) };
  }
  throw new Error(`.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
}

export interface NpyHeader { dtype: DType; littleEndian: boolean; fortranOrder: boolean; shape: number[]; descr: string }

/** Parses the header text (the dict literal) into dtype, byte order, layout and shape. */
export function parseNpyHeader(text: string): NpyHeader {
  const v = parsePyLiteral(text);
  if (!(v instanceof Map)) throw new Error('.npy header is not a dict');
  const descr = v.get('descr');
  const fortran = v.get('fortran_order');
  const shape = v.get('shape');
  if (Array.isArray(descr)) throw new Error('.npy holds a structured array (record dtype), which is not a tensor');
  if (typeof descr !== 'string') throw new Error('.npy header has no descr');
  if (typeof fortran !== 'boolean') throw new Error('.npy header has no fortran_order');
  if (!Array.isArray(shape) || !shape.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new Error('.npy header shape is not a tuple of non-negative integers');
  }
  try { numel(shape); } catch { throw new Error(`.npy shape (${shape.join(', ')}) has too many elements`); }
  return { ...mapDescr(descr), fortranOrder: fortran, shape, descr };
}

const KINDS: Record<string, DType> = {
  f2: 'F16', f4: 'F32', f8: 'F64', i1: 'I8', i2: 'I16', i4: 'I32', i8: 'I64', u1: 'U8', b1: 'BOOL',
};

function mapDescr(descr: string): { dtype: DType; littleEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z]\d*)$/.exec(descr);
  const kind = m?.[2] ?? descr;
  if (kind === 'O') throw new Error(`.npy holds an object array (${descr}), which is a pickle; refused, nothing was executed`);
  const dtype = m ? KINDS[kind] : undefined;
  if (!dtype) throw new Error(`.npy dtype ${descr} is not supported (float16/32/64, int8/16/32/64, uint8, bool are)`);
  // '=' is "native" of the writer; numpy always writes '<' or '>' in files, so '=' is a guess.
  return { dtype, littleEndian: m![1] !== '>' };
}

/** Python literal values as the header uses them: dict → Map, tuple/list → array. */
export type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

const MAX_DEPTH = 32;

/** A parser for the literals numpy writes: dicts, tuples, lists, strings, ints, True/False/None. */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const fail = (what: string): never => { throw new Error(`.npy header is not a dict literal (${what} at character ${i})`); };
  const value = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nested too deep');
    ws();
    const c = text[i];
    if (c === '{') return dict(depth);
    if (c === '(' || c === '[') return seq(depth, c === '(' ? ')' : ']');
    if (c === "'" || c === '"') return str();
    const m = /^(-?\d+|True|False|None)/.exec(text.slice(i, i + 32));
    if (!m) return fail(`unexpected ${c === undefined ? 'end' : JSON.stringify(c)}`);
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail(`integer ${m[0]} out of range`);
    // Python 2 numpy wrote shapes as (3L, 4L).
    if (text[i] === 'L') i++;
    return n;
  };
  const str = (): string => {
    const q = text[i++];
    let s = '';
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') { s += text[i + 1] ?? ''; i += 2; } else s += text[i++];
    }
    if (text[i] !== q) fail('unterminated string');
    i++;
    return s;
  };
  const seq = (depth: number, close: string): PyValue[] => {
    i++;
    const out: PyValue[] = [];
    for (;;) {
      ws();
      if (text[i] === close) { i++; return out; }
      out.push(value(depth + 1));
      ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === close) { i++; return out; }
      fail('expected , or ' + close);
    }
  };
  const dict = (depth: number): Map<string, PyValue> => {
    i++;
    const out = new Map<string, PyValue>();
    for (;;) {
      ws();
      if (text[i] === '}') { i++; return out; }
      const k = value(depth + 1);
      if (typeof k !== 'string') fail('dict key is not a string');
      ws();
      if (text[i] !== ':') fail('expected :');
      i++;
      out.set(k as string, value(depth + 1));
      ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') { i++; return out; }
      fail('expected , or }');
    }
  };
  const v = value(0);
  ws();
  if (i < text.length) fail('trailing text');
  return v;
}
