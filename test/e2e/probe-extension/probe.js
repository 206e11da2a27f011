// Test-only extension, installed by the e2e suite next to Reuse Lens. Every extension runs in
// the same extension host process, so this one's timer sees exactly what Reuse Lens does to
// that process's event loop. It appends one line per 250 ms window to the file named by
// REUSE_LENS_E2E_PROBE: {"t": epoch ms, "maxDelayMs": worst lateness of a 20 ms timer tick}.
// (A plain interval timer, not perf_hooks.monitorEventLoopDelay: on Node 20 the histogram
// missed a 200 ms busy loop in a check, while the tick gap saw it.)
const { appendFileSync } = require('node:fs');

exports.activate = function activate() {
  const file = process.env.REUSE_LENS_E2E_PROBE;
  if (!file) return;
  const PERIOD = 20;
  let last = performance.now();
  let worst = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - PERIOD);
    last = now;
  }, PERIOD);
  const flush = setInterval(() => {
    const line = { t: Date.now(), maxDelayMs: Math.round(worst * 10) / 10, pid: process.pid };
    worst = 0;
    try { appendFileSync(file, JSON.stringify(line) + '\n'); } catch { /* test folder gone */ }
  }, 250);
  return { dispose() { clearInterval(tick); clearInterval(flush); } };
};
exports.deactivate = function deactivate() {};
