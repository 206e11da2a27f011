#!/usr/bin/env node
// `npm run bench`: speed and memory of `reuse-lens compare` against the Python a user would
// otherwise write, on the same files, same machine, same run, files in the page cache.
//
//   node bench/run.mjs                 1 GB pair, 3 alternating runs, prints the README table
//   node bench/run.mjs --small         48 MB pair, 1 run: checks only that compare completes
//                                      and that peak RSS < 300 MB (CI); exit 1 otherwise
//   options: --mb N  --runs N  --dir DIR (where the pair is generated / reused)
//            --no-python (skip the baselines)  --json (print the raw results too)
//            --cli PATH (another build of the CLI, to compare a change)
//            --no-extension (skip bench/extension.mjs, the extension's activation and listing)
//            --no-experiment (skip bench/experiment.mjs, the replacement experiment on the demo)
//            --gb N (bench/scale.mjs also compares a sharded bf16 pair of N GB per side, warm and cold)
//            --no-runtimes (skip bench/experiment-runtimes.mjs, TF.js and ONNX Runtime experiments)
//            --transposed-only (only the rows of one big matrix stored [in, out]: Keras, ONNX)
//            --streamed-only (only the rows of the same matrix in the storage that used to be read
//            whole: .keras, chunked+gzip .h5, deflated .npz, TF.js over shards, quantized TF.js
//            uint8 and TFLite int8, and Keras vs safetensors in two layouts)
//            --no-streamed (leave those rows out of the full run)
//            --no-codemap (skip bench/codemap.mjs, the inline hints' annotate targets)
//
// What is timed: ours is the whole `node dist/cli.js compare A B --csv` process (start-up
// included), and the same with --json. A Python baseline times itself from just before
// torch.load/memmap (the interpreter and `import torch` left out), and the bench times its
// whole process too. Ratios are judged whole process against whole process; the ratio against
// a baseline's self-timed part is printed beside it.
import { spawn, spawnSync, fork } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDriver } from './build-driver.mjs';
import { median, timed, failure, nodeWithRss } from './lib/measure.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const PY = '/usr/bin/python3';
const RSS_LIMIT_MB = 300;

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const small = flag('--small');
const mb = Number(opt('--mb', small ? 48 : 1000)); // 48 MB: enough tensor data for the pair threads to start
const runs = Number(opt('--runs', small ? 1 : 3));
const dir = opt('--dir', join(tmpdir(), 'reuse-lens-bench', String(mb)));
const python = !flag('--no-python') && !small;
const work = join(tmpdir(), 'reuse-lens-bench', 'work');
mkdirSync(work, { recursive: true });

const log = (s) => process.stderr.write(s + '\n');
const f = (name) => join(dir, name);

// ---- the pair ------------------------------------------------------------------------
function ensurePair() {
  const manifest = f('manifest.json');
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).mb === mb) return JSON.parse(readFileSync(manifest, 'utf8'));
  log(`generating the ${mb} MB pair in ${dir} ...`);
  const r = spawnSync(PY, [join(ROOT, 'bench/generate.py'), dir, '--mb', String(mb)], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('bench/generate.py failed');
  return JSON.parse(readFileSync(manifest, 'utf8'));
}

/** One big matrix stored [in, out] as Keras and ONNX store it, and as safetensors (bench/generate_transposed.py). */
function ensureTransposed() {
  const manifest = f('manifest-transposed.json');
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).mb === mb) return JSON.parse(readFileSync(manifest, 'utf8'));
  log(`generating the ${mb} MB transposed-layout pairs in ${dir} ...`);
  const r = spawnSync(PY, [join(ROOT, 'bench/generate_transposed.py'), dir, '--mb', String(mb)], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('bench/generate_transposed.py failed');
  return JSON.parse(readFileSync(manifest, 'utf8'));
}
const KERAS_ROW = 'ours (Keras .h5, one Dense kernel)', ONNX_ROW = 'ours (ONNX, MatMul weights)', PLAIN_ROW = 'ours (safetensors, the same matrix)';
const transposedContenders = () => ({
  [KERAS_ROW]: () => oursCli(f('dense-src.h5'), f('dense-tgt.h5')),
  [ONNX_ROW]: () => oursCli(f('matmul-src.onnx'), f('matmul-tgt.onnx')),
  [PLAIN_ROW]: () => oursCli(f('plain-src.safetensors'), f('plain-tgt.safetensors')),
});
const transposedFiles = () => ['dense', 'matmul', 'plain'].flatMap((k) => ['src', 'tgt'].map((t) => f(`${k}-${t}.${k === 'dense' ? 'h5' : k === 'matmul' ? 'onnx' : 'safetensors'}`)));

