// `npm start`: builds the extension, packs the .vsix, and opens the demo workspace in a real
// VS Code: the desktop `code` when installed (as an extension under development), otherwise
// code-server on 127.0.0.1 with the .vsix installed. Runs until Ctrl-C.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageVsix } from './package-vsix.mjs';
import {
  ROOT, codeServerInstalled, freePort, installCodeServer, installVsix, makeProfile, startCodeServer,
} from './code-server.mjs';

const demo = join(ROOT, 'demo');
const vsix = packageVsix({ build: true });

const hasCode = !process.env.REUSE_LENS_FORCE_CODE_SERVER &&
  spawnSync('sh', ['-c', 'command -v code'], { stdio: 'ignore' }).status === 0;
if (hasCode) {
  console.log('opening the demo workspace in VS Code (code --extensionDevelopmentPath)...');
  const r = spawnSync('code', [`--extensionDevelopmentPath=${ROOT}`, demo], { stdio: 'inherit' });
  process.exit(r.status ?? 0);
}

if (!codeServerInstalled()) {
  console.log('no `code` on PATH: installing code-server (once, into .cache/code-server)...');
  installCodeServer();
}

// One profile kept across runs (in .cache/, git-ignored) so the user's layout and settings
// in the demo persist; the extension is reinstalled from the fresh .vsix each time.
const profile = makeProfile({}, join(ROOT, '.cache', 'start-profile'), { keepSettings: true });
console.log(installVsix(profile, vsix));
const port = await freePort(Number(process.env.PORT) || 8080);
const cs = await startCodeServer({ profile, port });
const url = `${cs.url}/?folder=${encodeURIComponent(demo)}`;
console.log(`\nReuse Lens demo is running in code-server:\n\n    ${url}\n\nOpen it in a browser. Ctrl-C stops it.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping code-server...');
  await cs.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
cs.proc.once('exit', (code) => {
  if (!stopping) {
    console.error(`code-server exited (${code}):\n${cs.log().slice(-2000)}`);
    process.exit(1);
  }
});
// Keep the event loop alive while code-server runs.
setInterval(() => {}, 1 << 30);
