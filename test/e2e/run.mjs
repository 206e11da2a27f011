// End-to-end suite: Reuse Lens in a real VS Code (code-server) driven through Chromium, as a
// user would use it on the demo workspace. Usage: npm run test:e2e  [-- --no-package]
// Screenshots of every step land in test/e2e/screenshots/NN-name.png (git-ignored).
// Needs code-server in .cache/code-server (scripts/install-code-server.sh) and /usr/bin/chromium.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, codeServerInstalled } from '../../scripts/code-server.mjs';
import { packageVsix, VSIX } from '../../scripts/package-vsix.mjs';
import { createHarness } from './lib/harness.mjs';
import { openSession } from './lib/session.mjs';
import { registerSteps } from './steps.mjs';

const RUN_LIMIT_MS = Number(process.env.REUSE_LENS_E2E_LIMIT_MS) || 12 * 60_000; // the replacement experiment step alone may take minutes on a shared machine

async function main() {
  if (!codeServerInstalled()) {
    console.error('code-server is not installed: run `bash scripts/install-code-server.sh` first');
    console.log('0 passed, 1 failed');
    return 1;
  }
  // REUSE_LENS_E2E_VSIX: run the suite against a given .vsix (e.g. a release build) as is.
  const vsix = process.env.REUSE_LENS_E2E_VSIX || VSIX;
  if (!process.env.REUSE_LENS_E2E_VSIX && (!process.argv.includes('--no-package') || !existsSync(VSIX))) {
    packageVsix({ build: true });
  }

  const harness = createHarness({ screenshotDir: join(ROOT, 'test', 'e2e', 'screenshots') });
  let session = null;
  // Whatever happens (a hung step, Ctrl-C, a crash), Chromium and code-server are ended.
  const bail = async (why) => {
    console.error(`\naborting the e2e run: ${why}`);
    await session?.close();
    console.log('0 passed, 1 failed');
    process.exit(1);
  };
  const watchdog = setTimeout(() => bail(`over the ${RUN_LIMIT_MS / 1000} s limit`), RUN_LIMIT_MS);
  process.once('SIGINT', () => bail('interrupted'));
  process.once('SIGTERM', () => bail('terminated'));

  const t0 = Date.now();
  try {
    session = await openSession({ vsix, log: (m) => console.log(`  ${m.split('\n').pop()}`) });
    console.log(`code-server ${session.cs.url}, workspace ${session.workspace}`);
    registerSteps(harness, session);
    const { passed, failed } = await harness.run(() => session.page);
    console.log(`\ne2e: ${((Date.now() - t0) / 1000).toFixed(0)} s; screenshots in test/e2e/screenshots/`);
    console.log(`${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  } catch (e) {
    console.error(e);
    console.log('0 passed, 1 failed');
    return 1;
  } finally {
    clearTimeout(watchdog);
    await session?.close();
  }
}

process.exitCode = await main();
