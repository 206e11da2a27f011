// Numbers in a checkpoint that lie: shapes whose product overflows or disagrees with the bytes,
// data offsets that overlap or leave the file, and NaN/Inf values. Lies end in a CheckpointError
// naming the file; NaN/Inf are counted per parameter and said in words, never an unexplained
// NaN RMSE. Fixtures: test/fixtures/gen_hostile.py (and the PyTorch reader's broken/ set).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { CheckpointError } from '../../src/core/common/errors';
import { openAndRead } from './helpers/fixtureAsserts';
import { analyzePaths, inspectPath } from '../../src/core/analysis/engine';

const FIX = resolve(__dirname, '../fixtures');
const NUM = join(FIX, 'hostile/numbers');
const NONFINITE = join(FIX, 'hostile/nonfinite');


async function assertRefused(path: string, pattern: RegExp): Promise<void> {
  const e = await openAndRead(path);
  assert.ok(e instanceof CheckpointError, `expected a CheckpointError for ${path}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  assert.equal(e.file, path);
  assert.match(e.message, pattern);
}

// ---------------------------------------------------------------- shapes

test('refuses a safetensors shape whose element count overflows (2^32 × 2^32 × 2^32)', () =>
  assertRefused(join(NUM, 'shape_overflow.safetensors'), /too many elements|overflow/));

test('refuses a safetensors shape that does not match the byte length of its data', () =>
  assertRefused(join(NUM, 'shape_mismatch.safetensors'), /\[3, 4\] needs 48 bytes but data_offsets span 24/));

test('refuses a safetensors shape with negative dimensions', () =>
  assertRefused(join(NUM, 'negative_dim.safetensors'), /shape \[-2,-3\]/));

test('refuses a .npy shape whose element count overflows', () =>
  assertRefused(join(NUM, 'npy_shape_overflow.npy'), /too many elements|overflow/));

test('refuses a .npy shape that needs more bytes than follow the header', () =>
  assertRefused(join(NUM, 'npy_shape_mismatch.npy'), /needs 48 bytes of data but only 24 follow/));

test('refuses a .npy dimension too large to be an integer', () =>
  assertRefused(join(NUM, 'npy_huge_dim.npy'), /out of range|too many elements|too large/));

test('the unedited .npy the lying ones were made from reads fine', async () => {
  assert.equal(await openAndRead(join(NUM, 'good.npy')), undefined);
});

test('refuses a PyTorch tensor whose element count is far beyond its storage', () =>
  assertRefused(join(FIX, 'pytorch/broken/huge_numel.pt'), /.+/));

test('refuses a PyTorch view that reaches outside its storage', () =>
  assertRefused(join(FIX, 'pytorch/broken/view_out_of_storage.pt'), /storage/));

// ---------------------------------------------------------------- offsets

test('refuses two safetensors tensors over the same bytes', () =>
  assertRefused(join(NUM, 'overlap.safetensors'), /overlap/));

test('refuses safetensors data offsets past the end of the file', () =>
  assertRefused(join(NUM, 'past_end.safetensors'), /span|past|end of the file|truncated/));

test('refuses safetensors data offsets that run backwards', () =>
  assertRefused(join(NUM, 'backwards.safetensors'), /begin <= end/));

test('refuses safetensors data offsets beyond 2^53 (not exact as numbers)', () =>
  assertRefused(join(NUM, 'offset_2p60.safetensors'), /data_offsets/));

// ---------------------------------------------------------------- NaN and Inf

test('inspect --stats counts NaN and Inf per tensor', async () => {
  const r = await inspectPath(join(NONFINITE, 'source.safetensors'), { stats: true });
  const conv = r.tensors.find((t) => t.name === 'conv.weight')!;
  assert.equal(conv.stats!.nan, 2);
  assert.equal(conv.stats!.inf, 1);
  assert.ok(Number.isFinite(conv.stats!.mean) && Number.isFinite(conv.stats!.std), 'statistics of the finite values stay numbers');
  assert.equal(r.tensors.find((t) => t.name === 'fc.weight')!.stats!.nan, 0);
});

test('a compare with NaN/Inf counts them per parameter, keeps finite metrics, and says so', async () => {
  const report = await analyzePaths(join(NONFINITE, 'source.safetensors'), join(NONFINITE, 'target.safetensors'));
  const param = (layer: string, role: string) => report.layers.find((l) => l.name === layer)!.params.find((p) => p.role === role)!;
  assert.deepEqual(param('conv', 'weight').nonFinite, { source: 3, target: 1 });
  assert.deepEqual(param('fc', 'weight').nonFinite, { source: 0, target: 3 });
  assert.equal(param('conv', 'bias').nonFinite, undefined);
  for (const [l, r] of [['conv', 'weight'], ['fc', 'weight']]) {
    const p = param(l, r);
    assert.ok(Number.isFinite(p.rmse!) && Number.isFinite(p.relRmse!), `${l}.${r}: metrics over the finite pairs, got rmse ${p.rmse}`);
  }
  assert.ok(report.warnings.some((w) => /conv weight: 3 NaN\/Inf in the source, 1 in the target/.test(w)), report.warnings.join('\n'));
  assert.ok(report.warnings.some((w) => /fc weight: 0 NaN\/Inf in the source, 3 in the target/.test(w)), report.warnings.join('\n'));
  const conv = report.layers.find((l) => l.name === 'conv')!;
  assert.match(conv.reason, /NaN\/Inf/);
  assert.equal(conv.verdict, 'retrain', 'a source kernel holding NaN is not reusable as is');
  assert.match(report.layers.find((l) => l.name === 'fc')!.reason, /NaN\/Inf/);
});

test('no metric in a report is NaN without a NaN/Inf count that explains it', async () => {
  const report = await analyzePaths(join(NONFINITE, 'source.safetensors'), join(NONFINITE, 'all_nan_bias.safetensors'));
  for (const l of report.layers) for (const p of l.params) {
    for (const v of [p.rmse, p.relRmse, p.cosine, p.maxAbsDiff]) {
      if (v !== null && Number.isNaN(v)) assert.ok(p.nonFinite, `${l.name}.${p.role} has a NaN metric and no NaN/Inf count`);
    }
  }
  const bias = report.layers.find((l) => l.name === 'fc')!.params.find((p) => p.role === 'bias')!;
  assert.deepEqual(bias.nonFinite, { source: 0, target: 5 });
  assert.ok(report.warnings.some((w) => /fc bias: 0 NaN\/Inf in the source, 5 in the target/.test(w)));
});

test('a stride-0 view of 268M elements over one stored value is refused, not expanded into 2 GB', async () => {
  const file = join(FIX, 'hostile/numbers/stride0_expand.pt');
  const before = process.memoryUsage().rss;
  const err = await openAndRead(file);
  assert.ok(err instanceof CheckpointError, `expected a CheckpointError, got ${String(err)}`);
  assert.match((err as Error).message, /stride0_expand\.pt: tensor w is a view of 268435456 elements over 1 stored ones/);
  assert.ok(process.memoryUsage().rss - before < 256 * 1024 * 1024, 'no gigabyte allocation');
});
