// Pickles that amplify: a few KB of .pt made only of allow-listed globals that ask for gigabytes
// (bytes(x) on a memoised 64 MB payload, again and again) or hours (tuple(x) on a memoised
// million-item list), and object graphs that blow up when flattened (a wide cycle, a doubling
// DAG). Each runs through the shipped CLI (dist/cli.js, built by `npm test`) and must end within
// 10 s, exit 1 with a message naming the budget, and hold bounded memory (peak RSS measured inside
// the process by bench/rss-report.cjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { amplifyBytes, busyWork, copyContainer, doublingDag, torchZip, wideCycle } from './helpers/pickleBombs';
import { unpickle } from '../../src/core/formats/pytorch/pickle';
import { SAFE_GLOBALS } from '../../src/core/formats/pytorch/pickleGlobals';
import { flattenCheckpoint } from '../../src/core/formats/pytorch/pytorchFlatten';
import { WorkerClient } from '../../src/extension/worker/client';
import { WorkerRequestError } from '../../src/extension/worker/errors';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const RSS = join(ROOT, 'bench', 'rss-report.cjs');
const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-bombs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number | null; stderr: string; seconds: number; peakMb: number }

function inspect(name: string, pickle: Buffer): Run & { fileKb: number } {
  const file = join(dir, `${name}.pt`);
  const zip = torchZip(pickle);
  writeFileSync(file, zip);
  const rssFile = join(dir, `${name}.rss.json`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--require', RSS, CLI, 'inspect', file], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, REUSE_LENS_BENCH_RSS: rssFile },
  });
  const seconds = (Date.now() - t0) / 1000;
  const peakMb = JSON.parse(readFileSync(rssFile, 'utf8')).maxRssKB / 1024;
  return { code: r.status, stderr: r.stderr, seconds, peakMb, fileKb: zip.length / 1024 };
}

function assertBounded(r: Run & { fileKb: number }, message: RegExp, maxMb: number): void {
  assert.equal(r.code, 1, `exit code ${r.code}; stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.ok(r.seconds < 10, `took ${r.seconds} s`);
  assert.ok(r.peakMb < maxMb, `peak RSS ${r.peakMb.toFixed(0)} MB, limit ${maxMb} MB`);
  assert.ok(r.fileKb < 100, `the bomb is ${r.fileKb.toFixed(0)} KB`);
}

const DATA_BUDGET = /the pickle builds more than \d+ MB of objects \(strings and bytes\); nothing was executed/;
const STRUCTURE_BUDGET = /the pickle builds more than \d+ MB of objects \(containers\); nothing was executed/;

for (const fn of ['builtins.bytes', 'builtins.bytearray', '_codecs.encode'] as const) {
  test(`${fn} applied again and again to a memoised 64 MB payload stops at the strings-and-bytes budget, in bounded memory`, () => {
    // Before the budget: 4-10 GB of RSS within seconds, then "0 tensors" and exit 0.
    const r = inspect(fn.replace('.', '_'), amplifyBytes(fn));
    assertBounded(r, DATA_BUDGET, 700);
  });
}

for (const fn of ['builtins.tuple', 'builtins.list', 'builtins.set', 'builtins.dict'] as const) {
  test(`${fn} copying a memoised million-item container on every call stops at the containers budget within seconds`, () => {
    // Before the budget: 100,000 copies of a million items, hours of CPU.
    const r = inspect(fn.replace('.', '_'), copyContainer(fn));
    assertBounded(r, STRUCTURE_BUDGET, 500);
  });
}

test('a wide two-node cycle ends the flattener with an error naming the cycle, in bounded memory', () => {
  // Before: the visit budget counted nodes popped, so 100,000 children were pushed per visit; V8 ran out of heap (exit 134) after 95 s.
  const r = inspect('wide_cycle', wideCycle());
  assertBounded(r, /checkpoint object graph is cyclic: .* contains itself/, 500);
});

test('a 40-level doubling DAG (2^40 paths in a few hundred bytes) ends at the flatten budget at once, in bounded memory', () => {
  const r = inspect('doubling_dag', doublingDag(40));
  assertBounded(r, /checkpoint object graph has more than \d+ nodes as a tree \(flatten budget/, 500);
});

test('counting tensors shares work on repeated objects: a doubling DAG under an optimizer key is summarised at once', () => {
  const dag = unpickle(doublingDag(40), 0, { file: 'dag.pkl', globals: SAFE_GLOBALS }).value;
  const t0 = Date.now();
  // The optimizer entry is only counted (no names are made for it), so 2^40 paths cost 40 visits.
  const root = unpickle(Buffer.concat([Buffer.from([0x80, 2, 0x7d, 0x8c, 9]), Buffer.from('optimizer'), Buffer.from([0x7d, 0x73, 0x2e])]), 0, { file: 'x.pkl', globals: SAFE_GLOBALS }).value as import('../../src/core/formats/pytorch/pickleValues').PyDict;
  root.values[0] = dag;
  const flat = flattenCheckpoint(root, 'x.pt');
  assert.deepEqual(flat.entries.map((e) => e.name), ['optimizer']);
  assert.ok(Date.now() - t0 < 1000);
});

// ---------------------------------------------------------------- the request's budgets

test('--time-limit stops a compare that runs too long with an error naming the flag (exit 1)', () => {
  const file = join(dir, 'slow.pt');
  writeFileSync(file, torchZip(busyWork()));
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'compare', file, file, '--time-limit', '0.3'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^reuse-lens: ran out of time \(limit 0\.3 s, --time-limit\)/);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

function workerClient(extra: Partial<ConstructorParameters<typeof WorkerClient>[0]>): WorkerClient {
  const c = new WorkerClient({ workerPath: join(ROOT, 'dist', 'worker.js'), memoryLimitMb: 4096, log: { info() {}, warn() {}, error() {} }, ...extra });
  test.after(() => c.dispose());
  return c;
}

test('the worker\'s memory limit counts ArrayBuffers: a 200 MB limit refuses the bytes bomb with the limit and the setting, and the worker lives on', async () => {
  // Its heap stays small (the bytes are ArrayBuffers), so --max-old-space-size alone never fired.
  const file = join(dir, 'bytes_worker.pt');
  writeFileSync(file, torchZip(amplifyBytes('builtins.bytes')));
  const c = workerClient({ memoryLimitMb: 200 });
  await assert.rejects(c.inspect({ path: file }), (e: unknown) => {
    assert.ok(e instanceof WorkerRequestError, String(e));
    assert.match(e.message, /ran out of memory \(limit 200 MB, setting reuseLens\.worker\.memoryLimitMb\)/);
    return true;
  });
  assert.ok((await c.ping()).rssBytes < 400 * 1024 * 1024);
});

test('the worker\'s time limit ends a request with the limit and the setting, and the worker lives on', async () => {
  const file = join(dir, 'busy_worker.pt');
  writeFileSync(file, torchZip(busyWork()));
  const c = workerClient({ timeLimitSeconds: 0.3 });
  const t0 = Date.now();
  await assert.rejects(c.inspect({ path: file }), (e: unknown) => {
    assert.ok(e instanceof WorkerRequestError, String(e));
    assert.match(e.message, /ran out of time \(limit 0\.3 s, setting reuseLens\.worker\.timeLimitSeconds\)/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.equal((await c.ping()).active, 0);
});
