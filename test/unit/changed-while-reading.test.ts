// A checkpoint rewritten while we read it (a training loop saving every epoch) is reported as
// "changed while reading, run again" instead of numbers that may mix two epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { CheckpointError } from '../../src/core/common/errors';
import { assertUnchanged, captureSignatures, CHANGED_WHILE_READING } from '../../src/core/common/fileStability';
import { analyzePaths } from '../../src/core/analysis/engine';

const FIX = resolve(__dirname, '../fixtures');

function tempCopy(rel: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-changed-'));
  const path = join(dir, rel.split('/').pop()!);
  copyFileSync(join(FIX, rel), path);
  // An mtime in the past, so that a rewrite "now" has a different one on any file system.
  utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  return { dir, path };
}

/** Same size, different bytes, new mtime: what `torch.save` / `save_file` over the old file does. */
function rewriteSameSize(path: string): void {
  const b = readFileSync(path);
  const header = Number(b.readBigUInt64LE(0)) + 8;
  for (let i = header; i < b.length; i++) b[i] ^= 0x55;
  writeFileSync(path, b);
}

function isChanged(e: unknown, path: string): boolean {
  return e instanceof CheckpointError && e.file === path && e.message.includes(CHANGED_WHILE_READING);
}

test('a safetensors file rewritten (same size, new content) between open and the end of the read is "changed while reading, run again"', async () => {
  const { dir, path } = tempCopy('safetensors/conv_bn_linear.safetensors');
  try {
    const ck = await openCheckpoint(path);
    const before = ck.files;
    const pool = new FilePool();
    try {
      await readTensor(ck.tensors[0], pool);
      rewriteSameSize(path);
      for (const t of ck.tensors.slice(1)) await readTensor(t, pool);
    } finally { await pool.closeAll(); }
    assert.equal(statSync(path).size, before[0].size, 'the rewrite keeps the size: only the time shows it');
    await assert.rejects(assertUnchanged(before, path), (e) => isChanged(e, path));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a file that did not change passes the check', async () => {
  const { dir, path } = tempCopy('safetensors/conv_bn_linear.safetensors');
  try {
    const ck = await openCheckpoint(path);
    const pool = new FilePool();
    try { for (const t of ck.tensors) await readTensor(t, pool); } finally { await pool.closeAll(); }
    await assertUnchanged(ck.files, path);
    await assertUnchanged(await captureSignatures([path]), path);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('an atomic save (new file renamed over the old one, same size and mtime) is caught by the inode', async () => {
  const { dir, path } = tempCopy('safetensors/conv_bn_linear.safetensors');
  try {
    const [before] = await captureSignatures([path]);
    const st = statSync(path);
    const other = join(dir, 'next.tmp');
    copyFileSync(path, other);
    utimesSync(other, st.atime, st.mtime);
    renameSync(other, path);
    await assert.rejects(assertUnchanged([before], path), (e) => isChanged(e, path));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a shard that changes names the sharded checkpoint the user opened, and the shard', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-changed-'));
  try {
    for (const f of ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) copyFileSync(join(FIX, 'safetensors/sharded', f), join(dir, f));
    const index = join(dir, 'model.safetensors.index.json');
    const ck = await openCheckpoint(index);
    const shard = join(dir, 'model-00002-of-00002.safetensors');
    writeFileSync(shard, Buffer.concat([readFileSync(shard), Buffer.alloc(8)]));
    await assert.rejects(assertUnchanged(ck.files, index), (e) => isChanged(e, index) && (e as Error).message.includes('model-00002-of-00002.safetensors'));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a file deleted while reading is "changed while reading, run again"', async () => {
  const { dir, path } = tempCopy('safetensors/conv_bn_linear.safetensors');
  try {
    const before = await captureSignatures([path]);
    rmSync(path);
    await assert.rejects(assertUnchanged(before, path), (e) => isChanged(e, path));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('analyzePaths reports a source rewritten during the analysis as "changed while reading, run again"', async () => {
  const { dir, path } = tempCopy('pairs/source.safetensors');
  const target = join(FIX, 'pairs/target.safetensors');
  try {
    let rewritten = false;
    const run = analyzePaths(path, target, {}, {
      // The first progress report comes after both files are open and before any tensor is read.
      onProgress: () => { if (!rewritten) { rewritten = true; rewriteSameSize(path); } },
    });
    await assert.rejects(run, (e) => isChanged(e, path));
    assert.ok(rewritten);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
