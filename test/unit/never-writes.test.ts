// Reuse Lens only ever reads checkpoints. Every committed fixture is hashed, a full session of
// work is done on all of them through the real worker (the only process that touches tensor
// data), and every hash must be unchanged, mtime included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerClient } from '../../src/extension/worker/client';
import { DIST, ensureProductionBuild } from './helpers/shippedBundles';

const FIX = path.join(__dirname, '..', 'fixtures');
let tmp: string;
let c: WorkerClient;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...await walk(p));
    else if (e.isFile() && !/\.(py|json|md|txt)$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function fingerprint(files: string[]): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const f of files) {
    const st = await fs.stat(f);
    m.set(f, `${createHash('sha256').update(await fs.readFile(f)).digest('hex')} ${st.size} ${st.mtimeMs}`);
  }
  return m;
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reuse-lens-ro-'));
  // The worker the .vsix ships (dist/ built with --production), with its thread bundles beside it.
  ensureProductionBuild();
  const workerJs = path.join(DIST, 'worker.js');
  c = new WorkerClient({ workerPath: workerJs, memoryLimitMb: 512, log: { info() {}, warn() {}, error() {} }, onWorkerLost() {} });
});

after(async () => { c.dispose(); await fs.rm(tmp, { recursive: true, force: true }); });

test('a full session of inspections and analyses never writes to any checkpoint', async () => {
  const files = await walk(FIX);
  assert.ok(files.length > 50, `found ${files.length} fixture files`);
  const before = await fingerprint(files);
  let inspected = 0, analyzed = 0, read = 0;
  const ok: string[] = [];
  for (const f of files) {
    try {
      const r = await c.inspect({ path: f, stats: true });
      inspected++;
      ok.push(f);
      if (r.tensors[0]) { await c.readTensor({ path: f, name: r.tensors[0].name, maxElements: 1_000_000 }).catch(() => undefined); read++; }
    } catch { /* hostile and broken fixtures fail to open: reading them must not write either */ }
  }
  // Each readable checkpoint against the next: every reader's data path runs.
  for (let i = 0; i + 1 < ok.length; i++) {
    try { await c.analyze({ source: ok[i], target: ok[i + 1] }); analyzed++; } catch { /* incompatible pairs may fail */ }
  }
  assert.ok(inspected > 30 && analyzed > 20 && read > 20, `inspected ${inspected}, analyzed ${analyzed}, read ${read}`);
  const afterwards = await fingerprint(files);
  for (const f of files) assert.equal(afterwards.get(f), before.get(f), `${path.relative(FIX, f)} changed`);
});
