// Preloaded into a benchmarked node process (node --require bench/rss-report.cjs ...):
// on exit, writes the process's peak resident set size (getrusage ru_maxrss) and its CPU time
// (user + system, all threads) to the file named by REUSE_LENS_BENCH_RSS, so the bench measures
// the whole process from inside. CPU time is what a figure taken on a loaded machine can trust.
'use strict';
const out = process.env.REUSE_LENS_BENCH_RSS;
// Preloads run in worker threads too; the main thread reports (ru_maxrss covers all threads).
if (out && require('node:worker_threads').isMainThread) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    require('node:fs').writeFileSync(out, JSON.stringify({ maxRssKB: u.maxRSS, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
