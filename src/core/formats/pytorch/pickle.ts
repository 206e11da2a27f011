// A pickle interpreter that executes nothing. It reads protocols 0-5 into plain data
// (src/core/formats/pytorch/pickleValues.ts). GLOBAL, STACK_GLOBAL and INST resolve names against an
// allow-list of globals whose meaning we implement ourselves; any other name stops the read at
// the moment it is looked up, before anything could call it, with UnsafePickleError.
//
// Untrusted input rules: the loop is iterative (no recursion on nesting), every length read
// from the stream is checked against the bytes that remain before anything is allocated, and
// operations, memo entries, stack size and nesting depth are all capped.
//
// A pickle made only of allow-listed globals can still ask for a lot of work: `bytes(x)` applied
// again and again to one memoised 64 MB string, or `tuple(x)` copying a memoised million-item
// list on every call. So the machine counts what it builds, not only opcodes: every byte of a
// string or bytes value (read from the stream or produced by a call) goes against one budget, and
// every container slot and object (8 and 32 bytes) against another, charged before anything is
// allocated. Both scale with the stream (PICKLE_LIMITS), so what a pickle may build is a small
// multiple of what it says.
import { CheckpointError, UnsafePickleError } from '../../common/errors';
import { checkLimits, reserveMemory } from '../../common/limits';
import {
  CallContext, GlobalImpl, PyDict, PyFloat, PyGlobal, PyList, PyObject, PySet, PyTuple, PyValue, PyHost,
  PyContainer, typeNameOf,
} from './pickleValues';

export interface PickleOptions {
  /** The file being read, for messages. */
  file: string;
  /** Allow-list: full dotted name (`collections.OrderedDict`) → what calling it means. */
  globals: ReadonlyMap<string, GlobalImpl>;
  /** BINPERSID / PERSID: the pickler's external references (torch storages). */
  persistentLoad?: (pid: PyValue, ctx: CallContext) => PyValue;
  /**
   * False when `data` is only the start of a longer stream: running out of bytes then throws
   * PickleNeedsMore (with the position needed) instead of reporting a truncated file.
   */
  complete?: boolean;
  maxOps?: number;
  /** Budgets of object bytes (see PICKLE_LIMITS); defaults from the stream's length. */
  maxDataBytes?: number;
  maxStructureBytes?: number;
  maxMemo?: number;
  maxStack?: number;
  maxDepth?: number;
}

export const PICKLE_LIMITS = {
  maxOps: 50_000_000,
  maxMemo: 8_000_000,
  maxStack: 4_000_000,
  /** Real checkpoints nest a handful of levels; 1000 is far beyond any and far below the JS stack. */
  maxDepth: 1000,
  /** Python ints longer than this many bytes are refused (checkpoints hold small ints). */
  maxLongBytes: 1024,
  /**
   * Bytes of strings and bytes a pickle may build: a floor plus twice the stream. Each literal
   * in the stream is built once (at most the stream's length); a call that turns a string into
   * bytes (protocol 2 writes a numpy array's data as `_codecs.encode(str, 'latin1')`) builds it
   * once more. A call that copies a memoised 64 MB string again and again crosses it on the
   * second copy.
   */
  minDataBytes: 64 * 1024 * 1024,
  dataBytesPerStreamByte: 2,
  /**
   * Container slots (8 bytes each) and containers or objects (32 bytes each) a pickle may build:
   * a floor plus 16 times the stream. Measured on torch.save pickles (test/unit/pickle-budgets.test.ts
   * checks them): a state dict builds ~4 such bytes per stream byte, an Adam optimizer state ~5.4,
   * a list of small ints 4, a list of None 8 (1 stream byte per slot: the most slots can cost);
   * only containers of 1-3 byte empty containers go higher (~13). The largest real pickles (a 671B
   * mixture-of-experts state dict, ~90K tensors, with its optimizer state: tens of MB of stream;
   * MAX_PICKLE_BYTES, 128 MB, at most) stay below it, while a call that copies a memoised
   * million-item list adds 8 MB each time and crosses it within a few dozen calls.
   */
  minStructureBytes: 64 * 1024 * 1024,
  structureBytesPerStreamByte: 16,
};