/**
 * The targets of the transposed rows: a compare's memory does not grow with the matrix (peak RSS
 * under the limit), Keras and ONNX take at most twice the safetensors compare of the same bytes,
 * and all three report the same RMSE.
 */
function transposedTargets(med, results, tm, target) {
  const plain = med[PLAIN_ROW];
  for (const row of [KERAS_ROW, ONNX_ROW]) {
    const v = med[row];
    if (!v || !plain) { target(`${row}: compare of ${tm.rows}x${tm.cols} float32`, 'failed', '', false); continue; }
    target(`${row.replace(/^ours \((.*)\)$/, '$1')} vs safetensors of the same ${(tm.bytes / 1e6).toFixed(0)} MB matrix: time, peak RSS`,
      `${(v.ms / plain.ms).toFixed(2)}x, ${v.rssMB.toFixed(0)} MB`, `≤ 2x, < ${RSS_LIMIT_MB} MB`, v.ms <= 2 * plain.ms && v.rssMB < RSS_LIMIT_MB);
  }
  const sums = [KERAS_ROW, ONNX_ROW, PLAIN_ROW].map((k) => results[k]?.[0]?.checksum);
  if (sums.every((x) => x !== undefined)) {
    const dev = Math.max(...sums.map((x) => Math.abs(x - sums[2]) / sums[2]));
    target('Keras, ONNX and safetensors of the same matrix report the same RMSE', `largest deviation ${dev.toExponential(1)}`, '≤ 1e-6', dev <= 1e-6);
  }
}

