// One e2e session: a temp copy of the demo workspace, code-server with the Reuse Lens .vsix
// (and the test-only event-loop probe) installed into fresh folders, and Chromium driving it.
// close() ends Chromium and the whole code-server process group and removes the temp folder.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, freePort, installVsix, makeProfile, startCodeServer } from '../../../scripts/code-server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Packs the test-only probe extension (a few KB; seconds). */
function packProbe(outDir) {
  const out = join(outDir, 'probe.vsix');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package',
    '--no-dependencies', '--skip-license', '--allow-missing-repository', '--allow-star-activation', '-o', out],
  { cwd: join(ROOT, 'test', 'e2e', 'probe-extension'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`packing the probe extension failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

/** Models others published (npm devDependencies): a MediaPipe TFLite file and a face-api weights manifest with its shard. */
function copyPublishedModels(dir) {
  mkdirSync(dir, { recursive: true });
  const nm = join(ROOT, 'node_modules');
  cpSync(join(nm, '@mediapipe', 'selfie_segmentation', 'selfie_segmentation.tflite'), join(dir, 'selfie_segmentation.tflite'));
  for (const f of ['tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin']) {
    cpSync(join(nm, '@vladmandic', 'face-api', 'model', f), join(dir, f));
  }
}

export async function openSession({ vsix, settings = {}, log = () => {} }) {
  const base = mkdtempSync(join(tmpdir(), 'reuse-lens-e2e-'));
  const s = { base, closed: false };
  try {
    s.workspace = join(base, 'demo');
    cpSync(join(ROOT, 'demo'), s.workspace, { recursive: true });
    copyPublishedModels(join(s.workspace, 'runs', 'published'));
    s.probeFile = join(base, 'event-loop.jsonl');
    s.diagnosticsFile = join(base, 'reuse-lens-diagnostics.json');
    s.profile = makeProfile(settings, join(base, 'profile'));
    log(installVsix(s.profile, vsix));
    log(installVsix(s.profile, packProbe(base)));
    s.port = await freePort(8090 + Math.floor(Math.random() * 500));
    s.cs = await startCodeServer({ profile: s.profile, port: s.port, env: { REUSE_LENS_E2E_PROBE: s.probeFile, REUSE_LENS_DIAGNOSTICS: s.diagnosticsFile } });
    const chromeDir = join(base, 'chromium');
    mkdirSync(chromeDir);
    s.context = await chromium.launchPersistentContext(chromeDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
      viewport: { width: 1400, height: 900 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    s.page = s.context.pages()[0] ?? await s.context.newPage();
    s.url = `${s.cs.url}/?folder=${encodeURIComponent(s.workspace)}`;
    return Object.assign(s, { close: () => closeSession(s) });
  } catch (e) {
    await closeSession(s);
    throw e;
  }
}

export async function closeSession(s) {
  if (s.closed) return;
  s.closed = true;
  await s.context?.close().catch(() => {});
  await s.cs?.stop().catch(() => {});
  if (!process.env.REUSE_LENS_E2E_KEEP) rmSync(s.base, { recursive: true, force: true });
}

/** Event-loop windows the probe recorded: [{ t, maxDelayMs }]. */
export function probeWindows(s) {
  if (!existsSync(s.probeFile)) return [];
  return readFileSync(s.probeFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/**
 * The extension's "Reuse Lens" output channel as VS Code writes it to disk (a log channel:
 * `.../logs/<session>/.../Reuse Lens.log` in the fresh profile, flushed on every line), all
 * sessions' files joined; '' while the extension has not logged yet.
 */
export function extensionLog(s) {
  return readdirSync(s.profile.base, { recursive: true }).map(String).filter((f) => f.endsWith('Reuse Lens.log')).sort()
    .map((f) => { try { return readFileSync(join(s.profile.base, f), 'utf8'); } catch { return ''; } }).join('');
}

/** Processes in code-server's process group whose command line contains `needle`. */
export function groupProcesses(s, needle) {
  const r = spawnSync('ps', ['-o', 'pid=,pgid=,args=', '-e'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/)).filter(Boolean)
    .filter((m) => Number(m[2]) === s.cs.proc.pid && m[3].includes(needle))
    .map((m) => ({ pid: Number(m[1]), args: m[3] }));
}

/** CPU seconds (user+system) a process has used so far, or null when it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}
