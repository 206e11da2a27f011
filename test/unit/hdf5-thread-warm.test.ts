// The HDF5 thread (dist/hdf5-thread.js: h5wasm, 0.2-1 s to start) is started on the first HDF5
// file and kept warm: through the shipped worker, Keras files opened one after another start it
// once. A refusal of ours (not a Keras file) keeps it; an HDF5 failure (a truncated file) or a
// hang replaces it once, and the next file reads as before. Left idle, it ends (its WebAssembly
// memory only grows) and the next file starts a new one. Starts and ends are counted by a preload
// that wraps worker_threads.Worker (helpers/countThreads.cjs), not by timing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkerClient, WorkerLog } from '../../src/extension/worker/client';
import { WorkerRequestError } from '../../src/extension/worker/errors';
import { DIST, ensureProductionBuild } from './helpers/shippedBundles';

const ROOT = resolve(__dirname, '../..');
const FIX = join(ROOT, 'test', 'fixtures');
const COUNTER = join(__dirname, 'helpers', 'countThreads.cjs');
const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-hdf5-warm-'));
const clients: WorkerClient[] = [];
after(() => { for (const c of clients) c.dispose(); rmSync(dir, { recursive: true, force: true }); });

const quiet: WorkerLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

function counted(name: string, env: NodeJS.ProcessEnv = {}): { client: WorkerClient; starts(): number; exits(): number } {
  const log = join(dir, `${name}.log`);
  writeFileSync(log, '');
  const client = new WorkerClient({
    workerPath: join(DIST, 'worker.js'), memoryLimitMb: 1024, log: quiet,
    env: { ...process.env, NODE_OPTIONS: `--require ${COUNTER}`, REUSE_LENS_TEST_THREAD_LOG: log, ...env },
  });
  clients.push(client);
  const lines = (what: string) => readFileSync(log, 'utf8').split('\n').filter((l) => l === `${what} hdf5-thread.js`).length;
  return { client, starts: () => lines('start'), exits: () => lines('exit') };
}

test('Keras files opened one after another through the shipped worker start the HDF5 thread once; an HDF5 failure replaces it once and the next file reads', { timeout: 120_000 }, async () => {
  ensureProductionBuild();
  const { client, starts } = counted('sequence');
  await client.inspect({ path: join(FIX, 'keras', 'cnn_model.h5') });
  assert.equal(starts(), 1, 'the first HDF5 file starts the thread');
  await client.inspect({ path: join(FIX, 'keras', 'cnn.keras'), stats: true });
  await client.analyze({ source: join(FIX, 'keras-graph', 'source.h5'), target: join(FIX, 'keras-graph', 'target.h5') }, () => undefined);
  await client.inspect({ path: join(FIX, 'keras', 'cnn.weights.h5'), stats: true });
  assert.equal(starts(), 1, 'four more files (a .keras, a compare, stats read through it) reuse it');

  // Our own refusal: nothing went wrong inside HDF5, the thread stays.
  await assert.rejects(client.inspect({ path: join(FIX, 'keras', 'not_keras.h5') }), (e: unknown) => e instanceof WorkerRequestError && /not a Keras checkpoint/.test(e.message));
  assert.equal(starts(), 1);
  // HDF5 itself failed: that thread's h5wasm is not trusted further; one replacement, started at once.
  await assert.rejects(client.inspect({ path: join(FIX, 'keras', 'truncated.h5') }), (e: unknown) => e instanceof WorkerRequestError && /truncated/.test(e.message));
  assert.equal(starts(), 2);
  const r = await client.inspect({ path: join(FIX, 'keras', 'cnn_weights.h5'), stats: true });
  assert.ok(r.tensors.length > 0 && r.tensors.every((t) => t.stats && Number.isFinite(t.stats.std)));
  assert.equal(starts(), 2, 'the replacement serves the next file');
  // A file on which HDF5 never returns: the hung thread is ended and replaced once.
  await assert.rejects(client.inspect({ path: join(FIX, 'hostile', 'fuzz-found', 'keras-643aa1249a.h5') }), (e: unknown) => e instanceof WorkerRequestError && /did not finish reading/.test(e.message));
  await client.inspect({ path: join(FIX, 'keras', 'cnn_model.h5') });
  assert.equal(starts(), 3);
});

test('an idle HDF5 thread ends, and the next Keras file starts a new one that reads it', { timeout: 60_000 }, async () => {
  ensureProductionBuild();
  const { client, starts, exits } = counted('idle', { REUSE_LENS_HDF5_IDLE_END_MS: '300' });
  await client.inspect({ path: join(FIX, 'keras', 'cnn_model.h5') });
  assert.equal(starts(), 1);
  const deadline = Date.now() + 20_000;
  while (exits() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(exits(), 1, 'the idle thread ended');
  const r = await client.inspect({ path: join(FIX, 'keras', 'cnn_weights.h5'), stats: true });
  assert.ok(r.tensors.length > 0);
  assert.equal(starts(), 2);
  // The worker process itself is fine meanwhile.
  assert.ok((await client.ping()).pid > 0);
});