/** The same matrix stored the ways that used to be read whole (bench/generate_streamed.py). */
function ensureStreamed() {
  const manifest = f('manifest-streamed.json');
  const m = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : undefined;
  // A manifest without the quantized pairs (an older generator): the generator adds what is missing.
  if (m?.mb === mb && m.quantizedRmse) return m;
  log(`generating the ${mb} MB streamed-storage pairs in ${dir} (gzip and deflate: a few minutes) ...`);
  const r = spawnSync(PY, [join(ROOT, 'bench/generate_streamed.py'), dir, '--mb', String(mb)], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('bench/generate_streamed.py failed');
  return JSON.parse(readFileSync(manifest, 'utf8'));
}
/** The same matrix quantized: judged on the floats it stands for, dequantized as read. */
const QUANTIZED_ROWS = {
  tfjs: 'ours (TF.js uint8-quantized Dense kernel, 4 MB shards)',
  tflite: 'ours (TFLite int8 per-channel FULLY_CONNECTED weight)',
};
const STREAMED_ROWS = {
  'ours (.keras, Keras 3 model.save: weights stored in the zip)': ['stream-src.keras', 'stream-tgt.keras'],
  'ours (.h5, the kernel chunked + gzip)': ['stream-src.h5', 'stream-tgt.h5'],
  'ours (.npz, np.savez_compressed: deflated)': ['stream-src.npz', 'stream-tgt.npz'],
  'ours (TF.js, the kernel over 4 MB shards)': ['tfjs-src/model.json', 'tfjs-tgt/model.json'],
  [QUANTIZED_ROWS.tfjs]: ['tfjs-q-src/model.json', 'tfjs-q-tgt/model.json'],
  [QUANTIZED_ROWS.tflite]: ['fc-src.tflite', 'fc-tgt.tflite'],
  'ours (Keras .h5 Dense kernel vs safetensors Linear weight: two layouts, the blocked transpose)': ['dense-src.h5', 'linear-tgt.safetensors'],
};
const streamedContenders = () => ({
  ...Object.fromEntries(Object.entries(STREAMED_ROWS).map(([k, [a, b]]) => [k, () => oursCli(f(a), f(b))])),
  [PLAIN_ROW]: () => oursCli(f('plain-src.safetensors'), f('plain-tgt.safetensors')),
});
const streamedFiles = () => [...Object.values(STREAMED_ROWS).flat().filter((p) => !p.endsWith('model.json')),
  ...Object.values(STREAMED_ROWS).flat().filter((p) => p.endsWith('/model.json')).map(dirname).flatMap((d) => readdirSync(f(d)).map((x) => `${d}/${x}`)),
  'plain-src.safetensors', 'plain-tgt.safetensors'].map(f);

/**
 * The targets of the streamed rows: peak RSS under the limit (memory does not grow with the
 * matrix), the same RMSE as safetensors (quantized rows: as numpy's of the dequantized values,
 * bench/generate_streamed.py); the time against safetensors is reported, not judged: inflating a
 * gigabyte costs what it costs.
 */
function streamedTargets(med, results, sm, target) {
  const plain = med[PLAIN_ROW];
  for (const row of Object.keys(STREAMED_ROWS)) {
    const v = med[row];
    if (!v || !plain) { target(`${row}: compare of ${sm.rows}x${sm.cols} float32`, 'failed', '', false); continue; }
    // A quantized row holds the matrix as 8-bit integers (a quarter of the bytes) standing for its float32 values.
    const q = Object.values(QUANTIZED_ROWS).includes(row);
    target(`${row.replace(/^ours \((.*)\)$/, '$1')}, ${(sm.bytes / 1e6).toFixed(0)} MB${q ? ' as float32' : ''}: peak RSS (time vs safetensors of the same ${q ? 'matrix' : 'bytes'})`,
      `${v.rssMB.toFixed(0)} MB (${(v.ms / plain.ms).toFixed(2)}x)`, `< ${RSS_LIMIT_MB} MB`, v.rssMB < RSS_LIMIT_MB);
  }
  const ref = results[PLAIN_ROW]?.[0]?.checksum;
  const quantized = new Set(Object.values(QUANTIZED_ROWS));
  const sums = Object.keys(STREAMED_ROWS).filter((k) => !quantized.has(k)).map((k) => results[k]?.[0]?.checksum);
  if (ref && sums.every((x) => x !== undefined)) {
    const dev = Math.max(...sums.map((x) => Math.abs(x - ref) / ref));
    target('the streamed storages report the RMSE safetensors reports for the same matrix', `largest deviation ${dev.toExponential(1)}`, '≤ 1e-6', dev <= 1e-6);
  }
  const q = Object.entries(QUANTIZED_ROWS).map(([k, row]) => [results[row]?.[0]?.checksum, sm.quantizedRmse?.[k]]);
  if (q.every(([x, want]) => x !== undefined && want)) {
    const dev = Math.max(...q.map(([x, want]) => Math.abs(x - want) / want));
    target('the quantized pairs report numpy\'s RMSE of their dequantized values', `largest deviation ${dev.toExponential(1)}`, '≤ 1e-6', dev <= 1e-6);
  }
}

/** Reads every file once so that all contenders find them in the page cache. */
function warm(files) {
  const buf = Buffer.allocUnsafe(8 << 20);
  for (const p of files) {
    const fd = openSync(p, 'r');
    try { while (readSync(fd, buf, 0, buf.length, null) > 0) { /* read */ } } finally { closeSync(fd); }
  }
}

// ---- running contenders --------------------------------------------------------------
const node = nodeWithRss;

const CLI = opt('--cli', join(ROOT, 'dist/cli.js'));
/**
 * `reuse-lens compare A B --csv`: one row per compared parameter with its RMSE, relative RMSE,
 * cosine, max |diff| and verdict, the closest output to the baselines' per-tensor RMSEs.
 * `--json` adds every filter's and grid cell's RMSE (1.7 MB for the 1 GB pair); it is timed
 * as a contender of its own.
 */
async function oursCli(a, b, env = {}, format = 'csv') {
  const r = await node(CLI, ['compare', a, b, `--${format}`], env);
  return { ms: r.ms, rssMB: r.rssMB, checksum: format === 'json' ? checksumOfReport(JSON.parse(r.stdout)) : checksumOfCsv(r.stdout) };
}
function checksumOfReport(report) {
  let s = 0;
  for (const l of report.layers ?? []) for (const p of l.params ?? []) if (typeof p.rmse === 'number') s += p.rmse;
  return s;
}
/** The sum of the `rmse` column (fields may be quoted, with commas and doubled quotes inside). */
function checksumOfCsv(text) {
  const rows = text.trim().split('\n').map((line) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].map((m) => m[1]));
  const col = rows[0].indexOf('rmse');
  return rows.slice(1).reduce((sum, r) => sum + (Number(r[col]) || 0), 0);
}

