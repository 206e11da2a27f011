// Runs the Python driver (python/reuse_lens_experiment.py) with the user's interpreter as a
// child process we can kill: JSON plan on stdin, JSON lines back on stdout. The driver runs in
// its own process group, so a cancel ends it and anything it started (DataLoader workers) at once.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError } from '../common/errors';
import type { ExperimentMetric } from './types';

export const DRIVER_FILE = 'reuse_lens_experiment.py';

/** The driver beside the bundles (dist/../python, as in the .vsix and the npm package) or in the source tree. */
export function driverPath(): string {
  const candidates = [join(__dirname, '..', 'python', DRIVER_FILE), join(__dirname, '..', '..', '..', 'python', DRIVER_FILE)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new ExperimentError(`the experiment driver ${DRIVER_FILE} is missing (looked in ${candidates.join(', ')})`);
  return found;
}

/** A problem with the experiment's input (interpreter, factories, data, checkpoints), in one line. */
export class ExperimentError extends Error {
  constructor(message: string) { super(message); this.name = 'ExperimentError'; }
}

export interface DriverPlan {
  source: string;
  target: string;
  model: string;
  data: string;
  metric: 'auto' | 'accuracy' | 'loss';
  device: 'auto' | 'cpu' | 'cuda';
  prefixes: string[];
  experiments: { id: string; label: string; replace: [string, string][] }[];
}

export interface DriverProgress { done: number; total: number; label: string; elapsed: number; eta?: number }

export interface DriverResult {
  metric: ExperimentMetric;
  samples: number;
  device: string;
  baseline: number;
  values: Record<string, number>;
  torch: string;
  python: string;
}

export interface DriverRun {
  python: string;
  cwd: string;
  plan: DriverPlan;
  onProgress?: (p: DriverProgress) => void;
  /** Aborting kills the driver's process group: the promise rejects with CancelledError. */
  signal?: AbortSignal;
  /** Lines the driver (or the user's code) wrote to stderr, for a log. */
  onLog?: (line: string) => void;
  driver?: string;
}

const STDERR_KEEP = 16 * 1024;

export function runDriver(run: DriverRun): Promise<DriverResult> {
  const driver = run.driver ?? driverPath();
  return new Promise((resolve, reject) => {
    if (run.signal?.aborted) { reject(new CancelledError()); return; }
    const group = process.platform !== 'win32';
    const child = spawn(run.python, [driver], {
      cwd: run.cwd, detached: group, stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    let settled = false, result: DriverResult | undefined, error: string | undefined, stderr = '', out = '';
    const kill = () => {
      try {
        if (group && child.pid) process.kill(-child.pid, 'SIGKILL'); else child.kill('SIGKILL');
      } catch { /* already gone */ }
    };
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      run.signal?.removeEventListener('abort', onAbort);
      process.removeListener('exit', kill);
      f();
    };
    const onAbort = () => { kill(); finish(() => reject(new CancelledError())); };
    run.signal?.addEventListener('abort', onAbort);
    // An experiment outlives nothing of ours: if this process exits, so does the driver.
    process.on('exit', kill);
    child.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(new ExperimentError(e.code === 'ENOENT'
      ? `Python interpreter '${run.python}' not found; pick another interpreter`
      : `could not start '${run.python}': ${e.message}`))));
    child.stdin.on('error', () => { /* the driver exited before reading: its exit says why */ });
    child.stdin.end(JSON.stringify(run.plan));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_KEEP);
      if (run.onLog) for (const line of s.split('\n')) if (line.trim()) run.onLog(line);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        if (!line) continue;
        let msg: { type?: string } & Record<string, unknown>;
        try { msg = JSON.parse(line); } catch { run.onLog?.(line); continue; }
        if (msg.type === 'progress') run.onProgress?.(msg as unknown as DriverProgress);
        else if (msg.type === 'result') result = msg as unknown as DriverResult;
        else if (msg.type === 'error') {
          error = String(msg.message);
          if (typeof msg.traceback === 'string') run.onLog?.(msg.traceback);
        }
      }
      if (out.length > 1 << 20) out = ''; // a runaway line without a newline is not ours
    });
    child.on('close', (code, sig) => finish(() => {
      if (result && code === 0) { resolve(result); return; }
      if (error) { reject(new ExperimentError(error)); return; }
      const tail = stderr.trim().split('\n').filter(Boolean).pop();
      reject(new ExperimentError(`the experiment driver (${run.python}) ended ${sig ? `by ${sig}` : `with exit code ${code}`}${tail ? `: ${tail}` : ''}`));
    }));
  });
}
