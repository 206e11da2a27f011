import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntilSettled } from '../../src/extension/analysis/settle';

// A fake clock: sleep() advances time instead of waiting.
function clock() {
  let now = 0;
  const real = Date.now;
  Date.now = () => now;
  return { sleep: async (ms: number) => { now += ms; }, restore: () => { Date.now = real; }, at: () => now };
}

test('an analysis spoiled by a write re-runs only after the checkpoint stopped changing', async () => {
  const c = clock();
  try {
    // A trainer writes at t=0..3000 ms (a new stamp every poll), then stops.
    const stamp = async () => (c.at() < 3000 ? `v${c.at()}` : 'final');
    const ok = await waitUntilSettled(stamp, { quietMs: 2000, pollMs: 500, timeoutMs: 60_000 }, c.sleep);
    assert.equal(ok, true);
    assert.ok(c.at() >= 5000, `settled at ${c.at()} ms, before 2 s of quiet after the last write at 3 s`);
  } finally { c.restore(); }
});

test('a checkpoint that never stops changing is given up on at the timeout; cancel stops the wait', async () => {
  const c = clock();
  try {
    const busy = async () => `v${c.at()}`;
    assert.equal(await waitUntilSettled(busy, { quietMs: 2000, pollMs: 500, timeoutMs: 10_000 }, c.sleep), false);
    let cancelled = false;
    const p = waitUntilSettled(busy, { quietMs: 2000, pollMs: 500, timeoutMs: 1e9, isCancelled: () => cancelled }, async (ms) => { await c.sleep(ms); cancelled = c.at() > 20_000; });
    assert.equal(await p, false);
  } finally { c.restore(); }
});

test('a file briefly missing while it is replaced counts as a change, not as settled', async () => {
  const c = clock();
  try {
    const stamp = async () => { if (c.at() >= 1000 && c.at() < 4000) throw new Error('ENOENT'); return c.at() < 1000 ? 'old' : 'new'; };
    assert.equal(await waitUntilSettled(stamp, { quietMs: 2000, pollMs: 500, timeoutMs: 60_000 }, c.sleep), true);
    assert.ok(c.at() >= 6000);
  } finally { c.restore(); }
});
