// Waiting for a checkpoint to stop changing (a training loop that saves every epoch), so an
// analysis spoiled by a write can re-run on its own once the files are quiet. No vscode here:
// tested in Node.

export interface SettleOptions {
  /** The files count as settled when their stamps stayed the same this long. */
  quietMs: number;
  pollMs: number;
  /** Give up after this long (a job that never stops writing). */
  timeoutMs: number;
  isCancelled?: () => boolean;
}

export const DEFAULT_SETTLE: SettleOptions = { quietMs: 2000, pollMs: 500, timeoutMs: 10 * 60_000 };

/**
 * Resolves true once `stamp()` returns the same value for `quietMs`; false on timeout or cancel.
 * A stamp that throws (file briefly missing while a trainer replaces it) counts as a change.
 */
export async function waitUntilSettled(stamp: () => Promise<string>, opts: SettleOptions, sleep = delay): Promise<boolean> {
  const start = Date.now();
  let last = await stamp().catch(() => undefined);
  let quietSince = Date.now();
  while (Date.now() - start < opts.timeoutMs) {
    if (opts.isCancelled?.()) return false;
    await sleep(opts.pollMs);
    const now = await stamp().catch(() => undefined);
    if (now === undefined || now !== last) { last = now; quietSince = Date.now(); continue; }
    if (Date.now() - quietSince >= opts.quietMs) return true;
  }
  return false;
}

function delay(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
