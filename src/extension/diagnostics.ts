// Measures how long the extension host's event loop was blocked while analyses ran, so the
// end-to-end suite can check the "never blocked > 100 ms" promise inside a real VS Code.
// Active only when the environment variable REUSE_LENS_DIAGNOSTICS names a JSON file; after
// each analysis that file is rewritten with the numbers so far:
// { maxEventLoopDelayMs, analyses, runs: [{source, target, outcome, durationMs, maxEventLoopDelayMs}],
//   workerRestarts, workerPid, updatedAt }
import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';
import { promises as fs } from 'node:fs';

const RESOLUTION_MS = 10;

export interface AnalysisDiagnostics {
  source: string; target: string; outcome: 'done' | 'cached' | 'cancelled' | 'failed';
  durationMs: number; maxEventLoopDelayMs: number;
}

export class Diagnostics {
  private readonly file = process.env.REUSE_LENS_DIAGNOSTICS;
  private histogram: IntervalHistogram | undefined;
  private running = 0;
  private maxMs = 0;
  private readonly analyses: AnalysisDiagnostics[] = [];

  get enabled(): boolean { return !!this.file; }

  begin(): () => number {
    if (!this.file) return () => 0;
    if (this.running++ === 0) {
      this.histogram ??= monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      this.histogram.reset();
      this.histogram.enable();
    }
    // The histogram's samples include its own 10 ms timer period; what is left is the block.
    return () => (this.histogram ? Math.max(0, this.histogram.max / 1e6 - RESOLUTION_MS) : 0);
  }

  async end(entry: Omit<AnalysisDiagnostics, 'maxEventLoopDelayMs'>, readMax: () => number, extra: Record<string, unknown>): Promise<void> {
    if (!this.file) return;
    const max = readMax();
    if (--this.running === 0) this.histogram?.disable();
    this.maxMs = Math.max(this.maxMs, max);
    this.analyses.push({ ...entry, maxEventLoopDelayMs: round(max) });
    const out = { maxEventLoopDelayMs: round(this.maxMs), analyses: this.analyses.length, runs: this.analyses, ...extra, updatedAt: new Date().toISOString() };
    await fs.writeFile(this.file, JSON.stringify(out, null, 2)).catch(() => {});
  }
}

function round(x: number): number { return Math.round(x * 10) / 10; }