let driver;
/** The kernel alone (bench/driver.ts): in-process ms, without start-up or report building. */
async function oursKernel(a, b) {
  const r = await node(driver, [a, b]);
  const j = JSON.parse(r.stdout);
  return { ms: j.wallMs, rssMB: r.rssMB, checksum: j.checksum };
}

async function py(script, args) {
  const r = await timed(PY, [join(ROOT, 'bench', script), ...args]);
  if (r.code !== 0) throw failure(script, r);
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ms: j.wall * 1000, rssMB: j.peakRssMB, checksum: j.checksum, processMs: r.ms };
}

async function cat(a, b) {
  const r = await timed('cat', [a, b], {}, true);
  return { ms: r.ms, rssMB: NaN };
}

// ---- header-only inspect and worker start ---------------------------------------------
async function inspectCost(file) {
  const r = await node(driver, ['--inspect', file]);
  return JSON.parse(r.stdout);
}

async function workerStart() {
  const worker = join(ROOT, 'dist/worker.js');
  if (!existsSync(worker)) return undefined;
  const rpc = await import('vscode-jsonrpc/node.js');
  const { WorkerMethod } = { WorkerMethod: { ping: 'reuseLens/ping' } };
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const child = fork(worker, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const conn = rpc.createMessageConnection(new rpc.IPCMessageReader(child), new rpc.IPCMessageWriter(child));
    conn.listen();
    try {
      await conn.sendRequest(WorkerMethod.ping);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    } finally {
      conn.dispose();
      child.kill();
    }
  }
  return median(times);
}