/** What one container slot and one container or object cost against the object budget. */
const SLOT_BYTES = 8;
const OBJECT_BYTES = 32;
/** checkLimits() (the request's time and the process's memory) every this many operations. */
const LIMIT_CHECK_OPS = 1 << 16;

/** Thrown when a partial buffer ends before the pickle does; `needed` is the end position wanted. */
export class PickleNeedsMore extends Error {
  constructor(readonly needed: number) { super(`pickle needs bytes up to ${needed}`); }
}

export interface PickleResult {
  value: PyValue;
  /** Position just after STOP. */
  end: number;
  /** What the pickle built, against its budgets (bytes): strings and bytes, containers. */
  built: { data: number; structure: number };
}


/** Names Python 2 pickles (protocol < 3) use for Python 3 modules. */
const MODULE_ALIASES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

export function fullGlobalName(module: string, name: string): string {
  return `${MODULE_ALIASES[module] ?? module}.${name}`;
}

export function unpickle(data: Uint8Array, start: number, opts: PickleOptions): PickleResult {
  return new Machine(data, start, opts).run();
}

class Machine implements CallContext {
  private pos: number;
  private readonly stack: PyValue[] = [];
  /** Positions in `stack` of open MARKs. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly dv: DataView;
  private readonly complete: boolean;
  private readonly maxOps: number;
  private readonly maxMemo: number;
  private readonly maxStack: number;
  private readonly maxDepth: number;
  private readonly maxDataBytes: number;
  private readonly maxStructureBytes: number;
  private dataBytes = 0;
  private structureBytes = 0;

  constructor(private readonly data: Uint8Array, start: number, private readonly opts: PickleOptions) {
    this.pos = start;
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.complete = opts.complete ?? true;
    this.maxOps = opts.maxOps ?? PICKLE_LIMITS.maxOps;
    // Each memo entry needs at least 2 bytes of stream (an object and a MEMOIZE): more entries
    // than that are refused early.
    this.maxMemo = opts.maxMemo ?? Math.min(PICKLE_LIMITS.maxMemo, (1 << 20) + Math.ceil((data.byteLength - start) / 2));
    this.maxStack = opts.maxStack ?? PICKLE_LIMITS.maxStack;
    this.maxDepth = opts.maxDepth ?? PICKLE_LIMITS.maxDepth;
    const stream = data.byteLength - start;
    this.maxDataBytes = opts.maxDataBytes ?? PICKLE_LIMITS.minDataBytes + PICKLE_LIMITS.dataBytesPerStreamByte * stream;
    this.maxStructureBytes = opts.maxStructureBytes ?? PICKLE_LIMITS.minStructureBytes + PICKLE_LIMITS.structureBytesPerStreamByte * stream;
  }

  private overBudget(max: number, what: string): never {
    this.fail(`the pickle builds more than ${Math.round(max / (1024 * 1024))} MB of objects (${what}); nothing was executed`);
  }

  /** Counts `bytes` of strings or bytes about to be built; past the budget the read stops, before allocating. */
  charge(bytes: number): void {
    this.dataBytes += bytes;
    if (this.dataBytes > this.maxDataBytes) this.overBudget(this.maxDataBytes, 'strings and bytes');
    if (bytes >= 1 << 20) { checkLimits(); reserveMemory(bytes); }
  }

  /** Counts `n` container slots and `objects` new containers or objects about to be built. */
  chargeSlots(n: number, objects = 0): void {
    const bytes = n * SLOT_BYTES + objects * OBJECT_BYTES;
    this.structureBytes += bytes;
    if (this.structureBytes > this.maxStructureBytes) this.overBudget(this.maxStructureBytes, 'containers');
    if (bytes >= 1 << 20) { checkLimits(); reserveMemory(bytes); }
  }

