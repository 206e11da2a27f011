// What one fuzz input goes through: the worker's own entry points. Open it, read every tensor
// whole and in chunks, then inspect it with statistics and compare it with itself (the two
// calls the worker serves). Any error must be a CheckpointError; anything else is a finding.
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor, streamTensor } from '../../src/core/tensor/tensorData';
import { inspectPath, analyzePaths } from '../../src/core/analysis/engine';
import { CheckpointError } from '../../src/core/common/errors';

export type Outcome =
  | { kind: 'result'; tensors: number }
  | { kind: 'error'; message: string }
  | { kind: 'finding'; name: string; message: string; stack: string };

/** Small chunks so that chunk boundaries, not just whole reads, meet the damaged bytes. */
const SMALL_CHUNK = 1000;

async function run(path: string): Promise<number> {
  const ck = await openCheckpoint(path);
  const pool = new FilePool();
  try {
    for (const t of ck.tensors) {
      await readTensor(t, pool);
      for await (const c of streamTensor(t, pool, SMALL_CHUNK)) void c;
    }
  } finally { await pool.closeAll(); }
  await inspectPath(path, { stats: true });
  if (ck.tensors.length) await analyzePaths(path, path);
  return ck.tensors.length;
}

export async function exercise(path: string): Promise<Outcome> {
  try {
    return { kind: 'result', tensors: await run(path) };
  } catch (e) {
    if (e instanceof CheckpointError) return { kind: 'error', message: e.message };
    const err = e instanceof Error ? e : new Error(String(e));
    return { kind: 'finding', name: err.name, message: err.message, stack: err.stack ?? '' };
  }
}
