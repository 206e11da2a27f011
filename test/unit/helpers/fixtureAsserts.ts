// Assertions shared by the reader tests: a checkpoint decodes to the values numpy wrote in the
// fixture's expected.json, and bad input ends in a CheckpointError that names the file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint } from '../../../src/core/common/types';
import { CheckpointError } from '../../../src/core/common/errors';
import { FilePool, readTensor, streamTensor } from '../../../src/core/tensor/tensorData';

export interface Expected { name: string; dtype: string; shape: number[]; first: number[]; sum: number; sumsq: number }

export function loadExpected(dir: string): Record<string, Expected[]> {
  return JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
}

export function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(b), 1), `${what}: got ${a}, expected ${b}`);
}

/** Every tensor decodes to numpy's values (C order), in the order the writer saved them; streaming in odd `chunk`s agrees. */
export async function assertMatchesExpected(ck: Checkpoint, key: string, expected: Record<string, Expected[]>, chunk = 7): Promise<void> {
  const exp = expected[key];
  assert.ok(exp, `no expected values for ${key}`);
  assert.deepEqual(ck.tensors.map((t) => t.name), exp.map((e) => e.name));
  const pool = new FilePool();
  try {
    for (const e of exp) {
      const t = ck.tensors.find((x) => x.name === e.name)!;
      assert.equal(t.dtype, e.dtype, e.name);
      assert.deepEqual(t.shape, e.shape, e.name);
      const v = await readTensor(t, pool);
      e.first.forEach((x, i) => close(v[i], x, `${key} ${e.name}[${i}]`));
      let s = 0, s2 = 0;
      for (const x of v) { s += x; s2 += x * x; }
      close(s, e.sum, `${key} ${e.name} sum`);
      close(s2, e.sumsq, `${key} ${e.name} sum of squares`);
      let ss = 0;
      for await (const c of streamTensor(t, pool, chunk)) for (let i = 0; i < c.length; i++) ss += c.data[i];
      close(ss, e.sum, `${key} ${e.name} streamed sum`);
    }
  } finally {
    await pool.closeAll();
  }
}

/** Runs `f`, expecting a CheckpointError whose message names `file` and matches `problem`. */
export async function assertRefused(f: () => Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  let err: unknown;
  try { await f(); } catch (e) { err = e; }
  assert.ok(err instanceof CheckpointError, `expected a CheckpointError, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  assert.ok(err.message.includes(file), `message should name ${file}: ${err.message}`);
  assert.match(err.message, problem);
}

/** Opens `path` through the same entry the worker uses and reads every tensor; returns the error it ends in, if any. */
export async function openAndRead(path: string): Promise<unknown> {
  const { openCheckpoint } = await import('../../../src/core/formats/open');
  try {
    const ck = await openCheckpoint(path);
    const pool = new FilePool();
    try { for (const t of ck.tensors) await readTensor(t, pool); } finally { await pool.closeAll(); }
    return undefined;
  } catch (e) { return e; }
}
