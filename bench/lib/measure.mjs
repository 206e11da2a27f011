// What every bench script measures the same way: the median of runs, a child process's wall
// time, and a node process's peak RSS from inside (bench/rss-report.cjs preloaded).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const RSS_PRELOAD = join(dirname(dirname(fileURLToPath(import.meta.url))), 'rss-report.cjs');

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/**
 * Runs a command; resolves with wall ms, exit code, stdout and stderr (stdout dropped, not
 * piped, with discardStdout: `cat` of gigabytes must not be copied into this process).
 */
export function timed(cmd, args, env = {}, discardStdout = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', discardStdout ? 'ignore' : 'pipe', 'pipe'] });
    const out = [], err = [];
    p.stdout?.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** The last lines of a failed command's stderr, for the bench's error message. */
export function failure(what, r) {
  return new Error(`${what} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** A node script as a whole process: wall ms, CPU ms and peak RSS (MB) of all its threads, stdout; throws on a non-zero exit. */
export async function nodeWithRss(script, args, env = {}) {
  const rssFile = join(tmpdir(), `reuse-lens-rss-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const r = await timed(process.execPath, ['--require', RSS_PRELOAD, script, ...args], { ...env, REUSE_LENS_BENCH_RSS: rssFile });
  if (r.code !== 0) throw failure(`${script} ${args.join(' ')}`, r);
  const { maxRssKB, cpuMs } = JSON.parse(readFileSync(rssFile, 'utf8'));
  rmSync(rssFile, { force: true });
  return { ms: r.ms, cpuMs, rssMB: maxRssKB / 1024, stdout: r.stdout };
}
