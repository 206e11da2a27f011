// The worker's own budgets, set by the extension at fork (src/extension/worker/client.ts) from
// the settings reuseLens.worker.memoryLimitMb and reuseLens.worker.timeLimitSeconds.
//
// Memory: V8's --max-old-space-size bounds the JS heap only; tensor bytes, pickled byte strings
// and thread buffers are ArrayBuffers outside it. So the worker bounds its whole resident set
// itself: the engine checks it between chunks and before large allocations (checkLimits, a
// LimitError answers the request), and a timer checks it while the engine waits on threads. Over
// the limit even after a garbage collection, the worker says so on stderr and exits; the
// extension reports "ran out of memory (limit N MB ...)" as for a heap overflow.
import { memoryError, RequestLimits, setMemoryLimit } from '../core/common/limits';

export interface WorkerLimits { memoryLimitMb: number; request: RequestLimits }

export const MEMORY_SETTING = 'setting reuseLens.worker.memoryLimitMb';
export const TIME_SETTING = 'setting reuseLens.worker.timeLimitSeconds';

export function limitsFromEnv(env: NodeJS.ProcessEnv): WorkerLimits {
  const mb = Number(env.REUSE_LENS_MEMORY_LIMIT_MB);
  const s = Number(env.REUSE_LENS_TIME_LIMIT_S);
  return {
    memoryLimitMb: Number.isFinite(mb) && mb > 0 ? mb : 0,
    request: { timeLimitSeconds: Number.isFinite(s) && s > 0 ? s : 0, timeLimitSource: TIME_SETTING },
  };
}

/** How often the timer looks at the resident set while the event loop is free. */
const WATCH_MS = 200;

export function watchMemory(limits: WorkerLimits): void {
  setMemoryLimit(limits.memoryLimitMb, MEMORY_SETTING);
  if (!limits.memoryLimitMb) return;
  const limit = limits.memoryLimitMb * 1024 * 1024;
  const gc = (globalThis as { gc?: () => void }).gc;
  setInterval(() => {
    if (process.memoryUsage.rss() <= limit) return;
    // Freed buffers leave the resident set only after a collection: look again after one.
    gc?.();
    const rss = process.memoryUsage.rss();
    if (rss <= limit) return;
    process.stderr.write(`reuse-lens worker: ${memoryError(rss).message}\n`);
    process.exit(71);
  }, WATCH_MS).unref();
}
