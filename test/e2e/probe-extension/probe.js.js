// Test-only extension, installed by the e2e suite next to Reuse Lens. Every extension runs in
// the same extension host process, so this one's timer sees exactly what Reuse Lens does to
// that process's event loop. It appends one line per 250 ms window to the file named by
// REUSE_LENS_E2E_PROBE:
//   {"t": epoch ms, "maxDelayMs": worst lateness of a 20 ms timer tick,
//    "maxBlockedMs": the same, counting only lateness the process spent on the CPU}
// The second number separates a blocked event loop (synchronous work in the extension host,
// which burns CPU) from a process the OS did not schedule on a busy machine (which does not).
// (A plain interval timer, not perf_hooks.monitorEventLoopDelay, whose histogram on Node 20
// missed a 200 ms busy loop right after a reset in a check.)
const { appendFileSync } = require('node:fs');

exports.activate = function activate() {
  const file = process.env.REUSE_LENS_E2E_PROBE;
  if (!file) return;
  const PERIOD = 20;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let worst = 0;
  let worstBlocked = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const late = now - last - PERIOD;
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    worst = Math.max(worst, late);
    worstBlocked = Math.max(worstBlocked, Math.min(late, cpuMs));
    last = now;
    lastCpu = cpu;
  }, PERIOD);
  const flush = setInterval(() => {
    const r = (x) => Math.round(x * 10) / 10;
    const line = { t: Date.now(), maxDelayMs: r(worst), maxBlockedMs: r(worstBlocked), pid: process.pid };
    worst = 0;
    worstBlocked = 0;
    try { appendFileSync(file, JSON.stringify(line) + '\n'); } catch { /* test folder gone */ }
  }, 250);
  return { dispose() { clearInterval(tick); clearInterval(flush); } };
};
exports.deactivate = function deactivate() {};
