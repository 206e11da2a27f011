// Hostile pickles made only of allow-listed globals, written the way an attacker would: a few KB
// of zip (the pickle itself is deflated) that ask the reader for gigabytes or hours of work.
// Used by test/unit/hostile-pickles.test.ts and the pickle fuzz mutations.
import { crc32, deflateRawSync } from 'node:zlib';

/** Builds pickle opcodes. */
export class Ops {
  private parts: Buffer[] = [];
  raw(...b: (number | Buffer | string)[]): this {
    for (const x of b) this.parts.push(typeof x === 'number' ? Buffer.from([x]) : typeof x === 'string' ? Buffer.from(x, 'latin1') : x);
    return this;
  }
  proto(): this { return this.raw(0x80, 2); }
  global(module: string, name: string): this { return this.raw('c', `${module}\n${name}\n`); }
  put(i: number): this { const b = Buffer.alloc(5); b[0] = 0x72; b.writeUInt32LE(i, 1); return this.raw(b); } // LONG_BINPUT
  get(i: number): this { const b = Buffer.alloc(5); b[0] = 0x6a; b.writeUInt32LE(i, 1); return this.raw(b); } // LONG_BINGET
  binbytes(n: number, fill = 0x41): this { const h = Buffer.alloc(5); h[0] = 0x42; h.writeUInt32LE(n, 1); return this.raw(h, Buffer.alloc(n, fill)); }
  unicode(s: Buffer): this { const h = Buffer.alloc(5); h[0] = 0x58; h.writeUInt32LE(s.length, 1); return this.raw(h, s); }
  shortUnicode(s: string): this { return this.raw(0x8c, s.length, s); }
  int(v: number): this { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(v, 1); return this.raw(b); } // BININT
  repeat(n: number, f: (o: this, i: number) => void): this { for (let i = 0; i < n; i++) f(this, i); return this; }
  bytes(): Buffer { return Buffer.concat(this.parts); }
}

export const MARK = 0x28, STOP = 0x2e, POP = 0x30, NONE = 0x4e, REDUCE = 0x52, APPEND = 0x61, APPENDS = 0x65;
export const EMPTY_LIST = 0x5d, EMPTY_DICT = 0x7d, EMPTY_TUPLE = 0x29, SETITEMS = 0x75, TUPLE1 = 0x85, TUPLE2 = 0x86;

function u16(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; }
function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; }

/** A torch.save-style zip (`archive/data.pkl`, deflated) around a pickle. */
export function torchZip(pickle: Buffer): Buffer {
  const entries = [{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/version', data: Buffer.from('3\n') }];
  const parts: Buffer[] = [];
  const cd: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const comp = deflateRawSync(e.data, { level: 9 });
    const fields = [u16(20), u16(0), u16(8), u16(0), u16(0x21), u32(crc32(e.data)), u32(comp.length), u32(e.data.length), u16(name.length), u16(0)];
    const local = Buffer.concat([u32(0x04034b50), ...fields, name]);
    cd.push(Buffer.concat([u32(0x02014b50), u16(20), ...fields, u16(0), u16(0), u16(0), u32(0), u32(off), name]));
    parts.push(local, comp);
    off += local.length + comp.length;
  }
  const dir = Buffer.concat(cd);
  return Buffer.concat([...parts, dir, u32(0x06054b50), u16(0), u16(0), u16(entries.length), u16(entries.length), u32(dir.length), u32(off), u16(0)]);
}

const MB = 1024 * 1024;

/** `call(payload)` again and again on one memoised 64 MB payload, every result kept in a list. */
export function amplifyBytes(fn: 'builtins.bytes' | 'builtins.bytearray' | '_codecs.encode', times = 200): Buffer {
  const [module, name] = [fn.slice(0, fn.lastIndexOf('.')), fn.slice(fn.lastIndexOf('.') + 1)];
  const o = new Ops().proto();
  if (fn === '_codecs.encode') o.unicode(Buffer.alloc(64 * MB, 0x61)); else o.binbytes(64 * MB);
  o.put(0).raw(POP).global(module, name).put(1).raw(POP).raw(EMPTY_LIST);
  o.repeat(times, (x) => {
    x.get(1).get(0);
    if (fn === '_codecs.encode') x.shortUnicode('latin1').raw(TUPLE2); else x.raw(TUPLE1);
    x.raw(REDUCE, APPEND);
  });
  return o.raw(STOP).bytes();
}

/** `tuple/list/set/dict(x)` again and again on one memoised million-item container. */
export function copyContainer(fn: 'builtins.tuple' | 'builtins.list' | 'builtins.set' | 'builtins.dict', times = 100_000): Buffer {
  const name = fn.slice('builtins.'.length);
  const o = new Ops().proto();
  if (fn === 'builtins.dict') {
    // Tuple keys are never deduplicated: a million entries in 2 bytes each.
    o.raw(EMPTY_DICT).put(0).repeat(1000, (x) => { x.raw(MARK).repeat(1000, (y) => { y.raw(EMPTY_TUPLE, NONE); }).raw(SETITEMS); });
  } else {
    o.raw(EMPTY_LIST).put(0).repeat(1000, (x) => { x.raw(MARK).repeat(1000, (y) => { y.raw(NONE); }).raw(APPENDS); });
  }
  o.raw(POP).global('builtins', name).put(1).raw(POP);
  o.repeat(times, (x) => { x.get(1).get(0).raw(TUPLE1, REDUCE, POP); });
  return o.raw(NONE, STOP).bytes();
}

/** Two dicts that hold each other under `width` distinct tuple keys (tuples are never deduplicated). */
export function wideCycle(width = 100_000): Buffer {
  const o = new Ops().proto().raw(EMPTY_DICT).put(0).raw(EMPTY_DICT).put(1).raw(POP, POP);
  for (const [a, b] of [[0, 1], [1, 0]]) o.get(a).raw(MARK).repeat(width, (x) => { x.raw(EMPTY_TUPLE).get(b); }).raw(SETITEMS, POP);
  return o.get(0).raw(STOP).bytes();
}

/** A chain of `depth` dicts, each holding the next twice: 2^depth paths in a few hundred bytes. */
export function doublingDag(depth = 40): Buffer {
  const o = new Ops().proto().raw(EMPTY_DICT).put(depth);
  for (let i = depth - 1; i >= 0; i--) o.raw(EMPTY_DICT, MARK).shortUnicode('a').get(i + 1).shortUnicode('b').get(i + 1).raw(SETITEMS).put(i).raw(POP);
  return o.get(0).raw(STOP).bytes();
}

/** A pickle that only works: `pairs` times NONE POP (two operations each), then None. */
export function busyWork(pairs = 24_000_000): Buffer {
  const body = Buffer.alloc(pairs * 2);
  for (let i = 0; i < body.length; i += 2) { body[i] = NONE; body[i + 1] = POP; }
  return Buffer.concat([Buffer.from([0x80, 2]), body, Buffer.from([NONE, STOP])]);
}
