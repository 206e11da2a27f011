// Progress of a compare says how many bytes of how many it has read, so a user comparing
// 100 GB of shards knows where it stands: in the extension's notification (the worker's
// `progress` message, protocol.ts) and on the command line's status line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzePaths, Progress } from '../../src/core/analysis/engine';
import { DType, DTYPE_SIZE } from '../../src/core/common/types';
import type { Report } from '../../src/core/shared/reportTypes';
import type { ProgressParams } from '../../src/protocol';
import { WorkerClient } from '../../src/extension/worker/client';
import { DIST, ensureProductionBuild } from './helpers/shippedBundles';

const FIX = join(__dirname, '..', 'fixtures');
const SHARDED = join(FIX, 'safetensors', 'sharded', 'model.safetensors.index.json');

/** Bytes of both sides of every compared tensor (both sides store each in the same dtype here). */
function comparedBytes(r: Report): number {
  let bytes = 0;
  for (const l of r.layers) for (const p of l.params) {
    if (p.sourceName !== null && p.targetName !== null && !p.sourceShape) bytes += 2 * DTYPE_SIZE[p.dtype as DType] * p.shape.reduce((a, b) => a * b, 1);
  }
  return bytes;
}

const kbText = (bytes: number) => (bytes / 1e3).toFixed(1).replace('.', '\\.');

test('progress counts the bytes of both sides read, ending at the total, and says them first in the message', async () => {
  const seen: Progress[] = [];
  const r = await analyzePaths(join(FIX, 'pairs/source.safetensors'), join(FIX, 'pairs/target.safetensors'), {}, { onProgress: (p) => seen.push(p) });
  const last = seen.at(-1)!;
  assert.equal(last.bytesTotal, comparedBytes(r));
  assert.equal(last.bytesDone, last.bytesTotal);
  assert.ok(seen.every((p, i) => i === 0 || p.bytesDone >= seen[i - 1].bytesDone));
  const kb = kbText(last.bytesTotal);
  assert.match(seen[0].message, new RegExp(`^0\\.0 of ${kb} KB: comparing \\d+ tensors$`));
  assert.match(last.message, new RegExp(`^${kb} KB of ${kb} KB: done$`));
});

const clients: WorkerClient[] = [];
after(() => { for (const c of clients) c.dispose(); });

test('the extension\'s progress notification of a sharded pair says the bytes of every shard of both sides (the shipped worker)', async () => {
  ensureProductionBuild();
  const c = new WorkerClient({ workerPath: join(DIST, 'worker.js'), memoryLimitMb: 512, log: { info: () => undefined, warn: () => undefined, error: () => undefined }, onWorkerLost: () => undefined });
  clients.push(c);
  const seen: ProgressParams[] = [];
  const a = await c.analyze({ source: SHARDED, target: SHARDED }, (p) => seen.push(p));
  const kb = kbText(comparedBytes(a.report));
  assert.ok(a.report.layers.length > 1 && comparedBytes(a.report) > 0);
  assert.match(seen[0].message, new RegExp(`^0\\.0 of ${kb} KB: comparing \\d+ tensors$`));
  assert.match(seen.at(-1)!.message, new RegExp(`^${kb} KB of ${kb} KB: done$`));
});

test('the command line\'s status line of a sharded pair says the bytes of every shard of both sides (the shipped bundle, on a terminal)', (t) => {
  if (spawnSync('script', ['--version']).status !== 0) { t.skip('no `script` (util-linux) to give the command line a terminal'); return; }
  ensureProductionBuild();
  const cli = join(DIST, 'cli.js');
  const json = spawnSync(process.execPath, [cli, 'compare', SHARDED, SHARDED, '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const kb = kbText(comparedBytes(JSON.parse(json.stdout) as Report));
  // The status line is written only to a terminal: `script` gives the command one.
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('script', ['-qec', [process.execPath, cli, 'compare', SHARDED, SHARDED].map(q).join(' '), '/dev/null'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`\\r0% 0\\.0 of ${kb} KB: comparing \\d+ tensors`));
  assert.match(r.stdout, new RegExp(`\\r100% ${kb} KB of ${kb} KB: done`));
  assert.doesNotMatch(r.stdout, /\n\d+% /, 'one status line, rewritten in place');
});
