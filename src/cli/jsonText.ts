// JSON as the CLI prints it: indented like JSON.stringify(x, null, 2), except that an array of
// plain values (numbers, strings, booleans, null) stays on one line. Why: a report lists the
// RMSE of every filter and grid cell; one number per line made a 1 GB compare print 3.5 MB over
// 120,000 lines, slow to write and to read, and a shape read [\n 64,\n 3, ...] instead of [64,3,3,3].
// JSON.parse gives exactly what it gives for JSON.stringify's text.
import { randomBytes } from 'node:crypto';

export function toJsonText(value: unknown): string {
  // JSON.stringify does the work (it is faster than any writer of ours); each plain array is
  // swapped for a marker string and put back on one line. The marker holds a NUL (escaped as
  // \u0000 in the text) and a random tag, so no string of the input can be taken for one.
  const tag = randomBytes(6).toString('hex');
  const arrays: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (Array.isArray(v) && v.length > 0 && v.every(isPlain)) {
      arrays.push(JSON.stringify(v));
      return `\u0000${tag}:${arrays.length - 1}`;
    }
    return v;
  }, 2);
  if (text === undefined) return 'null';
  return arrays.length === 0 ? text : text.replace(new RegExp(`"\\\\u0000${tag}:(\\d+)"`, 'g'), (_m, i: string) => arrays[Number(i)]);
}

function isPlain(v: unknown): boolean {
  return v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}
