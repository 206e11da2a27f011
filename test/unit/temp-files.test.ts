// What the engine writes to the temp folder (inflated .keras weights, spilled Fortran-order npz
// members) does not pile up: not when a worker is killed outright (the extension ends a hung or
// over-limit worker with SIGKILL, and no exit handler runs then), and not when a training run
// rewrites its .keras every epoch while the worker stays up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkerClient } from '../../src/extension/worker/client';
import { openCheckpoint } from '../../src/core/formats/open';
import { spillFolder } from '../../src/core/tensor/inflateRead';

const ROOT = resolve(__dirname, '..', '..');
const DEFLATED = join(ROOT, 'test/fixtures/keras/cnn_deflated.keras');
const spills = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('reuse-lens-spill-'));

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a worker killed outright leaves its inflated .keras weights behind only until the next process spills: that one removes them', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'reuse-lens-orphans-'));
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const c = new WorkerClient({ workerPath: join(ROOT, 'dist', 'worker.js'), memoryLimitMb: 512, log: quiet, env: { ...process.env, TMPDIR: tmp } });
  try {
    const r = await c.inspect({ path: DEFLATED });
    assert.ok(r.tensors.length > 0);
    const pid = c.pid!;
    assert.deepEqual(spills(tmp).map((n) => n.startsWith(`reuse-lens-spill-${pid}-`)), [true], 'the worker inflated the weights into its own folder');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && c.pid === pid && isRunning(pid); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(spills(tmp).length, 1, 'SIGKILL runs no exit handler: the folder is still there');
    // Another process of ours that is still running keeps its folder.
    const live = join(tmp, `reuse-lens-spill-${process.pid}-keep`);
    mkdirSync(live);
    // A user's own folder with a similar name is not ours to remove.
    mkdirSync(join(tmp, 'reuse-lens-spill-notes'));
    const dead = join(tmp, `reuse-lens-spill-${deadPid()}-older`);
    mkdirSync(dead);
    const cli = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'inspect', DEFLATED], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } });
    assert.equal(cli.status, 0, cli.stderr);
    assert.deepEqual(spills(tmp).sort(), [`reuse-lens-spill-${process.pid}-keep`, 'reuse-lens-spill-notes'],
      'the killed worker\'s folder and the dead process\'s are gone, the running one\'s and the CLI\'s own (removed at exit) too');
    assert.ok(existsSync(live));
  } finally {
    c.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a .keras rewritten every epoch keeps one inflated copy in the temp folder, not one per epoch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-epochs-'));
  try {
    const path = join(dir, 'model.keras');
    const inSpill = () => readdirSync(spillFolder()).filter((n) => n.endsWith('.weights.h5'));
    const before = inSpill().length;
    for (let epoch = 0; epoch < 4; epoch++) {
      copyFileSync(DEFLATED, path);
      const t = new Date(Date.now() + epoch * 10_000);
      utimesSync(path, t, t); // a new save: a new modification time
      const ckpt = await openCheckpoint(path);
      assert.ok(ckpt.tensors.length > 0);
      await new Promise((res) => setTimeout(res, 20)); // the older copy is removed after the new one is asked for
      assert.equal(inSpill().length, before + 1, `after epoch ${epoch}: ${inSpill().join(', ')}`);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

function isRunning(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
