// Preloaded into a benchmarked node process (node --require bench/rss-report.cjs ...):
// on exit, writes the process's peak resident set size and its CPU time (user + system, all
// threads) to the file named by REUSE_LENS_BENCH_RSS, so the bench measures the whole process
// from inside. CPU time is what a figure taken on a loaded machine can trust.
//
// The peak is Linux's VmHWM (/proc/self/status), the high-water mark of this process's own
// memory since it started. getrusage's ru_maxrss is not: Linux carries it across exec, so a child
// started by a parent of 400 MB reported at least 400 MB (a bench parent that had read a
// 100,000-layer report made every later row look that big). ru_maxrss where there is no /proc.
'use strict';
const out = process.env.REUSE_LENS_BENCH_RSS;

function peakKB(fs) {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS;
}

// Preloads run in worker threads too; the main thread reports (the peak covers all threads).
if (out && require('node:worker_threads').isMainThread) {
  process.on('exit', () => {
    const fs = require('node:fs');
    const u = process.resourceUsage();
    fs.writeFileSync(out, JSON.stringify({ maxRssKB: peakKB(fs), cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
