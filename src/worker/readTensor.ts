// One tensor's values for display (the report panel draws conv filters). Capped, because the
// answer travels as JSON and is parsed on the extension host's thread.
import { openCheckpoint } from '../core/formats/open';
import { FilePool, readTensor } from '../core/tensor/tensorData';
import { numel } from '../core/tensor/dtypes';
import { CheckpointError } from '../core/common/errors';
import type { ReadTensorParams, ReadTensorResponse } from '../protocol';

export async function readTensorValues(p: ReadTensorParams): Promise<ReadTensorResponse> {
  const ck = await openCheckpoint(p.path);
  const t = ck.tensors.find((x) => x.name === p.name);
  if (!t) throw new CheckpointError(p.path, `has no tensor named ${p.name}`);
  const max = p.maxElements ?? 1_000_000;
  const n = numel(t.shape);
  if (n > max) throw new CheckpointError(p.path, `tensor ${p.name} has ${n} elements, more than the ${max} shown`);
  const pool = new FilePool();
  try {
    const values = await readTensor(t, pool);
    return { name: t.name, shape: [...t.shape], values: Array.from(values) };
  } finally {
    await pool.closeAll();
  }
}
