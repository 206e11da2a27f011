// The allow-list of plain-data globals a checkpoint pickle may name (containers, numbers,
// numpy scalars, argparse namespaces, ...). Each entry says what "calling" it builds, in our
// own terms; none of them reaches anything outside this process's memory. Torch-specific
// globals (tensor rebuild functions, storage classes) live in pytorchGlobals.ts.
//
// Deliberately absent: anything that can look up attributes, import, evaluate, open files or
// run programs (builtins.getattr/eval/exec/__import__/open, os.*, posix.*, subprocess.*, ...).
// Their names simply are not here, so the interpreter refuses them when they are looked up.
import {
  CallContext, GlobalImpl, PyDict, PyFloat, PyGlobal, PyHost, PyList, PyObject, PySet, PyTuple, PyValue, asNumber,
} from './pickleValues';
import { latin1 } from './pickle';

export function impl(call: GlobalImpl['call']): GlobalImpl { return { call }; }

/** A name that may be referred to (a dtype, a class used as a marker) but not called. */
export function constant(name: string): GlobalImpl {
  return impl((_a, _k, ctx) => ctx.fail(`pickle calls ${name}, which is a constant`));
}

function items(v: PyValue): PyValue[] | undefined {
  if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) return v.items;
  return undefined;
}

/** A dict entry a call copies: key and value slots, and an index entry (costlier than a slot). */
function chargeEntries(n: number, ctx: CallContext): void { ctx.chargeSlots(2 * n, n); }

function fillDict(d: PyDict, src: PyValue | undefined, ctx: CallContext): PyDict {
  if (src === undefined || src === null) return d;
  if (src instanceof PyDict) { chargeEntries(src.keys.length, ctx); for (let i = 0; i < src.keys.length; i++) d.set(src.keys[i], src.values[i]); return d; }
  const pairs = items(src);
  if (!pairs) return ctx.fail('pickle builds a dict from something that is not a dict or a list of pairs');
  chargeEntries(pairs.length, ctx);
  for (const p of pairs) {
    const kv = items(p);
    if (!kv || kv.length !== 2) return ctx.fail('pickle builds a dict from a list whose items are not pairs');
    d.set(kv[0], kv[1]);
  }
  return d;
}

/** A copy of the items of a list, tuple or set (tuple(x), list(x), set(x)), charged before it is made. */
function copyItems(v: PyValue | undefined, ctx: CallContext): PyValue[] {
  const src = items(v ?? null) ?? [];
  ctx.chargeSlots(src.length);
  return src.slice();
}

function toBytes(v: PyValue, encoding: PyValue, ctx: CallContext): Uint8Array {
  if (v instanceof Uint8Array) { ctx.charge(v.byteLength); return v.slice(); }
  if (typeof v !== 'string') return ctx.fail('pickle encodes something that is not a string');
  const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace(/_/g, '-') : 'latin-1';
  // Charged before allocating: UTF-8 takes up to 3 bytes per UTF-16 unit.
  ctx.charge(enc === 'utf-8' || enc === 'utf8' ? 3 * v.length : v.length);
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') {
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c > 255) return ctx.fail('pickle encodes a non-latin-1 string as latin-1');
      out[i] = c;
    }
    return out;
  }
  if (enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(v);
  ctx.fail(`pickle encodes a string as ${String(encoding).slice(0, 30)}, which is not supported`);
}

