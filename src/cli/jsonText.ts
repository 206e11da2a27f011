// JSON as the CLI prints it: indented like JSON.stringify(x, null, 2), except that an array of
// plain values (numbers, strings, booleans, null) stays on one line. Why: a report lists the
// RMSE of every filter and grid cell; one number per line made a 1 GB compare print 3.5 MB over
// 120,000 lines, slow to write and to read, and a shape read [\n 64,\n 3, ...] instead of [64,3,3,3].
// JSON.parse gives exactly what it gives for JSON.stringify's text.
// A compare's report is written layer by layer with `text` (reportWriter.ts).

export function toJsonText(value: unknown): string {
  return text(value, '');
}

/**
 * One value's text, as JSON.stringify(v, null, 2) indents it at `indent` (toJSON called,
 * undefined/functions dropped from objects and null in arrays, non-finite numbers null),
 * but with arrays of plain values on one line.
 */
export function text(value: unknown, indent: string): string {
  const v = prepared(value);
  if (v === null || typeof v !== 'object') return plainText(v);
  const d = deeper(indent), inner = d.inner;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every(isPlain)) return JSON.stringify(v);
    let s = '[';
    for (let k = 0; k < v.length; k++) s += (k === 0 ? '\n' : ',\n') + inner + text(v[k], inner);
    return s + '\n' + indent + ']';
  }
  // A 100,000-layer report writes the same few keys at the same few depths 2.5 million times:
  // their quoted text and the line breaks before them are made once (keyText, deeper).
  const open = d.open, next = d.next;
  let s = '';
  for (const key of Object.keys(v)) {
    const x = prepared((v as Record<string, unknown>)[key]);
    if (dropped(x)) continue;
    s += (s === '' ? open : next) + keyText(key) + (x === null || typeof x !== 'object' ? plainText(x) : text(x, inner));
  }
  return s === '' ? '{}' : s + '\n' + indent + '}';
}

/**
 * A value that is no object or array, as JSON.stringify writes it (undefined, functions, NaN:
 * null). Numbers too go through JSON.stringify: String(n) keeps its result in V8's number-string
 * cache, out of reach of young collections (17 MB moved to the old generation per 100,000 layers).
 */
function plainText(v: unknown): string {
  return dropped(v) ? 'null' : JSON.stringify(v);
}

/** An indent two spaces deeper, with the text that opens an object's first and next keys at it. */
interface Deeper { inner: string; open: string; next: string }
const indents = new Map<string, Deeper>();
function deeper(indent: string): Deeper {
  let d = indents.get(indent);
  if (!d) {
    const inner = indent + '  ';
    d = { inner, open: '{\n' + inner, next: ',\n' + inner };
    if (indents.size < 100) indents.set(indent, d);
  }
  return d;
}

/** `"key": `, kept for the keys seen (a report has a few dozen). */
const keys = new Map<string, string>();
function keyText(key: string): string {
  let t = keys.get(key);
  if (t === undefined) {
    t = JSON.stringify(key) + ': ';
    if (keys.size < 10_000) keys.set(key, t);
  }
  return t;
}

/** What JSON.stringify leaves out of an object (and writes as null in an array). */
function dropped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function prepared(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') return (v as { toJSON: () => unknown }).toJSON();
  return v;
}

function isPlain(v: unknown): boolean {
  return v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}
