// Progress of a compare says how many bytes of how many it has read, so a user comparing
// 100 GB of shards knows where it stands (the worker forwards the message to the notification).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzePaths, Progress } from '../../src/core/analysis/engine';
import { DType, DTYPE_SIZE } from '../../src/core/common/types';

const FIX = join(__dirname, '..', 'fixtures');

test('progress counts the bytes of both sides read, ending at the total, and says them in the message', async () => {
  const seen: Progress[] = [];
  const r = await analyzePaths(join(FIX, 'pairs/source.safetensors'), join(FIX, 'pairs/target.safetensors'), {}, { onProgress: (p) => seen.push(p) });
  const last = seen.at(-1)!;
  // Both sides store each compared tensor in the same dtype here.
  let bytes = 0;
  for (const l of r.layers) for (const p of l.params) {
    if (p.sourceName !== null && p.targetName !== null && !p.sourceShape) bytes += 2 * DTYPE_SIZE[p.dtype as DType] * p.shape.reduce((a, b) => a * b, 1);
  }
  assert.equal(last.bytesTotal, bytes);
  assert.equal(last.bytesDone, last.bytesTotal);
  assert.ok(seen.every((p, i) => i === 0 || p.bytesDone >= seen[i - 1].bytesDone));
  const kb = (last.bytesTotal / 1e3).toFixed(1);
  assert.match(seen[0].message, new RegExp(`^comparing \\d+ tensors \\(0\\.0 of ${kb.replace('.', '\\.')} KB\\)$`));
  assert.match(last.message, new RegExp(`^done \\(${kb.replace('.', '\\.')} KB of ${kb.replace('.', '\\.')} KB\\)$`));
});
