// The benches' and memory tests' peak RSS (bench/rss-report.cjs, preloaded into the measured
// process) must be the measured process's own. Linux carries getrusage's ru_maxrss across exec:
// read that way, a child started by a 400 MB bench parent "peaked" at 400 MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PRELOAD = join(__dirname, '..', '..', 'bench', 'rss-report.cjs');

test('a measured child\'s peak RSS is its own, not that of the bigger process that started it', { skip: process.platform !== 'linux' && 'Linux only (/proc)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-rss-'));
  try {
    // This process becomes ~400 MB resident, then starts a child that allocates ~100 MB.
    const ballast = Buffer.alloc(400 * 1024 * 1024, 1);
    const file = join(dir, 'rss.json');
    const r = spawnSync(process.execPath, ['--require', PRELOAD, '-e', 'globalThis.b = Buffer.alloc(100 * 1024 * 1024, 1)'], { env: { ...process.env, REUSE_LENS_BENCH_RSS: file } });
    assert.equal(r.status, 0, String(r.stderr));
    const mb = JSON.parse(readFileSync(file, 'utf8')).maxRssKB / 1024;
    assert.ok(ballast[ballast.length - 1] === 1);
    assert.ok(mb >= 100 && mb < 250, `the child peaked at ${mb.toFixed(0)} MB (its 100 MB buffer and Node), not at its parent's 400+`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
