// One analysis as the extension runs it: the extension's own WorkerClient (bundled from
// src/extension/worker/client.ts by bench/lib/worker-client.mjs) forks dist/worker.js with the
// flags and memory limit the extension gives it, and gets the report back in pieces.
//   node bench/lib/analyze-via-worker.mjs CLIENT_BUNDLE SOURCE TARGET
// Then saves the report in the extension's report cache (a temporary folder), as the extension
// does. Prints JSON: layers, the sum of every RMSE, and the worker's peak RSS (VmHWM, read before
// the client ends the worker: it is killed, so it cannot report from inside). This process's own
// peak RSS is the host's side: run it under bench/lib/measure.mjs nodeWithRss.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const [bundle, source, target] = process.argv.slice(2);
const { WorkerClient, ReportCache } = createRequire(import.meta.url)(bundle);
const quiet = { info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) };
// The extension's default (setting reuseLens.worker.memoryLimitMb).
const client = new WorkerClient({ workerPath: join(ROOT, 'dist/worker.js'), memoryLimitMb: 4096, log: quiet });
const r = await client.analyze({ source, target });
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${client.pid}/status`, 'utf8'));
let checksum = 0;
for (const l of r.report.layers) for (const p of l.params) if (typeof p.rmse === 'number') checksum += p.rmse;
client.dispose();
const cacheStart = performance.now();
const cacheDir = mkdtempSync(join(tmpdir(), 'reuse-lens-bench-cache-'));
try { await new ReportCache(cacheDir, (m) => { throw new Error(m); }).put('beec', r); } finally { rmSync(cacheDir, { recursive: true, force: true }); }
const cacheMs = performance.now() - cacheStart;
process.stdout.write(JSON.stringify({ layers: r.report.layers.length, checksum, workerRssMB: Number(hwm[1]) / 1024, analyzeMs: r.durationMs, cacheMs }) + '\n');
