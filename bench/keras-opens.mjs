// Opening N Keras files one after another, as the extension does (one worker process, requests
// over JSON-RPC) and as a shell loop over the CLI does (one process each): wall time per open and
// how many times the HDF5 thread (dist/hdf5-thread.js, h5wasm) was started, counted by
// test/unit/helpers/countThreads.cjs preloaded into the process.
//
//   node bench/keras-opens.mjs [--dist DIR] [--rounds N]
//
// The files are the committed Keras fixtures (.h5 from model.save and save_weights, Keras 3
// .weights.h5 and .keras), opened --rounds times over (default 3). --dist: another build of dist/
// (to compare with an older one).
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib/measure.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const DIST = resolve(opt('--dist', join(ROOT, 'dist')));
const ROUNDS = Number(opt('--rounds', '3'));
const COUNTER = join(ROOT, 'test/unit/helpers/countThreads.cjs');
const FIX = join(ROOT, 'test/fixtures');
const FILES = ['keras/cnn_model.h5', 'keras/cnn_weights.h5', 'keras/cnn.weights.h5', 'keras/cnn.keras', 'keras/cnn_deflated.keras',
  'keras-graph/source.h5', 'keras-graph/target.keras', 'keras-direct/dense_a.h5', 'experiments/keras_target.h5', 'experiments/keras_target.keras'].map((f) => join(FIX, f));
const require = createRequire(import.meta.url);
const rpc = require(join(ROOT, 'node_modules/vscode-jsonrpc/node'));
const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-keras-opens-'));
const starts = (log) => readFileSync(log, 'utf8').split('\n').filter((l) => l === 'start hdf5-thread.js').length;
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function viaWorker() {
  const log = join(dir, 'worker.log');
  writeFileSync(log, '');
  const child = fork(join(DIST, 'worker.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, NODE_OPTIONS: `--require ${COUNTER}`, REUSE_LENS_TEST_THREAD_LOG: log } });
  const conn = rpc.createMessageConnection(new rpc.IPCMessageReader(child), new rpc.IPCMessageWriter(child));
  conn.listen();
  const ms = [];
  try {
    await conn.sendRequest('reuseLens/ping');
    for (let r = 0; r < ROUNDS; r++) {
      for (const path of FILES) {
        const t0 = performance.now();
        await conn.sendRequest('reuseLens/inspect', { path });
        ms.push(performance.now() - t0);
      }
    }
  } finally {
    conn.dispose();
    child.kill();
  }
  return { ms, starts: starts(log) };
}

function viaCli() {
  const log = join(dir, 'cli.log');
  writeFileSync(log, '');
  const ms = [];
  for (const path of FILES) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'inspect', path, '--json'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require ${COUNTER}`, REUSE_LENS_TEST_THREAD_LOG: log } });
    if (r.status !== 0) throw new Error(`${path}: ${r.stderr}`);
    ms.push(performance.now() - t0);
  }
  return { ms, starts: starts(log) };
}

try {
  const before = load();
  const w = await viaWorker();
  const c = viaCli();
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  console.log(`dist: ${DIST}; load average before ${before}, after ${load()}`);
  console.log(`worker (dist/worker.js), ${w.ms.length} opens: HDF5 thread started ${w.starts}x; first open ${w.ms[0].toFixed(0)} ms, the others median ${median(w.ms.slice(1)).toFixed(1)} ms; total ${sum(w.ms).toFixed(0)} ms`);
  console.log(`CLI (dist/cli.js inspect, one process per file), ${c.ms.length} opens: HDF5 thread started ${c.starts}x; median ${median(c.ms).toFixed(0)} ms per file; total ${sum(c.ms).toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
