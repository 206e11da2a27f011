// Why the worker died, in words a user can act on. Pure, so it is tested without a process.

/** Node prints one of these on stderr when V8's heap limit is reached. */
const OOM_PATTERNS = [/JavaScript heap out of memory/i, /Reached heap limit/i, /Allocation failed/i, /ERR_OUT_OF_MEMORY/, /reuse-lens worker: ran out of memory/];

export function isOutOfMemory(stderrTail: string): boolean {
  return OOM_PATTERNS.some((re) => re.test(stderrTail));
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, memoryLimitMb: number): string {
  if (isOutOfMemory(stderrTail)) {
    return `ran out of memory (limit ${memoryLimitMb} MB); raise the setting reuseLens.worker.memoryLimitMb to analyze larger checkpoints`;
  }
  if (signal === 'SIGKILL') return 'was killed (SIGKILL), by the system (out of memory?) or by another program';
  if (signal) return `was stopped by signal ${signal}`;
  const uncaught = /reuse-lens worker: uncaught (.*)/.exec(stderrTail);
  if (uncaught) return `crashed with an internal error: ${uncaught[1]}`;
  if (code === 0) return 'exited unexpectedly';
  return `exited with code ${code}${lastLine(stderrTail) ? `: ${lastLine(stderrTail)}` : ''}`;
}

function lastLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1].slice(0, 300) : '';
}