/** numpy.dtype: we only need the element kind, size and byte order to decode scalars. */
export class NumpyDType extends PyHost {
  readonly typeName = 'numpy.dtype';
  byteOrder = '<';
  constructor(readonly code: string) { super(); }
  override setState(state: PyValue): void {
    const s = items(state);
    if (s && typeof s[1] === 'string') this.byteOrder = s[1];
  }
  /** Decodes one element from raw bytes: numbers for ints, PyFloat for floats, booleans. */
  decode(b: Uint8Array, ctx: CallContext): PyValue {
    const m = /^([<>|=]?)([fiub])(\d*)$/.exec(this.code);
    if (!m) return new PyObject(`numpy.${this.code}`);
    const kind = m[2];
    const size = m[3] ? Number(m[3]) : 1;
    if (b.byteLength < size) return ctx.fail(`numpy scalar has ${b.byteLength} bytes, needs ${size}`);
    const le = (m[1] || this.byteOrder) !== '>';
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (kind === 'b') return b[0] !== 0;
    if (kind === 'f') {
      if (size === 8) return new PyFloat(dv.getFloat64(0, le));
      if (size === 4) return new PyFloat(dv.getFloat32(0, le));
      if (size === 2) return new PyFloat(half(dv.getUint16(0, le)));
      return new PyObject(`numpy.float${size * 8}`);
    }
    const signed = kind === 'i';
    if (size === 1) return signed ? dv.getInt8(0) : dv.getUint8(0);
    if (size === 2) return signed ? dv.getInt16(0, le) : dv.getUint16(0, le);
    if (size === 4) return signed ? dv.getInt32(0, le) : dv.getUint32(0, le);
    if (size === 8) {
      const v = signed ? dv.getBigInt64(0, le) : dv.getBigUint64(0, le);
      return Number.isSafeInteger(Number(v)) ? Number(v) : v;
    }
    return new PyObject(`numpy.${this.code}`);
  }
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const numpyScalar = impl((args, _k, ctx) => {
  const [dtype, data] = args;
  if (!(dtype instanceof NumpyDType)) return ctx.fail('numpy scalar without a dtype');
  const raw = data instanceof Uint8Array ? data : typeof data === 'string' ? toBytes(data, 'latin1', ctx) : ctx.fail('numpy scalar without data');
  return dtype.decode(raw, ctx);
});
const numpyDType = impl((args, _k, ctx) => {
  if (typeof args[0] !== 'string') return ctx.fail('numpy dtype without a type code');
  return new NumpyDType(args[0]);
});
/** numpy arrays inside checkpoints (metrics, configs) are kept as opaque data, never as tensors. */
const numpyArray = impl((args) => new PyObject('numpy.ndarray', args.slice(1)));

/** `object.__new__(cls)` in its various pickled spellings: an empty instance of an allowed class. */
const reconstructor = impl((args, kwargs, ctx) => {
  const cls = args[0];
  if (!(cls instanceof PyGlobal)) return ctx.fail('pickle reconstructs an object without a class');
  return cls.impl.call([], kwargs, ctx);
});
const newobj = impl((args, kwargs, ctx) => {
  const cls = args[0];
  if (!(cls instanceof PyGlobal)) return ctx.fail('pickle creates an object without a class');
  return cls.impl.call(args.slice(1), kwargs, ctx);
});

const pyInt = impl((args, _k, ctx) => {
  const v = args[0];
  if (v === undefined) return 0;
  if (typeof v === 'string' && /^[+-]?\d{1,300}$/.test(v.trim())) { const b = BigInt(v.trim()); return Number.isSafeInteger(Number(b)) ? Number(b) : b; }
  const n = asNumber(v);
  if (n === undefined) return ctx.fail('pickle converts a non-number to int');
  return Math.trunc(n);
});
const pyFloatImpl = impl((args, _k, ctx) => {
  const v = args[0];
  if (v === undefined) return new PyFloat(0);
  const n = typeof v === 'string' ? Number(v) : asNumber(v);
  if (n === undefined) return ctx.fail('pickle converts a non-number to float');
  return new PyFloat(n);
});

export const SAFE_GLOBALS: ReadonlyMap<string, GlobalImpl> = new Map<string, GlobalImpl>([
  ['collections.OrderedDict', impl((args, _k, ctx) => fillDict(new PyDict('OrderedDict'), args[0], ctx))],
  ['collections.defaultdict', impl(() => new PyDict('defaultdict'))],
  ['builtins.dict', impl((args, _k, ctx) => fillDict(new PyDict(), args[0], ctx))],
  ['builtins.list', impl((args, _k, ctx) => new PyList(copyItems(args[0], ctx)))],
  ['builtins.tuple', impl((args, _k, ctx) => new PyTuple(copyItems(args[0], ctx)))],
  ['builtins.set', impl((args, _k, ctx) => new PySet(false, copyItems(args[0], ctx)))],
  ['builtins.frozenset', impl((args, _k, ctx) => new PySet(true, copyItems(args[0], ctx)))],
  ['builtins.int', pyInt],
  ['builtins.float', pyFloatImpl],
  ['builtins.bool', impl((args) => { const n = asNumber(args[0] ?? false); return n === undefined ? true : n !== 0; })],
  ['builtins.str', impl((args) => typeof args[0] === 'string' ? args[0] : '')], // the same string: no copy
  ['builtins.bytes', impl((args, _k, ctx) => args.length === 0 ? new Uint8Array(0) : toBytes(args[0], args[1] ?? 'latin1', ctx))],
  ['builtins.bytearray', impl((args, _k, ctx) => args.length === 0 ? new Uint8Array(0) : toBytes(args[0], args[1] ?? 'latin1', ctx))],
  ['builtins.slice', impl((args) => new PyObject('slice', args))],
  ['builtins.complex', impl((args) => new PyObject('complex', args))],
  ['builtins.object', impl(() => new PyObject('object'))],
  ['_codecs.encode', impl((args, _k, ctx) => toBytes(args[0], args[1] ?? 'utf-8', ctx))],
  ['copyreg._reconstructor', reconstructor],
  ['copyreg.__newobj__', newobj],
  // Lightning's hyper-parameter dict: a plain dict subclass, rebuilt by NEWOBJ + SETITEMS.
  ...['pytorch_lightning.utilities.parsing', 'lightning_fabric.utilities.data', 'lightning.fabric.utilities.data']
    .map((m): [string, GlobalImpl] => [`${m}.AttributeDict`, impl(() => new PyDict('AttributeDict'))]),
  ['argparse.Namespace', impl((_a, kwargs) => { const o = new PyObject('argparse.Namespace'); if (kwargs) o.state = kwargs; return o; })],
  ['numpy.core.multiarray.scalar', numpyScalar],
  ['numpy._core.multiarray.scalar', numpyScalar],
  ['numpy.dtype', numpyDType],
  ['numpy.core.multiarray._reconstruct', numpyArray],
  ['numpy._core.multiarray._reconstruct', numpyArray],
  ['numpy.core.numeric._frombuffer', impl((args) => new PyObject('numpy.ndarray', args.slice(1)))],
  ['numpy._core.numeric._frombuffer', impl((args) => new PyObject('numpy.ndarray', args.slice(1)))],
  ['numpy.ndarray', impl(() => new PyObject('numpy.ndarray'))],
]);
