// The pair threads, seen from the engine: large tensor pairs are cut into ranges, and a few
// worker threads (pairThread.ts), with the calling thread, each read and sum their own ranges. Why: most of a compare is
// copying bytes out of the page cache (Node cannot map files), and one thread copies at one
// core's speed; with a thread per core the copy and the arithmetic both scale with the cores.
// `npm run bench` shows the effect (README, "Performance").
//
// Results do not depend on the number of threads: the ranges are cut the same way whatever it
// is, and their sums are merged in range order, so a report is the same on every machine.
import { availableParallelism, totalmem } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { CancelledError, CancelToken, CheckpointError } from '../common/errors';
import type { ConvGeometry, PairThreadReply, RangeJob, RangeSums, SideSpec } from './pairTypes';
import { RangeSummer } from './rangeSum';
import { simdModule } from './simd';
import { coreThreadAvailable, startCoreThread } from './threadEntry';




/**
 * Elements per range: 8 MB of float32 per side, a few milliseconds of work. Small enough that
 * the threads share a tensor evenly and a cancel waits for little; large enough that the
 * message round trip per range (~0.1 ms) does not count.
 */
export const RANGE_ELEMENTS = 1 << 21;
/** Pairs with fewer elements are summed in the calling thread: handing them out costs more than it saves. */
export const PARALLEL_MIN_ELEMENTS = 1 << 16;
/**
 * The threads start only when the pairs they could take hold this many elements in all (32 MB
 * of float32 per side): starting them takes tens of milliseconds, which a small model does not repay.
 */
export const THREADS_MIN_ELEMENTS = 1 << 23;
/** Ranges a thread holds at once: the next one is waiting when it finishes one. */
const IN_FLIGHT = 2;
/** Idle threads are ended after this long (ms), giving their memory back. */
const IDLE_MS = 30_000;
/** Thread deaths after which a pool starts no more threads. */
const MAX_THREAD_DEATHS = 3;
/** How often a running call looks at its cancel token (ms). */
const CANCEL_POLL_MS = 25;
/** Memory of one thread: its arena lies outside this; its heap holds only a range's bins. */
const THREAD_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };

const TS_ENTRY = 'tensor/pairThread.ts', BUNDLE = 'pair-thread.js';

/**
 * Threads to use: REUSE_LENS_THREADS if set (0 or 1: none), else one per core, at most 4
 * (beyond that, the memory bus, not the cores, limits a compare).
 */
export function pairThreadCount(): number {
  const env = process.env.REUSE_LENS_THREADS;
  const n = env !== undefined && env !== '' ? Math.floor(Number(env)) : Math.min(availableParallelism(), 4);
  return Number.isFinite(n) && n >= 2 ? Math.min(n, 64) : 0;
}

/**
 * Whether the threads read `bytes` (both sides of the pairs they take) past the page cache:
 * REUSE_LENS_DIRECT_READS=1 or 0 if set (bench, tests), else when they are more than half the
 * machine's memory. Beside everything else running, the page cache cannot keep such a pair for
 * the next compare, and filling it costs CPU per byte, most once memory is full and every page
 * read evicts another (rangeSum.ts). Measured on a 24 GiB machine, 2 × 7.4 GB: cold 45 s through
 * the cache, 18 s past it (`cat` 31–52 s); warm 15 s and 14 s (`cat` 8 s). A smaller pair stays
 * cached, and its second compare reads memory, not the disk.
 */
export function directReads(bytes: number): boolean {
  const env = process.env.REUSE_LENS_DIRECT_READS;
  if (env === '1' || env === '0') return env === '1';
  return bytes > totalmem() / 2;
}

/** Ranges of `n` elements as [start, count], cut the same way whatever the thread count. */
export function rangesOf(n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < n; start += RANGE_ELEMENTS) out.push([start, Math.min(RANGE_ELEMENTS, n - start)]);
  return out;
}

interface Queued {
  job: RangeJob;
  owner: object;
  /** Set when a thread died holding this range: it is tried once more, then given up. */
  retried?: boolean;
  resolve(s: RangeSums): void;
  reject(e: Error): void;
}

interface Thread { worker: Worker; inFlight: Map<number, Queued> }

