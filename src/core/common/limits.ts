// Budgets of one request (a compare, an inspect): how long it may run and how much memory the
// whole process may hold meanwhile. The CLI (--time-limit) and the worker (settings
// reuseLens.worker.timeLimitSeconds / memoryLimitMb) set them; long loops of the engine call
// `checkLimits()` (the pickle machine every 64K operations and on large allocations, the
// flattener, every streamed chunk), because a synchronous loop cannot be stopped by a timer.
//
// Memory is the process's resident set (`process.memoryUsage.rss()`): V8's heap limit
// (--max-old-space-size) does not count ArrayBuffers, which is where tensor bytes and pickled
// byte strings live.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setBudgetCheck } from './errors';

export interface RequestLimits {
  /** Seconds one request may run; 0 or undefined: no limit. */
  timeLimitSeconds?: number;
  /** Where the time limit is set, named in the error ("--time-limit", "setting ..."). */
  timeLimitSource?: string;
}

/** A budget of the request ran out. The CLI prints the message and exits 1; the worker answers with it. */
export class LimitError extends Error {
  constructor(readonly limit: 'time' | 'memory', message: string) {
    super(message);
    this.name = 'LimitError';
  }
}

interface Active { deadline: number; seconds: number; source: string }
const store = new AsyncLocalStorage<Active>();

let memoryLimitBytes = 0;
let memorySource = '';

/**
 * The process-wide memory limit (bytes of resident set); 0 turns it off. `source` names where
 * it is set, for the message ("setting reuseLens.worker.memoryLimitMb").
 */
export function setMemoryLimit(mb: number, source: string): void {
  memoryLimitBytes = mb > 0 ? mb * 1024 * 1024 : 0;
  memorySource = source;
}

export function memoryLimitMb(): number { return memoryLimitBytes / (1024 * 1024); }

/** Runs `work` under `limits`: checkLimits() inside it (sync or async) sees its deadline. */
export function withLimits<T>(limits: RequestLimits, work: () => Promise<T>): Promise<T> {
  const s = limits.timeLimitSeconds ?? 0;
  if (!(s > 0)) return work();
  return store.run({ deadline: Date.now() + s * 1000, seconds: s, source: limits.timeLimitSource ?? 'time limit' }, work);
}

export function memoryError(rss: number): LimitError {
  const mb = Math.round(memoryLimitBytes / (1024 * 1024));
  return new LimitError('memory', `ran out of memory (limit ${mb} MB, ${memorySource}): the process held ${Math.round(rss / (1024 * 1024))} MB`);
}

/** Throws a LimitError when the request's time is up or the process holds more than its memory limit. */
export function checkLimits(): void {
  const a = store.getStore();
  if (a && Date.now() > a.deadline) {
    throw new LimitError('time', `ran out of time (limit ${a.seconds} s, ${a.source})`);
  }
  if (memoryLimitBytes > 0) {
    const rss = process.memoryUsage.rss();
    if (rss > memoryLimitBytes) throw memoryError(rss);
  }
}

setBudgetCheck(checkLimits);

/** Refuses (LimitError) an allocation of `bytes` that would take the process past its memory limit. */
export function reserveMemory(bytes: number): void {
  if (memoryLimitBytes <= 0) return;
  const after = process.memoryUsage.rss() + bytes;
  if (after > memoryLimitBytes) throw memoryError(after);
}