  fail(problem: string): never {
    throw new CheckpointError(this.opts.file, problem);
  }

  // ---- reading the stream, always bounds-checked before allocating

  private need(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) this.fail(`pickle claims a length of ${n} bytes`);
    if (this.pos + n > this.data.byteLength) {
      if (!this.complete) throw new PickleNeedsMore(this.pos + n);
      this.fail(`pickle is truncated: at byte ${this.pos} it needs ${n} more bytes but only ${this.data.byteLength - this.pos} remain`);
    }
  }
  private u8(): number { this.need(1); return this.data[this.pos++]; }
  private u16(): number { this.need(2); const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  private i32(): number { this.need(4); const v = this.dv.getInt32(this.pos, true); this.pos += 4; return v; }
  private u32(): number { this.need(4); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  private u64(): number {
    this.need(8);
    const lo = this.dv.getUint32(this.pos, true), hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    const v = hi * 2 ** 32 + lo;
    if (hi >= 2 ** 21) this.fail(`pickle claims a length of ${v} bytes`);
    return v;
  }
  private bytes(n: number): Uint8Array {
    this.need(n);
    this.charge(n);
    const b = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A text line up to '\n' (protocol 0 arguments), without the newline. */
  private line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) {
      if (!this.complete) throw new PickleNeedsMore(this.data.byteLength + 1);
      this.fail(`pickle is truncated: a text argument at byte ${this.pos} never ends`);
    }
    this.charge(end - this.pos);
    const s = latin1(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  // ---- the stack

  private push(v: PyValue): void {
    if (this.stack.length >= this.maxStack) this.fail(`pickle stack grows past ${this.maxStack} items`);
    this.stack.push(v);
  }
  /** Items below the innermost mark are out of reach, as in Python's unpickler. */
  private floor(): number { return this.marks.length ? this.marks[this.marks.length - 1] : 0; }
  private pop(): PyValue {
    if (this.stack.length <= this.floor()) this.fail('pickle pops from an empty stack');
    return this.stack.pop()!;
  }
  private top(): PyValue {
    if (this.stack.length <= this.floor()) this.fail('pickle reads from an empty stack');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): PyValue[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail('pickle is malformed (no mark)');
    return this.stack.splice(at);
  }
  private checkDepth(c: PyContainer | PyValue): void {
    if (c instanceof PyContainer && c.depth > this.maxDepth) this.fail(`pickle nests more than ${this.maxDepth} levels deep`);
  }

  private memoPut(i: number, v: PyValue): void {
    if (!this.memo.has(i)) {
      if (this.memo.size >= this.maxMemo) this.fail(`pickle memo grows past ${this.maxMemo} entries`);
    }
    this.memo.set(i, v);
  }
  private memoGet(i: number): PyValue {
    const v = this.memo.get(i);
    if (v === undefined) this.fail(`pickle refers to memo entry ${i}, which was never stored`);
    return v;
  }

  // ---- globals: the only place a name becomes something callable

  private lookup(module: string, name: string): PyGlobal {
    const full = fullGlobalName(module, name);
    const impl = this.opts.globals.get(full);
    if (!impl) throw new UnsafePickleError(this.opts.file, full);
    return new PyGlobal(full, impl);
  }

  private call(callable: PyValue, args: PyValue[], kwargs?: PyDict): PyValue {
    if (!(callable instanceof PyGlobal)) {
      // Only allow-listed globals are callable; anything else is a malformed or hostile pickle.
      // Python's type name, not the JS class's: the bundles are minified, and class names with them.
      this.fail(`pickle calls a ${typeNameOf(callable)} value, which is not allowed`);
    }
    // The call's result, and its arguments, which a global may copy (args.slice): a memoised
    // million-item tuple passed to a call again and again costs its size each time.
    this.chargeSlots(args.length, 1);
    const v = callable.impl.call(args, kwargs, this);
    this.checkDepth(v);
    return v;
  }

  private tupleOf(v: PyValue, what: string): PyValue[] {
    if (v instanceof PyTuple) return v.items;
    if (v instanceof PyList) return v.items;
    this.fail(`pickle gives ${what} arguments that are not a tuple`);
  }

  run(): PickleResult {
    const ops = this.maxOps;
    for (let n = 0; n < ops; n++) {
      if ((n & (LIMIT_CHECK_OPS - 1)) === 0) checkLimits();
      const op = this.u8();
      switch (op) {
        // --- framing and protocol
        case 0x80: { const p = this.u8(); if (p > 5) this.fail(`pickle protocol ${p} is not supported`); break; } // PROTO
        case 0x95: this.u64(); break; // FRAME: a length hint; we bounds-check every read anyway
        case 0x2e: { // STOP
          const v = this.pop();
          return { value: v, end: this.pos, built: { data: this.dataBytes, structure: this.structureBytes } };
        }

        // --- stack manipulation
        case 0x28: // MARK
          if (this.marks.length >= this.maxStack) this.fail(`pickle opens more than ${this.maxStack} marks`);
          this.marks.push(this.stack.length);
          break;
        case 0x30: { // POP: pops the mark itself when nothing was pushed after it
          const m = this.marks.length ? this.marks[this.marks.length - 1] : -1;
          if (this.stack.length === m) this.marks.pop(); else this.pop();
          break;
        }
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP

        // --- constants and numbers
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(this.long(this.u8())); break; // LONG1
        case 0x8b: { const n = this.i32(); if (n < 0) this.fail('pickle has a negative LONG4 length'); this.push(this.long(n)); break; } // LONG4
        case 0x47: { this.need(8); const v = this.dv.getFloat64(this.pos, false); this.pos += 8; this.push(new PyFloat(v)); break; } // BINFLOAT
        case 0x49: this.push(this.textInt(this.line())); break; // INT
        case 0x4c: this.push(this.textInt(this.line().replace(/L$/, ''))); break; // LONG
        case 0x46: { // FLOAT
          const s = this.line();
          const v = Number(s);
          if (Number.isNaN(v) && !/^[+-]?nan$/i.test(s)) this.fail(`pickle has a malformed float ${JSON.stringify(s.slice(0, 40))}`);
          this.push(new PyFloat(v));
          break;
        }

        // --- strings and bytes
        case 0x58: this.push(utf8(this.bytes(this.u32()))); break; // BINUNICODE
        case 0x8c: this.push(utf8(this.bytes(this.u8()))); break; // SHORT_BINUNICODE
        case 0x8d: this.push(utf8(this.bytes(this.u64()))); break; // BINUNICODE8
        case 0x56: this.push(rawUnicodeEscape(this.line())); break; // UNICODE
        case 0x53: this.push(this.pyStringLiteral(this.line())); break; // STRING
        case 0x54: { const n = this.i32(); if (n < 0) this.fail('pickle has a negative string length'); this.push(latin1(this.bytes(n))); break; } // BINSTRING
        case 0x55: this.push(latin1(this.bytes(this.u8()))); break; // SHORT_BINSTRING
        case 0x42: this.push(this.bytes(this.u32()).slice()); break; // BINBYTES
        case 0x43: this.push(this.bytes(this.u8()).slice()); break; // SHORT_BINBYTES
        case 0x8e: this.push(this.bytes(this.u64()).slice()); break; // BINBYTES8
        case 0x96: this.push(this.bytes(this.u64()).slice()); break; // BYTEARRAY8
        case 0x97: case 0x98: this.fail('pickle uses out-of-band buffers, which a checkpoint file cannot carry'); // NEXT_BUFFER, READONLY_BUFFER

        // --- containers
        case 0x29: this.chargeSlots(0, 1); this.push(new PyTuple([])); break; // EMPTY_TUPLE
        case 0x85: { const a = this.pop(); this.pushNew(new PyTuple([a])); break; } // TUPLE1
        case 0x86: { const b = this.pop(), a = this.pop(); this.pushNew(new PyTuple([a, b])); break; } // TUPLE2
        case 0x87: { const c = this.pop(), b = this.pop(), a = this.pop(); this.pushNew(new PyTuple([a, b, c])); break; } // TUPLE3
        case 0x74: this.pushNew(new PyTuple(this.popMark())); break; // TUPLE
        case 0x5d: this.chargeSlots(0, 1); this.push(new PyList()); break; // EMPTY_LIST
        case 0x6c: { this.chargeSlots(0, 1); const l = new PyList(); for (const v of this.popMark()) this.append(l, v); this.push(l); break; } // LIST
        case 0x61: { const v = this.pop(); this.append(this.top(), v); break; } // APPEND
        case 0x65: { const items = this.popMark(); const l = this.top(); for (const v of items) this.append(l, v); break; } // APPENDS
        case 0x7d: this.chargeSlots(0, 1); this.push(new PyDict()); break; // EMPTY_DICT
        case 0x64: { this.chargeSlots(0, 1); const d = new PyDict(); this.setItems(d, this.popMark()); this.push(d); break; } // DICT
        case 0x73: { const v = this.pop(), k = this.pop(); this.setItems(this.top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = this.popMark(); this.setItems(this.top(), items); break; } // SETITEMS
        case 0x8f: this.chargeSlots(0, 1); this.push(new PySet()); break; // EMPTY_SET
        case 0x90: { const items = this.popMark(); const s = this.top(); if (!(s instanceof PySet)) this.fail('pickle adds items to something that is not a set'); this.chargeSlots(items.length); for (const v of items) { s.items.push(v); s.grow(v); } this.checkDepth(s); break; } // ADDITEMS
        case 0x91: { const s = new PySet(true); for (const v of this.popMark()) { s.items.push(v); s.grow(v); } this.pushNew(s); break; } // FROZENSET

        // --- memo
        case 0x70: this.memoPut(this.textIndex(this.line()), this.top()); break; // PUT
        case 0x71: this.memoPut(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memoPut(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size, this.top()); break; // MEMOIZE
        case 0x67: this.push(this.memoGet(this.textIndex(this.line()))); break; // GET
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET

        // --- globals and object construction
        case 0x63: { const module = this.line(); const name = this.line(); this.push(this.lookup(module, name)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = this.pop(), module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('pickle STACK_GLOBAL names a global with values that are not strings');
          this.push(this.lookup(module, name));
          break;
        }
        case 0x82: case 0x83: case 0x84: // EXT1/2/4: the copyreg extension registry, unknowable here
          this.fail('pickle uses copyreg extension codes, which a checkpoint never needs');
        case 0x52: { const args = this.pop(); const f = this.pop(); this.push(this.call(f, this.tupleOf(args, 'REDUCE'))); break; } // REDUCE
        case 0x81: { const args = this.pop(); const cls = this.pop(); this.push(this.call(cls, this.tupleOf(args, 'NEWOBJ'))); break; } // NEWOBJ
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop(), args = this.pop(), cls = this.pop();
          if (!(kwargs instanceof PyDict)) this.fail('pickle NEWOBJ_EX keyword arguments are not a dict');
          this.push(this.call(cls, this.tupleOf(args, 'NEWOBJ_EX'), kwargs));
          break;
        }
        case 0x69: { // INST: module and name as text, arguments since the mark
          const module = this.line(); const name = this.line();
          const g = this.lookup(module, name);
          this.push(this.call(g, this.popMark()));
          break;
        }
        case 0x6f: { // OBJ: class and arguments since the mark
          const items = this.popMark();
          if (items.length === 0) this.fail('pickle OBJ without a class');
          this.push(this.call(items[0], items.slice(1)));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x50: { // PERSID
          const id = this.line();
          this.push(this.persistent(id));
          break;
        }
        case 0x51: this.push(this.persistent(this.pop())); break; // BINPERSID

        default:
          this.fail(`pickle has an unknown opcode 0x${op.toString(16).padStart(2, '0')} at byte ${this.pos - 1}`);
      }
    }
    this.fail(`pickle runs for more than ${ops} operations without ending`);
  }

  private pushNew(c: PyTuple | PySet): void {
    this.chargeSlots(c.items.length, 1);
    this.checkDepth(c);
    this.push(c);
  }

  private append(target: PyValue, v: PyValue): void {
    this.chargeSlots(1);
    if (target instanceof PyList) { target.items.push(v); target.grow(v); this.checkDepth(target); return; }
    if (target instanceof PySet) { target.items.push(v); target.grow(v); this.checkDepth(target); return; }
    if (target instanceof PyObject) { target.args.push(v); target.grow(v); this.checkDepth(target); return; } // list subclasses
    this.fail(`pickle appends to a ${typeNameOf(target)}, which is not a list`);
  }

  private setItems(target: PyValue, items: PyValue[]): void {
    if (!(target instanceof PyDict)) this.fail('pickle sets items on something that is not a dict');
    if (items.length % 2) this.fail('pickle sets items with a key but no value');
    this.chargeSlots(items.length);
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
    this.checkDepth(target);
  }

  private build(obj: PyValue, state: PyValue): void {
    if (obj instanceof PyObject) { obj.state = state; obj.grow(state); this.checkDepth(obj); return; }
    if (obj instanceof PyDict) { obj.attributes = state; obj.grow(state); this.checkDepth(obj); return; }
    if (obj instanceof PyHost) { obj.setState(state, this); return; }
    // BUILD on anything else would call __setstate__ or setattr in Python. We have no behaviour
    // to trigger, so the state is simply dropped.
  }

  private persistent(pid: PyValue): PyValue {
    if (!this.opts.persistentLoad) this.fail('pickle refers to external data (a persistent id) but this file cannot hold any');
    return this.opts.persistentLoad(pid, this);
  }

  private long(n: number): number | bigint {
    if (n === 0) return 0;
    if (n > PICKLE_LIMITS.maxLongBytes) this.fail(`pickle has an integer of ${n} bytes`);
    const b = this.bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  }

  private textInt(s: string): number | bigint | boolean {
    if (s === '01') return true;
    if (s === '00') return false;
    if (!/^[+-]?\d{1,2000}$/.test(s)) this.fail(`pickle has a malformed integer ${JSON.stringify(s.slice(0, 40))}`);
    const v = BigInt(s);
    return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  }

  private textIndex(s: string): number {
    if (!/^\d{1,15}$/.test(s)) this.fail(`pickle has a malformed memo index ${JSON.stringify(s.slice(0, 40))}`);
    return Number(s);
  }

  /** STRING: a Python 2 str literal, 'quoted' or "quoted", with backslash escapes. */
  private pyStringLiteral(s: string): string {
    const q = s[0];
    if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) this.fail('pickle has a malformed STRING argument');
    const body = s.slice(1, -1);
    return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
      if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
      if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
      return ({ n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' } as Record<string, string>)[e] ?? '\\' + e;
    });
  }
}

const utf8Decoder = new TextDecoder('utf-8');
/** Most pickle strings are short ASCII names and keys; building those directly is much faster. */
function utf8(b: Uint8Array): string {
  if (b.length <= 64) {
    let s = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c >= 0x80) return utf8Decoder.decode(b);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(b);
}

export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** UNICODE (protocol 0): raw-unicode-escape, i.e. latin-1 with \uXXXX and \UXXXXXXXX. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u: string | undefined, U: string | undefined) => {
    const cp = parseInt((u ?? U)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}