export class PairThreadPool {
  private threads: Thread[] = [];
  private queue: Queued[] = [];
  /** Ranges whose thread died: only the calling thread takes these (no thread is trusted twice with them). */
  private forCaller: Queued[] = [];
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Ranges summed so far (tests and the bench check that large pairs went to the threads). */
  rangesSummed = 0;
  /** Worker threads to start: `size`, less one when the calling thread takes a share; 0 once they keep dying. */
  private threadCount: number;
  private deaths = 0;
  private readonly entry: [string, string];
  /** The calling thread's own summer, when it takes a share; busy while a range of it is pending. */
  private local: { summer?: RangeSummer; busy: boolean } | undefined;

  /**
   * `size` ranges are summed at once. With `callerTakesShare` (the default) the calling thread
   * is one of them: it needs no start-up (a thread takes ~20 ms of a core to start) and begins
   * at once. It sums one range (a few ms) per turn of its event loop, so it still answers
   * messages in between; a busy caller can pass false and leave all ranges to threads.
   */
  constructor(readonly size: number, opts: { callerTakesShare?: boolean; entry?: [tsEntry: string, bundle: string] } = {}) {
    this.entry = opts.entry ?? [TS_ENTRY, BUNDLE];
    const share = opts.callerTakesShare ?? true;
    this.threadCount = share ? size - 1 : size;
    this.local = share ? { busy: false } : undefined;
  }

  /** Starts the threads now, so that they are ready when the first large pair comes. */
  warm(): void {
    while (this.threads.length < this.threadCount) this.threads.push(this.start());
    this.armIdleTimer();
  }

  /**
   * Sums every range of `jobs` on the threads and hands each range's sums to `consume` in the
   * order of `jobs` (so that merged totals do not depend on timing), as soon as it and all
   * before it are done: only the few ranges that finish early wait, never the whole tensor's.
   * `onRange` is called with each range's element count as it completes (for progress).
   * A cancel drops the ranges not yet started and waits for the ones running (milliseconds).
   */
  async sumRanges(jobs: Omit<RangeJob, 'id'>[], consume: (sums: RangeSums) => void, token?: CancelToken, onRange?: (count: number) => void): Promise<void> {
    const owner = {};
    const early = new Map<number, RangeSums>();
    let next = 0;
    const poll = token ? setInterval(() => { if (token.cancelled) this.drop(owner); }, CANCEL_POLL_MS) : undefined;
    try {
      const settled = await Promise.allSettled(jobs.map((j, i) => this.submit({ ...j, id: this.nextId++ }, owner).then((r) => {
        early.set(i, r);
        for (let s = early.get(next); s !== undefined; s = early.get(next)) { early.delete(next++); consume(s); }
        onRange?.(j.count);
        if (token?.cancelled) this.drop(owner);
      }, (e: Error) => {
        this.drop(owner); // one range failed: the others of this call are not worth starting
        throw e;
      })));
      if (token?.cancelled) throw new CancelledError();
      const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
      const real = failures.find((e) => !(e instanceof CancelledError));
      if (real ?? failures[0]) throw real ?? failures[0];
    } finally {
      if (poll) clearInterval(poll);
    }
  }

