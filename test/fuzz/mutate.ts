// Mutations of checkpoint bytes: generic ones (bit flips, truncation, insertions, deletions)
// and ones that know where formats keep their lengths and offsets (safetensors header length
// and JSON offsets, .npy header length and dict, zip directory and local-header fields,
// duplicate zip entries), because random flips rarely hit the few bytes that matter most.
import { Rng } from './rng';
import { isPickle, mainPickleStart, mutatePickleAt } from './mutatePickle';

export interface Mutant { bytes: Uint8Array; steps: string[] }

type Mutator = (b: Uint8Array, r: Rng) => { bytes: Uint8Array; step: string } | undefined;

const INTERESTING_32 = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_64: bigint[] = [0n, 1n, 8n, 0x7fffffffn, 0xffffffffn, 0x100000000n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
const INTERESTING_TEXT = ['0', '-1', '1', '-0', '3.5', '1e308', '-1e308', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740991',
  '9007199254740993', '18446744073709551615', '18446744073709551616', '99999999999999999999999999', 'NaN', 'Infinity', 'null', 'true', '[]', '{}', '"x"', '[1,2]'];
const DTYPE_TEXT = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'C64', 'U64', 'float32', '', 'STR'];
const NPY_DESCR = ['<f4', '>f8', '<f2', '|b1', '|u1', '<i8', '>i4', '|O', '<c16', '<U10', '|S3', '<M8[s]', '<V8', 'x', '<f16'];
const PATH_TEXT = ['../outside.bin', '/etc/passwd', '..', '', 'missing.bin', 'a/../../b', 'C:\\\\x.bin', 'group1-shard1of2.bin'];

// ---------------------------------------------------------------- helpers

