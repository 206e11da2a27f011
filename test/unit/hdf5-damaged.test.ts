// h5wasm is synchronous WebAssembly, and on some damaged files the HDF5 library never returns
// (found by the fuzzer: test/fixtures/hostile/fuzz-found/). hdf5.ts runs it in a thread it ends on
// a deadline; these tests hold it to that, and to closing what h5wasm leaves open when it fails.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { CheckpointError } from '../../src/core/common/errors';

const ROOT = join(__dirname, '..', '..');
const FOUND = join(ROOT, 'test', 'fixtures', 'hostile', 'fuzz-found');
const HANGS = join(FOUND, 'keras-643aa1249a.h5');
const HANGS_IN_FOLDER = join(FOUND, 'folders-03f60e343d', 'variables', 'variables.h5');
const TRUNCATED = join(FOUND, 'folders-0ec5b9d7c0', 'a.h5');
const SOUND = join(ROOT, 'test', 'fixtures', 'keras', 'cnn_model.h5');
const CLI = join(ROOT, 'dist', 'cli.js');

async function loadAll(path: string): Promise<number> {
  const ck = await openCheckpoint(path);
  let n = 0;
  for (const t of ck.tensors) if (t.location.kind === 'loader') n += (await t.location.load()).byteLength;
  return n;
}

/** Descriptors pointing at `files` or at h5wasm's temp files. */
function heldOpen(files: string[]): string[] {
  if (process.platform !== 'linux') return [];
  const real = new Set(files.map((f) => realpathSync(f)));
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try { link = readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    const path = link.replace(/ \(deleted\)$/, '');
    if (real.has(path) || /\/tmpfile_[^/]*$/.test(path)) out.push(`${fd} -> ${link}`);
  }
  return out;
}

test('a damaged HDF5 file on which the HDF5 library never returns ends in a clear error within seconds', { timeout: 60_000 }, async () => {
  for (const p of [HANGS, HANGS_IN_FOLDER]) {
    const start = Date.now();
    await assert.rejects(openCheckpoint(p), (e: unknown) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.equal(e.file, p);
      assert.match(e.message, /HDF5 library did not finish reading .* within \d+ s: the file is damaged/);
      return true;
    });
    const ms = Date.now() - start;
    assert.ok(ms < 8000, `took ${ms} ms`);
  }
  // The hung thread was replaced: sound files read as before.
  assert.ok(await loadAll(SOUND) > 0);
});

test('a failed HDF5 read leaves no file descriptor open', { timeout: 60_000 }, async () => {
  await loadAll(SOUND); // the HDF5 thread is up
  for (const p of [TRUNCATED, HANGS]) {
    await assert.rejects(openCheckpoint(p), CheckpointError);
    assert.deepEqual(heldOpen([p, SOUND]), [], `after ${p}`);
  }
  await loadAll(SOUND);
  assert.deepEqual(heldOpen([SOUND]), []);
});

test('sound HDF5 files still read while several are opened at once', { timeout: 60_000 }, async () => {
  const results = await Promise.allSettled([loadAll(SOUND), openCheckpoint(TRUNCATED), loadAll(SOUND)]);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[1].status, 'rejected');
  assert.equal(results[2].status, 'fulfilled');
  assert.equal((results[0] as PromiseFulfilledResult<number>).value, (results[2] as PromiseFulfilledResult<number>).value);
});

before(() => {
  // `npm test` builds first; a lone run of this file builds when the HDF5 thread bundle is missing.
  if (!existsSync(join(ROOT, 'dist', 'hdf5-thread.js')) || !existsSync(CLI)) {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
});

test('the CLI on an HDF5 file that hangs the library exits 1 with one line naming the file', { timeout: 60_000 }, () => {
  const start = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'inspect', HANGS], { encoding: 'utf8', cwd: ROOT, timeout: 30_000 });
  assert.equal(r.signal, null, `killed after ${Date.now() - start} ms`);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /keras-643aa1249a\.h5.*HDF5 library did not finish reading .* the file is damaged/);
  assert.ok(Date.now() - start < 15_000);
});

test('the CLI reads a Keras .h5 through the bundled HDF5 thread and exits promptly', { timeout: 60_000 }, () => {
  const start = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'inspect', SOUND], { encoding: 'utf8', cwd: ROOT, timeout: 30_000 });
  assert.equal(r.signal, null, 'the HDF5 thread kept the CLI alive');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /keras-h5, 12 tensors/);
  assert.ok(Date.now() - start < 10_000, `took ${Date.now() - start} ms`);
});
