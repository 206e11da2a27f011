// Starts code-server (installed by scripts/install-code-server.sh into .cache/code-server) with
// its own user-data and extensions folders, optionally with a .vsix installed first.
// Shared by `npm start` (scripts/start.mjs) and the e2e suite (test/e2e/).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CODE_SERVER_ENTRY = join(ROOT, '.cache', 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export function codeServerInstalled() {
  return existsSync(CODE_SERVER_ENTRY) && existsSync(join(ROOT, '.cache', 'code-server', '.install-complete'));
}

export function installCodeServer() {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'install-code-server.sh')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('scripts/install-code-server.sh failed');
}

/** First free TCP port on 127.0.0.1 from `from` upwards. */
export async function freePort(from = 8080) {
  for (let port = from; port < from + 200; port++) {
    const ok = await new Promise((res) => {
      const srv = createServer();
      srv.once('error', () => res(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free port in ${from}..${from + 199}`);
}

/** Settings that keep first-run noise (welcome page, trust prompt, tips) out of the way. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
};

/**
 * A fresh code-server home: user-data and extensions folders plus XDG dirs, all under one temp
 * folder, so nothing of the real user's VS Code is touched or read.
 */
export function makeProfile(settings = {}, base = mkdtempSync(join(tmpdir(), 'reuse-lens-cs-')), { keepSettings = false } = {}) {
  const p = {
    base,
    userDataDir: join(base, 'user-data'),
    extensionsDir: join(base, 'extensions'),
    xdgConfig: join(base, 'xdg-config'),
    xdgData: join(base, 'xdg-data'),
  };
  for (const d of [p.userDataDir, p.extensionsDir, p.xdgConfig, p.xdgData]) mkdirSync(d, { recursive: true });
  mkdirSync(join(p.userDataDir, 'User'), { recursive: true });
  const settingsFile = join(p.userDataDir, 'User', 'settings.json');
  if (!keepSettings || !existsSync(settingsFile)) writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...settings }, null, 2));
  return p;
}

function csEnv(profile, extraEnv = {}) {
  return { ...process.env, XDG_CONFIG_HOME: profile.xdgConfig, XDG_DATA_HOME: profile.xdgData, ...extraEnv };
}

function csArgs(profile) {
  return ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir,
    '--disable-telemetry', '--disable-update-check'];
}

export function installVsix(profile, vsix) {
  const r = spawnSync(process.execPath, [CODE_SERVER_ENTRY, ...csArgs(profile), '--install-extension', vsix, '--force'],
    { env: csEnv(profile), encoding: 'utf8' });
  if (r.status !== 0 || /failed|error/i.test(r.stderr ?? '')) {
    throw new Error(`installing ${vsix} into code-server failed:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout.trim();
}

/**
 * Starts code-server on 127.0.0.1:port and resolves once it answers HTTP.
 * Returns { url, proc, log(), stop() }; stop() kills it and waits for it to exit.
 */
export async function startCodeServer({ profile, port, env = {}, onOutput }) {
  const args = [CODE_SERVER_ENTRY, ...csArgs(profile), '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-workspace-trust', '--disable-getting-started-override'];
  // detached: code-server and everything it starts (extension host, our worker) form one
  // process group, so stop() can end them all without hunting for names.
  const proc = spawn(process.execPath, args, { env: csEnv(profile, env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const collect = (b) => { const s = b.toString(); out += s; onOutput?.(s); };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const exited = new Promise((res) => proc.once('exit', (code, sig) => res({ code, sig })));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 60_000;
  let up = false;
  while (Date.now() < deadline && proc.exitCode === null) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) { up = true; break; }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }

  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* already gone */ }
    const t = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(t);
    // Children that outlived the server (an orphaned worker) are in the same group.
    try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* none left */ }
  };
  if (!up) {
    await stop();
    throw new Error(`code-server did not come up on ${url}:\n${out}`);
  }
  return { url, proc, port, log: () => out, stop };
}
