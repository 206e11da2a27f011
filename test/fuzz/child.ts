// The fuzz child: runs inputs the parent sends, one at a time, and answers with the outcome
// and the peak memory it saw. Runs in its own process (small heap) so that a hang, an
// out-of-memory or an uncaught exception costs the parent only a restart.
import { readdirSync } from 'node:fs';
import { exercise, Outcome } from './exercise';

export interface ChildRequest { id: number; targets: string[] }
export interface ChildReply {
  id: number;
  outcomes: { target: string; outcome: Outcome }[];
  /** Largest growth of ArrayBuffer memory seen while the input ran (bytes). */
  peakArrayBuffers: number;
  peakHeap: number;
  /** File descriptors still open after the input, beyond those open before it. */
  leakedFds: number;
  ms: number;
}
export type ChildMessage = { type: 'ready' } | { type: 'done'; reply: ChildReply } | { type: 'uncaught'; id: number; name: string; message: string; stack: string };

let current = -1;
const send = (m: ChildMessage) => process.send!(m);

function fatal(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  send({ type: 'uncaught', id: current, name: err.name, message: err.message, stack: err.stack ?? '' });
  // Give the message a moment to leave, then die: state after an uncaught error is not trusted.
  setTimeout(() => process.exit(70), 50);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

function fdCount(): number {
  try { return readdirSync('/proc/self/fd').length; } catch { return 0; }
}

process.on('message', async (req: ChildRequest) => {
  current = req.id;
  const start = Date.now();
  const base = process.memoryUsage();
  let peakAB = 0, peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakAB = Math.max(peakAB, m.arrayBuffers - base.arrayBuffers);
    peakHeap = Math.max(peakHeap, m.heapUsed - base.heapUsed);
  };
  const timer = setInterval(sample, 5);
  const fdsBefore = fdCount();
  const outcomes: ChildReply['outcomes'] = [];
  try {
    for (const target of req.targets) outcomes.push({ target, outcome: await exercise(target) });
  } finally { clearInterval(timer); }
  sample();
  // Let closes that were started settle before counting descriptors.
  await new Promise((r) => setImmediate(r));
  const leakedFds = Math.max(0, fdCount() - fdsBefore);
  send({ type: 'done', reply: { id: req.id, outcomes, peakArrayBuffers: peakAB, peakHeap, leakedFds, ms: Date.now() - start } });
});

// Warm up on real fixtures first, so that one-time allocations (the WebAssembly arena of
// tensorData, h5wasm's heap) are not charged to the first input.
void (async () => {
  for (const p of process.argv.slice(2)) await exercise(p);
  send({ type: 'ready' });
})();