/** A position biased towards the head and tail, where formats keep their headers and directories. */
function pos(b: Uint8Array, r: Rng, inclusiveEnd = false): number {
  const n = b.byteLength + (inclusiveEnd ? 1 : 0);
  if (n <= 0) return 0;
  const w = r.next();
  if (w < 0.35) return r.int(Math.min(n, 4096));
  if (w < 0.6) return Math.max(0, n - 1 - r.int(Math.min(n, 4096)));
  return r.int(n);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

function randomBytes(r: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.chance(0.5) ? r.pick([0, 0xff, 0x7f, 0x80, 0x2e, 0x2f, 0x7b, 0x22]) : r.int(256);
  return out;
}

function interesting32(r: Rng, around: number[] = []): number {
  const base = r.chance(0.4) && around.length ? r.pick(around) + r.pick([-2, -1, 0, 1, 2, 8, -8, 30, 46]) : r.pick(INTERESTING_32);
  return base >>> 0;
}

function writeUint(b: Uint8Array, at: number, bytes: number, v: number | bigint, littleEndian = true): void {
  let x = BigInt(v) & ((1n << BigInt(bytes * 8)) - 1n);
  for (let i = 0; i < bytes; i++) {
    b[littleEndian ? at + i : at + bytes - 1 - i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** Replaces [start, end) of `b` by `repl`. */
function splice(b: Uint8Array, start: number, end: number, repl: Uint8Array): Uint8Array {
  return concat(b.subarray(0, start), repl, b.subarray(end));
}

/** All matches of `re` in `s` as [index, match]. */
function matches(s: string, re: RegExp): [number, string][] {
  const out: [number, string][] = [];
  for (const m of s.matchAll(re)) out.push([m.index!, m[0]]);
  return out;
}

// ---------------------------------------------------------------- generic

const bitFlip: Mutator = (b, r) => {
  if (!b.byteLength) return undefined;
  const out = b.slice();
  const k = 1 + r.int(8);
  const at: number[] = [];
  for (let i = 0; i < k; i++) { const p = pos(out, r); out[p] ^= 1 << r.int(8); at.push(p); }
  return { bytes: out, step: `flip bits at ${at.join(',')}` };
};

const setBytes: Mutator = (b, r) => {
  if (!b.byteLength) return undefined;
  const out = b.slice();
  const p = pos(out, r);
  const n = 1 + r.int(4);
  out.set(randomBytes(r, n).subarray(0, Math.min(n, out.byteLength - p)), p);
  return { bytes: out, step: `set ${n} bytes at ${p}` };
};

const interestingInt: Mutator = (b, r) => {
  const width = r.pick([1, 2, 4, 8]);
  if (b.byteLength < width) return undefined;
  const out = b.slice();
  const p = Math.min(pos(out, r), out.byteLength - width);
  const le = r.chance(0.8);
  const v = width === 8 ? r.pick(INTERESTING_64) : interesting32(r, [b.byteLength]);
  writeUint(out, p, width, v, le);
  return { bytes: out, step: `write ${width}-byte ${le ? 'LE' : 'BE'} ${v} at ${p}` };
};

const truncate: Mutator = (b, r) => {
  if (!b.byteLength) return undefined;
  const at = r.chance(0.5) ? r.int(Math.min(b.byteLength, 1024)) : r.int(b.byteLength);
  return { bytes: b.slice(0, at), step: `truncate to ${at}` };
};

const insert: Mutator = (b, r) => {
  const p = pos(b, r, true);
  const n = r.pick([1, 1, 2, 3, 4, 8, 16, 64, 1 + r.int(512)]);
  return { bytes: splice(b, p, p, randomBytes(r, n)), step: `insert ${n} bytes at ${p}` };
};

const remove: Mutator = (b, r) => {
  if (!b.byteLength) return undefined;
  const p = pos(b, r);
  const n = Math.min(b.byteLength - p, r.pick([1, 1, 2, 4, 8, 16, 64, 1 + r.int(512)]));
  return { bytes: splice(b, p, p + n, new Uint8Array(0)), step: `delete ${n} bytes at ${p}` };
};

const copyChunk: Mutator = (b, r) => {
  if (b.byteLength < 2) return undefined;
  const from = r.int(b.byteLength);
  const n = Math.min(b.byteLength - from, 1 + r.int(256));
  const to = pos(b, r);
  const out = b.slice();
  out.set(b.subarray(from, from + n).subarray(0, out.byteLength - to), to);
  return { bytes: out, step: `copy ${n} bytes from ${from} over ${to}` };
};

const GENERIC: Mutator[] = [bitFlip, bitFlip, setBytes, interestingInt, interestingInt, truncate, insert, remove, copyChunk];

// ---------------------------------------------------------------- text (JSON headers, npy dicts)

/** Edits inside a text region [start, end): numbers, strings, single characters. Returns the new bytes and the region's new length. */
function editText(b: Uint8Array, start: number, end: number, r: Rng, extraStrings: string[]): { bytes: Uint8Array; delta: number; step: string } | undefined {
  const s = text(b.subarray(start, end));
  const kind = r.int(5);
  if (kind <= 1) {
    const nums = matches(s, /-?\d+(\.\d+)?(e-?\d+)?/g);
    if (!nums.length) return undefined;
    const [i, m] = r.pick(nums);
    const v = r.chance(0.3) ? String(Number(m) + r.pick([-1, 1, 4, -4, 1024, 1 << 20])) : r.pick(INTERESTING_TEXT);
    return { bytes: splice(b, start + i, start + i + m.length, bytesOf(v)), delta: v.length - m.length, step: `number ${m} at ${start + i} -> ${v}` };
  }
  if (kind === 2) {
    const strs = matches(s, /"(?:[^"\\]|\\.)*"/g);
    if (!strs.length) return undefined;
    const [i, m] = r.pick(strs);
    const v = JSON.stringify(r.pick([...extraStrings, ...PATH_TEXT, '__metadata__', 'dtype', 'shape', 'data_offsets']));
    return { bytes: splice(b, start + i, start + i + m.length, bytesOf(v)), delta: v.length - m.length, step: `string ${m.slice(0, 40)} at ${start + i} -> ${v}` };
  }
  if (kind === 3) {
    // Swap two bracketed lists (shapes, offsets): lengths and values stay plausible.
    const lists = matches(s, /\[[^\[\]]*\]/g);
    if (lists.length < 2) return undefined;
    const [i, a] = r.pick(lists), [j, c] = r.pick(lists);
    if (i === j) return undefined;
    const [lo, hi] = i < j ? [[i, a], [j, c]] as const : [[j, c], [i, a]] as const;
    const t = s.slice(0, lo[0]) + hi[1] + s.slice(lo[0] + lo[1].length, hi[0]) + lo[1] + s.slice(hi[0] + hi[1].length);
    return { bytes: splice(b, start, end, bytesOf(t)), delta: t.length - s.length, step: `swap lists at ${start + lo[0]} and ${start + hi[0]}` };
  }
  const p = r.int(Math.max(1, s.length));
  const c = r.pick(['', '{', '}', '[', ']', ',', ':', '"', '\\', '\u00ff', ' ', '0']);
  const t = s.slice(0, p) + c + s.slice(p + 1);
  return { bytes: splice(b, start, end, bytesOf(t)), delta: t.length - s.length, step: `char at ${start + p} -> ${JSON.stringify(c)}` };
}

// ---------------------------------------------------------------- safetensors

function isSafetensors(b: Uint8Array): boolean {
  if (b.byteLength < 10 || b[8] !== 0x7b) return false;
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return n > 0 && n + 8 <= b.byteLength;
}

const safetensorsLength: Mutator = (b, r) => {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  const v = r.chance(0.5) ? r.pick(INTERESTING_64) : BigInt(Math.max(0, r.pick([n - 1, n + 1, n + 8, n - 8, b.byteLength, b.byteLength - 8, b.byteLength - 7, 0])));
  const out = b.slice();
  writeUint(out, 0, 8, v);
  return { bytes: out, step: `safetensors header length ${n} -> ${v}` };
};

const safetensorsHeader: Mutator = (b, r) => {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  const e = editText(b, 8, 8 + n, r, DTYPE_TEXT);
  if (!e) return undefined;
  // Usually keep the length field honest, so the edit reaches the JSON checks.
  if (r.chance(0.8)) writeUint(e.bytes, 0, 8, n + e.delta);
  return { bytes: e.bytes, step: `safetensors header: ${e.step}` };
};

// ---------------------------------------------------------------- npy

function isNpy(b: Uint8Array): boolean {
  return b.byteLength >= 10 && b[0] === 0x93 && text(b.subarray(1, 6)) === 'NUMPY';
}

function npyHeader(b: Uint8Array): { lenAt: number; lenBytes: number; start: number; len: number } {
  const v2 = b[6] >= 2;
  const len = v2 ? (b.byteLength >= 12 ? new DataView(b.buffer, b.byteOffset).getUint32(8, true) : 0) : b[8] | (b[9] << 8);
  const start = v2 ? 12 : 10;
  return { lenAt: 8, lenBytes: v2 ? 4 : 2, start, len: Math.min(len, b.byteLength - start) };
}

const npyLength: Mutator = (b, r) => {
  const h = npyHeader(b);
  const out = b.slice();
  const v = r.chance(0.5) ? interesting32(r) : Math.max(0, h.len + r.pick([-1, 1, -16, 16, 64, -h.len]));
  writeUint(out, h.lenAt, h.lenBytes, v);
  return { bytes: out, step: `npy header length ${h.len} -> ${v}` };
};

const npyDict: Mutator = (b, r) => {
  const h = npyHeader(b);
  const s = text(b.subarray(h.start, h.start + h.len));
  let e: { bytes: Uint8Array; delta: number; step: string } | undefined;
  if (r.chance(0.25)) {
    const d = matches(s, /'descr': *'[^']*'/g)[0];
    if (!d) return undefined;
    const v = `'descr': '${r.pick(NPY_DESCR)}'`;
    e = { bytes: splice(b, h.start + d[0], h.start + d[0] + d[1].length, bytesOf(v)), delta: v.length - d[1].length, step: `npy ${d[1]} -> ${v}` };
  } else if (r.chance(0.15)) {
    const f = s.includes('True') ? ['True', 'False'] : ['False', 'True'];
    const i = s.indexOf(f[0]);
    if (i < 0) return undefined;
    e = { bytes: splice(b, h.start + i, h.start + i + f[0].length, bytesOf(f[1])), delta: f[1].length - f[0].length, step: `npy fortran_order ${f[0]} -> ${f[1]}` };
  } else {
    e = editText(b, h.start, h.start + h.len, r, []);
  }
  if (!e) return undefined;
  // Keep the declared length right when we can, by taking up or giving back padding spaces.
  if (e.delta !== 0 && r.chance(0.8)) writeUint(e.bytes, h.lenAt, h.lenBytes, h.len + e.delta);
  return { bytes: e.bytes, step: `npy header: ${e.step}` };
};

// ---------------------------------------------------------------- zip

interface ZipLayout {
  eocd: number;
  cdOffset: number;
  cdSize: number;
  records: { at: number; name: string; nameLen: number; extraLen: number; commentLen: number; lh: number; compSize: number; size: number; method: number }[];
}

function isZip(b: Uint8Array): boolean {
  return b.byteLength >= 22 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 3 && b[3] === 4;
}

function zipLayout(b: Uint8Array): ZipLayout | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let eocd = -1;
  for (let i = b.byteLength - 22; i >= Math.max(0, b.byteLength - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) return undefined;
  let cdOffset = dv.getUint32(eocd + 16, true);
  const cdSize = dv.getUint32(eocd + 12, true);
  // Zip64 archives keep the real offset in the zip64 end record (PyTorch writes them).
  if (cdOffset === 0xffffffff && eocd >= 20 && dv.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(dv.getBigUint64(eocd - 12, true));
    if (z64 + 56 <= b.byteLength && dv.getUint32(z64, true) === 0x06064b50) cdOffset = Number(dv.getBigUint64(z64 + 48, true));
  }
  const records: ZipLayout['records'] = [];
  for (let p = cdOffset; p + 46 <= b.byteLength && dv.getUint32(p, true) === 0x02014b50 && records.length < 10000;) {
    const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true), commentLen = dv.getUint16(p + 32, true);
    records.push({ at: p, name: text(b.subarray(p + 46, p + 46 + nameLen)), nameLen, extraLen, commentLen,
      lh: dv.getUint32(p + 42, true), compSize: dv.getUint32(p + 20, true), size: dv.getUint32(p + 24, true), method: dv.getUint16(p + 10, true) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { eocd, cdOffset, cdSize, records };
}

const zipDirectory: Mutator = (b, r) => {
  const z = zipLayout(b);
  if (!z) return undefined;
  const out = b.slice();
  const around = [b.byteLength, z.cdOffset, z.cdSize, z.records.length];
  if (!z.records.length || r.chance(0.25)) {
    const f = r.pick([[8, 2, 'disk entries'], [10, 2, 'total entries'], [12, 4, 'directory size'], [16, 4, 'directory offset'], [20, 2, 'comment length']] as const);
    const v = f[1] === 2 ? r.pick([0, 1, z.records.length + 1, z.records.length - 1, 0xffff, 1000, 60000]) & 0xffff : interesting32(r, around);
    writeUint(out, z.eocd + f[0], f[1], v);
    return { bytes: out, step: `zip end record ${f[2]} -> ${v}` };
  }
  const rec = r.pick(z.records);
  const others = z.records.flatMap((x) => [x.lh, x.compSize, x.size]);
  const f = r.pick([[10, 2, 'method'], [16, 4, 'crc'], [20, 4, 'compressed size'], [24, 4, 'size'], [28, 2, 'name length'],
    [30, 2, 'extra length'], [32, 2, 'comment length'], [42, 4, 'local header offset'], [20, 4, 'compressed size'], [42, 4, 'local header offset']] as const);
  const v = f[1] === 2 ? r.pick([0, 1, 8, 12, 99, 0xffff, rec.nameLen + 1, rec.nameLen - 1]) & 0xffff : interesting32(r, [...around, ...others]);
  writeUint(out, rec.at + f[0], f[1], v);
  return { bytes: out, step: `zip directory entry ${rec.name}: ${f[2]} -> ${v}` };
};

const zipLocalHeader: Mutator = (b, r) => {
  const z = zipLayout(b);
  if (!z?.records.length) return undefined;
  const rec = r.pick(z.records);
  if (rec.lh + 30 > b.byteLength) return undefined;
  const out = b.slice();
  const f = r.pick([[0, 4, 'signature'], [8, 2, 'method'], [18, 4, 'compressed size'], [22, 4, 'size'], [26, 2, 'name length'], [28, 2, 'extra length'], [28, 2, 'extra length']] as const);
  const v = f[1] === 2 ? r.pick([0, 1, 4, 8, 64, 0xffff, rec.nameLen + 1, 1000]) : interesting32(r, [b.byteLength, rec.compSize, rec.size]);
  writeUint(out, rec.lh + f[0], f[1], v);
  return { bytes: out, step: `zip local header ${rec.name}: ${f[2]} -> ${v}` };
};

const zipDuplicate: Mutator = (b, r) => {
  const z = zipLayout(b);
  if (!z || z.records.length < 1) return undefined;
  const a = r.pick(z.records);
  const same = z.records.filter((x) => x !== a && x.nameLen === a.nameLen);
  if (same.length && r.chance(0.6)) {
    // Rename another entry to the same name: one directory, two entries called `a.name`.
    const t = r.pick(same);
    const out = b.slice();
    out.set(bytesOf(a.name), t.at + 46);
    return { bytes: out, step: `zip rename ${t.name} -> ${a.name} (duplicate)` };
  }
  // Append a copy of a's directory record and count it.
  const len = 46 + a.nameLen + a.extraLen + a.commentLen;
  const cdEnd = z.cdOffset + z.cdSize;
  if (cdEnd > b.byteLength || a.at + len > b.byteLength) return undefined;
  const out = splice(b, cdEnd, cdEnd, b.slice(a.at, a.at + len));
  const eocd = z.eocd >= cdEnd ? z.eocd + len : z.eocd;
  const dv = new DataView(out.buffer);
  if (eocd + 22 > out.byteLength) return undefined;
  dv.setUint16(eocd + 8, (dv.getUint16(eocd + 8, true) + 1) & 0xffff, true);
  dv.setUint16(eocd + 10, (dv.getUint16(eocd + 10, true) + 1) & 0xffff, true);
  dv.setUint32(eocd + 12, (z.cdSize + len) >>> 0, true);
  return { bytes: out, step: `zip duplicate directory entry ${a.name}` };
};

const zipName: Mutator = (b, r) => {
  const z = zipLayout(b);
  if (!z?.records.length) return undefined;
  const rec = r.pick(z.records);
  if (!rec.nameLen) return undefined;
  const out = b.slice();
  const v = r.pick(['../', '/', '..\\', 'C:/', '\\', '\0']).slice(0, rec.nameLen);
  const inLocal = r.chance(0.3) && rec.lh + 30 + rec.nameLen <= b.byteLength;
  const at = (inLocal ? rec.lh + 30 : rec.at + 46) + (r.chance(0.7) ? 0 : r.int(rec.nameLen - v.length + 1));
  if (at + v.length > out.byteLength) return undefined;
  out.set(bytesOf(v), at);
  return { bytes: out, step: `zip ${inLocal ? 'local ' : ''}name ${rec.name} gets ${JSON.stringify(v)}` };
};

/** A generic mutation applied inside one entry's data (the pickle of a .pt, a member .npy header). */
const zipEntryData: Mutator = (b, r) => {
  const z = zipLayout(b);
  if (!z?.records.length) return undefined;
  const rec = r.pick(z.records);
  if (rec.lh + 30 > b.byteLength) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const start = rec.lh + 30 + dv.getUint16(rec.lh + 26, true) + dv.getUint16(rec.lh + 28, true);
  const end = Math.min(b.byteLength, start + rec.compSize);
  if (end - start < 2) return undefined;
  const region = b.slice(start, end);
  const m = r.pick([bitFlip, setBytes, interestingInt, copyChunk])(region, r);
  if (!m || m.bytes.byteLength !== region.byteLength) return undefined;
  const out = b.slice();
  out.set(m.bytes, start);
  return { bytes: out, step: `in zip entry ${rec.name}: ${m.step}` };
};

/** Pickle-aware edits of a torch zip's stored data.pkl (same length: the zip's sizes stay right). */
const zipPickle: Mutator = (b, r) => {
  const z = zipLayout(b);
  const rec = z?.records.find((x) => x.name.endsWith('data.pkl') && x.method === 0);
  if (!rec || rec.lh + 30 > b.byteLength) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const start = rec.lh + 30 + dv.getUint16(rec.lh + 26, true) + dv.getUint16(rec.lh + 28, true);
  const m = mutatePickleAt(b, start, r, true);
  return m && { bytes: m.bytes, step: `in ${rec.name}: ${m.step}` };
};

const rawPickle: Mutator = (b, r) => mutatePickleAt(b, mainPickleStart(b), r, false);

// ---------------------------------------------------------------- JSON files (TF.js model.json, shard indexes)

function isJson(b: Uint8Array): boolean {
  for (let i = 0; i < Math.min(b.byteLength, 64); i++) {
    if (b[i] === 0x7b || b[i] === 0x5b) return true;
    if (b[i] !== 0x20 && b[i] !== 0x0a && b[i] !== 0x0d && b[i] !== 0x09) return false;
  }
  return false;
}

const jsonEdit: Mutator = (b, r) => {
  const e = editText(b, 0, b.byteLength, r, DTYPE_TEXT.map((d) => d.toLowerCase()));
  return e && { bytes: e.bytes, step: `json: ${e.step}` };
};

// ---------------------------------------------------------------- choosing

function mutatorsFor(b: Uint8Array): Mutator[] {
  if (isSafetensors(b)) return [safetensorsLength, safetensorsHeader, safetensorsHeader, safetensorsHeader];
  if (isNpy(b)) return [npyLength, npyDict, npyDict, npyDict];
  if (isZip(b)) return [zipDirectory, zipDirectory, zipLocalHeader, zipDuplicate, zipName, zipEntryData, zipEntryData, zipPickle, zipPickle];
  if (isPickle(b)) return [rawPickle];
  if (isJson(b)) return [jsonEdit, jsonEdit, jsonEdit];
  return [];
}

/** One to four mutations of `original`, chosen by `r`; about half format-aware when the format is known. */
export function mutate(original: Uint8Array, r: Rng): Mutant {
  let bytes = original;
  const steps: string[] = [];
  const rounds = r.chance(0.7) ? 1 : 2 + r.int(3);
  for (let i = 0, tries = 0; i < rounds && tries < 20; tries++) {
    const aware = mutatorsFor(bytes);
    let m: ReturnType<Mutator>;
    // A mutator tripping over bytes an earlier mutation left odd just yields no step.
    try { m = (aware.length && r.chance(0.55) ? r.pick(aware) : r.pick(GENERIC))(bytes, r); } catch { m = undefined; }
    if (!m) continue;
    bytes = m.bytes; steps.push(m.step); i++;
  }
  return { bytes, steps };
}
