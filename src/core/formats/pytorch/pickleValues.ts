// The values our pickle interpreter builds. Plain data only: a pickle never gets to create an
// object with behaviour, so nothing it describes can run. Containers record how deeply they
// nest, so that deep structures are refused while they are built instead of overflowing the
// JS stack later.

export type PyValue =
  | null | boolean | number | bigint | string | Uint8Array | PyFloat
  | PyTuple | PyList | PyDict | PySet | PyGlobal | PyObject | PyHost;

/**
 * A Python float. Python ints are JS numbers (bigint beyond 2^53); floats are boxed so that
 * `best_acc = 1.0` is still listed as a float.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** int, float or bool as a JS number; undefined for anything else. */
export function asNumber(v: PyValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

/** Anything that holds other values. `depth` is 1 + the deepest child seen when it was added. */
export abstract class PyContainer {
  depth = 1;
  /** Called whenever a child is added; returns the new depth (the VM checks the limit). */
  grow(child: PyValue): number {
    const d = depthOf(child) + 1;
    if (d > this.depth) this.depth = d;
    return this.depth;
  }
}

export class PyTuple extends PyContainer {
  constructor(readonly items: PyValue[]) {
    super();
    for (const v of items) this.grow(v);
  }
}

export class PyList extends PyContainer {
  /** `items` is taken, not copied (a caller that copies has charged for it). */
  constructor(readonly items: PyValue[] = []) {
    super();
    for (const v of items) this.grow(v);
  }
}

export class PySet extends PyContainer {
  constructor(readonly frozen = false, readonly items: PyValue[] = []) {
    super();
    for (const v of items) this.grow(v);
  }
}

/** dict / OrderedDict / defaultdict, insertion ordered. Keys that are primitives are unique. */
export class PyDict extends PyContainer {
  readonly keys: PyValue[] = [];
  readonly values: PyValue[] = [];
  private readonly index = new Map<string | number | boolean | bigint | null, number>();
  /** Attributes set by BUILD (an OrderedDict's `_metadata`); kept, not listed as items. */
  attributes?: PyValue;
  constructor(readonly typeName = 'dict') { super(); }

  set(k: PyValue, v: PyValue): void {
    this.grow(k); this.grow(v);
    const p = primitiveKey(k);
    if (p !== undefined) {
      const at = this.index.get(p);
      if (at !== undefined) { this.values[at] = v; return; }
      this.index.set(p, this.keys.length);
    }
    this.keys.push(k);
    this.values.push(v);
  }

  get(k: string): PyValue | undefined {
    const at = this.index.get(k);
    return at === undefined ? undefined : this.values[at];
  }

  get size(): number { return this.keys.length; }
}

function primitiveKey(k: PyValue): string | number | boolean | bigint | null | undefined {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return k;
  return undefined;
}

/** What a global from the allow-list does when a pickle "calls" it. We interpret; we never execute. */
export interface GlobalImpl {
  /** REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ: build a value from the arguments. */
  call(args: PyValue[], kwargs: PyDict | undefined, ctx: CallContext): PyValue;
}

export interface CallContext {
  /** Throws a CheckpointError about this file. */
  fail(problem: string): never;
  /** Counts `bytes` of string or bytes data a call is about to build against the pickle's object budget. */
  charge(bytes: number): void;
  /** Counts `n` container slots (and `objects` new containers) a call is about to build. */
  chargeSlots(n: number, objects?: number): void;
}

/** A reference to an allow-listed global (a class or function we know how to interpret). */
export class PyGlobal {
  constructor(readonly fullName: string, readonly impl: GlobalImpl) {}
}

/** An instance of an allow-listed class we keep as data (argparse.Namespace, numpy array, ...). */
export class PyObject extends PyContainer {
  state: PyValue = null;
  constructor(readonly className: string, readonly args: PyValue[] = []) {
    super();
    for (const a of args) this.grow(a);
  }
}

/** Values produced by a format module's globals (tensors, storages). */
export abstract class PyHost {
  abstract readonly typeName: string;
  /** BUILD on this value; default: ignore (the state cannot make us do anything). */
  setState(_state: PyValue, _ctx: CallContext): void { /* nothing */ }
}

export function depthOf(v: PyValue): number {
  return v instanceof PyContainer ? v.depth : 0;
}

/** Python's name for the type of a value, for listings. */
export function typeNameOf(v: PyValue): string {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number': return 'int';
    case 'bigint': return 'int';
    case 'string': return 'str';
  }
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyFloat) return 'float';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return v.typeName;
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyGlobal) return 'global';
  if (v instanceof PyObject) return v.className;
  return (v as PyHost).typeName;
}

/**
 * A short printable rendering, like Python's repr but cut at `maxLen` characters. Iterative in
 * effect: it stops descending once the budget is spent, so shared or cyclic structures end.
 */
export function shortRepr(v: PyValue, maxLen = 120): string {
  const out: string[] = [];
  let len = 0;
  const push = (s: string): boolean => { out.push(s); len += s.length; return len < maxLen; };
  const walk = (x: PyValue, depth: number): boolean => {
    if (len >= maxLen) return false;
    if (depth > 8) return push('…');
    if (x === null) return push('None');
    switch (typeof x) {
      case 'boolean': return push(x ? 'True' : 'False');
      case 'number': return push(String(x));
      case 'bigint': return push(x.toString());
      case 'string': return push(JSON.stringify(x.length > maxLen ? x.slice(0, maxLen) : x).replace(/^"|"$/g, "'"));
    }
    if (x instanceof Uint8Array) return push(`<${x.byteLength} bytes>`);
    if (x instanceof PyFloat) return push(pyFloat(x.value));
    if (x instanceof PyTuple || x instanceof PyList || x instanceof PySet) {
      const [open, close] = x instanceof PyTuple ? ['(', ')'] : x instanceof PyList ? ['[', ']'] : ['{', '}'];
      if (!push(open)) return false;
      for (let i = 0; i < x.items.length; i++) {
        if (i && !push(', ')) return false;
        if (!walk(x.items[i], depth + 1)) return false;
      }
      if (x instanceof PyTuple && x.items.length === 1) push(',');
      return push(close);
    }
    if (x instanceof PyDict) {
      if (!push('{')) return false;
      for (let i = 0; i < x.keys.length; i++) {
        if (i && !push(', ')) return false;
        if (!walk(x.keys[i], depth + 1) || !push(': ') || !walk(x.values[i], depth + 1)) return false;
      }
      return push('}');
    }
    if (x instanceof PyGlobal) return push(x.fullName);
    if (x instanceof PyObject && x.className === 'argparse.Namespace' && x.state instanceof PyDict) {
      if (!push('Namespace(')) return false;
      const st = x.state;
      for (let i = 0; i < st.keys.length; i++) {
        if (i && !push(', ')) return false;
        if (!push(`${typeof st.keys[i] === 'string' ? st.keys[i] : '?'}=`) || !walk(st.values[i], depth + 1)) return false;
      }
      return push(')');
    }
    if (x instanceof PyObject) {
      if (!push(`${x.className}(`)) return false;
      if (x.state !== null && !walk(x.state, depth + 1)) return false;
      return push(')');
    }
    return push(`<${(x as PyHost).typeName}>`);
  };
  walk(v, 0);
  const s = out.join('');
  return s.length > maxLen ? s.slice(0, maxLen - 1) + '…' : s;
}

/** Floats the way Python prints them (0.875, 1e-05, 3.0). */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a < 1e-4 || a >= 1e16) return x.toExponential().replace(/e([+-])(\d)$/, 'e$10$2').replace(/\.?0*e/, 'e');
  return String(x);
}