// ---- main ------------------------------------------------------------------------------
async function main() {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  if (flag('--transposed-only') || flag('--streamed-only')) {
    const streamed = flag('--streamed-only');
    const tm = streamed ? ensureStreamed() : ensureTransposed();
    const rows = streamed ? streamedContenders : transposedContenders;
    warm(streamed ? streamedFiles() : transposedFiles());
    const results = Object.fromEntries(Object.keys(rows()).map((k) => [k, []]));
    for (let r = 0; r < runs; r++) {
      for (const [name, run] of Object.entries(rows())) {
        const x = await run();
        results[name].push(x);
        log(`run ${r + 1}/${runs} ${name}: ${x.ms.toFixed(0)} ms, ${x.rssMB.toFixed(0)} MB`);
      }
    }
    const med = Object.fromEntries(Object.entries(results).map(([k, xs]) => [k, { ms: median(xs.map((x) => x.ms)), rssMB: Math.max(...xs.map((x) => x.rssMB)) }]));
    const targets = [];
    (streamed ? streamedTargets : transposedTargets)(med, results, tm, (what, measured, goal, ok) => targets.push({ what, measured, goal, ok }));
    const lines = [`Matrix ${tm.rows}x${tm.cols} float32${streamed ? ` (HDF5 chunks ${tm.chunks.join('x')})` : ''} (${(tm.bytes / 1e6).toFixed(0)} MB per file), in the page cache; median of ${runs} alternating runs.`, '',
      '| Contender | Time (median) | Peak RSS |', '|---|---:|---:|',
      ...Object.entries(med).map(([k, v]) => `| ${k} | ${(v.ms / 1000).toFixed(2)} s | ${v.rssMB.toFixed(0)} MB |`), '',
      '| Target | Measured | Goal | |', '|---|---:|---:|---|',
      ...targets.map((t) => `| ${t.what} | ${t.measured} | ${t.goal} | ${t.ok ? 'met' : '**not met**'} |`)];
    process.stdout.write(lines.join('\n') + '\n');
    if (targets.some((t) => !t.ok)) process.exitCode = 1;
    return;
  }

  const m = ensurePair();
  driver = await buildDriver(join(work, 'driver.js'));
  const st = [f('src.safetensors'), f('tgt.safetensors')];
  const pt = [f('src.pt'), f('tgt.pt')];
  const half = (tag) => [f(`half-src.${tag}.safetensors`), f(`half-tgt.${tag}.safetensors`)];
  warm([...st, ...pt, ...half('f32'), ...half('f16'), ...half('bf16')]);

  const tm = ensureTransposed();
  warm(transposedFiles());
  const withStreamed = !small && !flag('--no-streamed');
  const sm = withStreamed ? ensureStreamed() : undefined;
  if (withStreamed) warm(streamedFiles());

  if (small) {
    const a = await oursCli(...st);
    const b = await oursCli(...pt);
    const k = await transposedContenders()[KERAS_ROW]();
    const o = await transposedContenders()[ONNX_ROW]();
    const worst = Math.max(a.rssMB, b.rssMB, k.rssMB, o.rssMB);
    log(`compare ${mb} MB pair: safetensors ${a.ms.toFixed(0)} ms, .pt ${b.ms.toFixed(0)} ms, Keras ${k.ms.toFixed(0)} ms, ONNX ${o.ms.toFixed(0)} ms; peak RSS ${worst.toFixed(0)} MB (limit ${RSS_LIMIT_MB})`);
    if (Math.abs(a.checksum - b.checksum) > 1e-9 * Math.max(1, a.checksum)) { log('FAIL: safetensors and .pt reports differ'); process.exit(1); }
    if (Math.abs(k.checksum - o.checksum) > 1e-6 * Math.max(1, k.checksum)) { log('FAIL: Keras and ONNX reports of the same matrix differ'); process.exit(1); }
    if (!(worst < RSS_LIMIT_MB)) { log('FAIL: peak RSS over the limit'); process.exit(1); }
    // Tens of thousands of small tensors (1k and 10k here; 100k in the full run), and the
    // per-tensor cost guard, which needs numpy (CI installs it): ours / numpy in CPU time.
    if (spawnSync(process.execPath, [join(ROOT, 'bench/scale.mjs'), '--small', ...(flag('--no-python') ? ['--no-python'] : [])], { stdio: 'inherit' }).status !== 0) { log('FAIL: bench/scale.mjs --small'); process.exit(1); }
    log('ok');
    return;
  }

  const contenders = {
    'ours (safetensors)': () => oursCli(...st),
    'ours (.pt)': () => oursCli(...pt),
    // The same without the pair threads (src/core/tensor/pairThreads.ts): what one core does.
    'ours (safetensors, one thread)': () => oursCli(...st, { REUSE_LENS_THREADS: '0' }),
    'ours (safetensors, --json with filter grids)': () => oursCli(...st, {}, 'json'),
    ...(python ? {
      'torch.load + torch float32 RMSE': () => py('baseline_torch.py', pt),
      'numpy memmap, float32': () => py('baseline_numpy.py', st),
      'numpy memmap, float64': () => py('baseline_numpy.py', [...st, '--f64']),
    } : {}),
    ...transposedContenders(),
    ...(withStreamed ? streamedContenders() : {}),
    'cat both safetensors (plain read)': () => cat(...st),
    'cat both .pt (plain read)': () => cat(...pt),
  };
  const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  const failed = {};
  for (let r = 0; r < runs; r++) {
    for (const [name, run] of Object.entries(contenders)) {
      if (failed[name]) continue;
      try {
        const x = await run();
        results[name].push(x);
        log(`run ${r + 1}/${runs} ${name}: ${x.ms.toFixed(0)} ms${Number.isFinite(x.rssMB) ? `, ${x.rssMB.toFixed(0)} MB` : ''}`);
      } catch (e) {
        failed[name] = e.message;
        log(`${name} failed: ${e.message}`);
      }
    }
  }
  // The half-float check times the kernel in-process, on the same tensors saved three ways.
  const dt = { f32: [], f16: [], bf16: [] };
  // Cheap (a quarter of the elements), so more runs: the ratio of two noisy medians is noisier.
  for (let r = 0; r < Math.max(runs, 5); r++) for (const tag of Object.keys(dt)) dt[tag].push((await oursKernel(...half(tag))).ms);
  const inspect = { safetensors: await inspectCost(st[0]), pt: await inspectCost(pt[0]) };
  const wStart = await workerStart();

  const med = Object.fromEntries(Object.entries(results).filter(([, xs]) => xs.length > 0).map(([k, xs]) => [k, {
    ms: median(xs.map((x) => x.ms)), processMs: median(xs.map((x) => x.processMs ?? x.ms)), rssMB: Math.max(...xs.map((x) => x.rssMB)),
  }]));
  const none = { ms: NaN, rssMB: NaN };
  const ours = med['ours (safetensors)'] ?? none;
  const oursPt = med['ours (.pt)'] ?? none;
  const baselines = Object.keys(med).filter((k) => k.startsWith('torch') || k.startsWith('numpy'));
  const fastest = baselines.sort((a, b) => med[a].ms - med[b].ms)[0];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const lines = [];
  lines.push(`Machine: ${cpus().length} cores (\`nproc\` ${spawnSync('nproc').stdout.toString().trim()}), ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version}; `
    + `pair: ${m.tensors} tensors, ${(m.bytesF32 / 1e6).toFixed(0)} MB float32 per file, in the page cache; median of ${runs} alternating runs.`);
  lines.push('');
  lines.push('| Contender | Time (median) | Whole process | Peak RSS |');
  lines.push('|---|---:|---:|---:|');
  for (const [k, v] of Object.entries(med)) {
    lines.push(`| ${k} | ${(v.ms / 1000).toFixed(2)} s | ${(v.processMs / 1000).toFixed(2)} s | ${Number.isFinite(v.rssMB) ? v.rssMB.toFixed(0) + ' MB' : '–'} |`);
  }
  for (const [k, why] of Object.entries(failed)) lines.push(`| ${k} | failed: ${why.replace(/\|/g, '/')} | |`);
  lines.push('');
  // Every target is judged, and `npm run bench` exits 1 when one is missed.
  // Against a baseline the ratio that decides is whole process against whole process: what a
  // user waits for, measured the same way on both sides. The ratio against the baseline's
  // self-timed part (interpreter and imports left out, our start-up left in) is shown beside it.
  const targets = [];
  const target = (what, measured, goal, ok) => targets.push({ what, measured, goal, ok });
  for (const b of baselines) {
    const whole = med[b].processMs / ours.ms, part = med[b].ms / ours.ms;
    target(`ours vs ${b}${b === fastest ? ' (fastest baseline)' : ''}`, `${whole.toFixed(2)}x faster (against its self-timed part: ${part.toFixed(2)}x)`, '≥ 2x', whole >= 2);
  }
  const readRatio = (o, c) => (med[c] ? o.ms / med[c].ms : NaN);
  const rs = readRatio(ours, 'cat both safetensors (plain read)'), rp = readRatio(oursPt, 'cat both .pt (plain read)');
  // Same answers: the sum of the per-tensor RMSEs of every contender against numpy in float64.
  const ref = results['numpy memmap, float64']?.[0]?.checksum;
  if (ref) {
    const devs = Object.entries(results).filter(([k]) => !(k in transposedContenders()) && !(k in STREAMED_ROWS)).flatMap(([k, xs]) => xs.filter((x) => x.checksum !== undefined).map((x) => [k, Math.abs(x.checksum - ref) / ref]));
    const worst = devs.reduce((w, d) => (d[1] > w[1] ? d : w), ['', 0]);
    target('every contender computed the same RMSEs (sum over all tensors, vs numpy float64)', `largest deviation ${worst[1].toExponential(1)}${worst[0] ? ` (${worst[0]})` : ''}`, '≤ 1e-5', worst[1] <= 1e-5);
  }
  target('ours vs plain read of both files (safetensors / .pt)', `${rs.toFixed(2)}x / ${rp.toFixed(2)}x the read time`, '≤ 3x', rs <= 3 && rp <= 3);
  target('peak RSS of compare (safetensors / .pt)', `${ours.rssMB.toFixed(0)} / ${oursPt.rssMB.toFixed(0)} MB`, `< ${RSS_LIMIT_MB} MB`, Math.max(ours.rssMB, oursPt.rssMB) < RSS_LIMIT_MB);
  const h16 = median(dt.f16) / median(dt.f32), hb16 = median(dt.bf16) / median(dt.f32);
  target(`fp16 / bf16 time per element vs float32 (streaming kernel in-process, ${(m.halfElements / 1e6).toFixed(0)} M elements)`, `${h16.toFixed(2)}x / ${hb16.toFixed(2)}x`, '≤ 1.5x', h16 <= 1.5 && hb16 <= 1.5);
  for (const [k, v] of Object.entries(inspect)) {
    if (v.error) target(`inspect (headers) of the ${mb} MB ${k}`, `not measured: ${v.error}`, '< 50 ms, < 1 MB read', false);
    else target(`inspect (headers) of the ${mb} MB ${k}`, `${v.ms.toFixed(1)} ms, ${(v.bytesRead / 1024).toFixed(0)} KB read`, '< 50 ms, < 1 MB read', v.ms < 50 && v.bytesRead < 1 << 20);
  }
  transposedTargets(med, results, tm, target);
  if (sm) streamedTargets(med, results, sm, target);
  target('worker process start (fork to first answer)', wStart === undefined ? 'dist/worker.js not built' : `${wStart.toFixed(0)} ms`, '< 300 ms', wStart !== undefined && wStart < 300);
  lines.push('| Target | Measured | Goal | |');
  lines.push('|---|---:|---:|---|');
  for (const t of targets) lines.push(`| ${t.what} | ${t.measured} | ${t.goal} | ${t.ok ? 'met' : '**not met**'} |`);
  const missed = targets.filter((t) => !t.ok);
  if (missed.length > 0) {
    log(`targets not met: ${missed.map((t) => t.what).join('; ')}`);
    process.exitCode = 1;
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (flag('--json')) process.stdout.write(JSON.stringify({ results, dt, inspect, workerStartMs: wStart, manifest: m }, null, 1) + '\n');
  // How time and memory grow with the tensor count (and, with --gb N, with bytes in shards).
  process.stdout.write('\n');
  const scaleArgs = opt('--gb', '') ? ['--gb', opt('--gb', '')] : [];
  if (spawnSync(process.execPath, [join(ROOT, 'bench/scale.mjs'), ...scaleArgs, ...(python ? [] : ['--no-python'])], { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  // The extension-side targets (activation, Checkpoints view listing): their own script and table.
  if (!flag('--no-extension')) {
    process.stdout.write('\n');
    if (spawnSync(process.execPath, [join(ROOT, 'bench/extension.mjs')], { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  }
  // The report panel at 50,000 layers in Chromium (not in --small: it starts a browser and times it).
  if (!flag('--no-report-panel') && !small) {
    process.stdout.write('\n');
    if (spawnSync(process.execPath, [join(ROOT, 'bench/report-panel.mjs')], { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  }
  // The replacement experiment on the demo model (needs Debian's PyTorch): its own script and table.
  if (!flag('--no-experiment') && !small) {
    process.stdout.write('\n');
    if (spawnSync(process.execPath, [join(ROOT, 'bench/experiment.mjs')], { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  }
  // Experiments on models whose architecture is in the file: TF.js backends, ONNX Runtime builds, MobileNet.
  if (!flag('--no-runtimes') && !small) {
    process.stdout.write('\n');
    if (spawnSync(process.execPath, [join(ROOT, 'bench/experiment-runtimes.mjs')], { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  }
  // Not in --small (CI): its targets are timings, judged on a quiet machine by the full bench.
  if (!flag('--no-codemap') && !small) {
    process.stdout.write('\n');
    if (spawnSync(process.execPath, [join(ROOT, 'bench/codemap.mjs')], { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  }
}

main().catch((e) => { log(`bench failed: ${e.message}`); process.exit(1); });