  /** Ends all threads (the process is going away, or a test is done). */
  async dispose(): Promise<void> {
    const all = this.threads;
    this.threads = [];
    for (const q of [...this.queue.splice(0), ...this.forCaller.splice(0)]) q.reject(new Error('pair threads disposed'));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.local && !this.local.busy) this.local.summer = undefined; // its arena goes with it
    await Promise.all(all.map((t) => t.worker.terminate()));
  }

  private submit(job: RangeJob, owner: object): Promise<RangeSums> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, owner, resolve, reject });
      this.pump();
    });
  }

  /** Drops the queued ranges of one call (running ones finish). */
  private drop(owner: object): void {
    const keep = (list: Queued[]) => list.filter((q) => {
      if (q.owner !== owner) return true;
      q.reject(new CancelledError());
      return false;
    });
    this.queue = keep(this.queue);
    this.forCaller = keep(this.forCaller);
  }

  private pump(): void {
    while (this.threads.length < this.threadCount && this.queue.length > 0) this.threads.push(this.start());
    const local = this.local;
    if (local && !local.busy && this.forCaller.length + this.queue.length > 0) {
      const q = this.forCaller.shift() ?? this.queue.shift()!;
      local.busy = true;
      // On the next turn of the event loop: messages that came meanwhile are handled first.
      setImmediate(() => this.sumHere(local, q));
    }
    for (const t of this.threads) {
      while (t.inFlight.size < IN_FLIGHT && this.queue.length > 0) {
        const q = this.queue.shift()!;
        t.inFlight.set(q.job.id, q);
        t.worker.postMessage(q.job);
      }
      // A thread with work keeps the process alive (the CLI awaits it); an idle one must not.
      if (t.inFlight.size > 0) t.worker.ref(); else t.worker.unref();
    }
    this.armIdleTimer();
  }

  private sumHere(local: NonNullable<PairThreadPool['local']>, q: Queued): void {
    let sums: RangeSums | Promise<RangeSums> | undefined;
    try { sums = (local.summer ??= new RangeSummer()).sum(q.job); } catch (e) { this.summedHere(local, q, undefined, e); return; }
    // Reading past the page cache, the sum waits for the disk without holding this thread.
    if (sums instanceof Promise) sums.then((s) => this.summedHere(local, q, s), (e: unknown) => this.summedHere(local, q, undefined, e));
    else this.summedHere(local, q, sums);
  }

  private summedHere(local: NonNullable<PairThreadPool['local']>, q: Queued, sums: RangeSums | undefined, error?: unknown): void {
    local.busy = false;
    if (sums) { this.rangesSummed++; q.resolve(sums); } else q.reject(error as Error);
    queueMicrotask(() => this.pump());
  }

  private start(): Thread {
    const worker = startCoreThread(this.entry[0], this.entry[1], { resourceLimits: THREAD_LIMITS, workerData: { simd: simdModule() } });
    const thread: Thread = { worker, inFlight: new Map() };
    worker.on('message', (reply: PairThreadReply) => {
      const q = thread.inFlight.get(reply.id);
      if (!q) return;
      thread.inFlight.delete(reply.id);
      if (reply.failed) q.reject(reply.failed.file !== undefined ? new CheckpointError(reply.failed.file, reply.failed.problem) : new Error(`pair thread: ${reply.failed.problem}`));
      else { this.rangesSummed++; q.resolve(reply.sums); }
      // After the caller's reaction to this range (which may cancel the rest), not before it.
      queueMicrotask(() => this.pump());
    });
    const died = (why: string) => {
      if (!this.threads.includes(thread)) return;
      this.threads = this.threads.filter((t) => t !== thread);
      // A thread that cannot start or dies (a runtime without worker threads, memory) must not
      // fail the compare. Its ranges go to the calling thread when it takes a share; otherwise
      // back to the queue, once. After a few deaths no more threads are started.
      if (++this.deaths >= MAX_THREAD_DEATHS) this.threadCount = 0;
      const back = [...thread.inFlight.values()];
      thread.inFlight.clear();
      const lost = (q: Queued) => q.reject(new Error(`a pair thread ${why}`));
      for (const q of back.reverse()) {
        if (this.local) this.forCaller.unshift(q);
        else if (q.retried) lost(q);
        else { q.retried = true; this.queue.unshift(q); }
      }
      // No thread will ever come for what is queued: fail it rather than wait forever.
      if (this.threadCount === 0 && !this.local) for (const q of this.queue.splice(0)) lost(q);
      this.pump();
    };
    worker.on('error', (e) => died(`failed: ${e.message}`));
    worker.on('exit', (code) => died(`exited with code ${code}`));
    worker.unref();
    return thread;
  }

  private armIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.queue.length + this.forCaller.length === 0 && !this.local?.busy && this.threads.every((t) => t.inFlight.size === 0)) void this.dispose();
    }, IDLE_MS);
    this.idleTimer.unref();
  }
}

let shared: PairThreadPool | undefined | null;
let sharedCallerTakesShare = true;

/**
 * Whether the calling thread takes a share of the ranges in this process's pool (default: yes).
 * The extension's worker says no: its main thread answers the extension (pings, cancel), and a
 * synchronous read of a range on a slow or stalled disk would leave it deaf for that long.
 */
export function setCallerTakesShare(yes: boolean): void {
  sharedCallerTakesShare = yes;
}

/** The process's pair threads, or undefined when there is one core (or REUSE_LENS_THREADS says none). */
export function sharedPairThreads(): PairThreadPool | undefined {
  if (shared === undefined) {
    const n = pairThreadCount();
    shared = n >= 2 && coreThreadAvailable(TS_ENTRY, BUNDLE) ? new PairThreadPool(n, { callerTakesShare: sharedCallerTakesShare }) : null;
  }
  return shared ?? undefined;
}
