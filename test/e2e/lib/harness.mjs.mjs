// A minimal sequential test runner for the e2e suite: the steps share one VS Code session
// (each builds on the previous one, as a user's session does), each step is its own named
// test with its own timeout and screenshot, and the run ends with the line `N passed, N failed`
// that CI reads.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function createHarness({ screenshotDir }) {
  const tests = [];
  mkdirSync(screenshotDir, { recursive: true });
  for (const f of readdirSync(screenshotDir)) if (f.endsWith('.png')) rmSync(join(screenshotDir, f));

  return {
    /** Registers a step. fn(ctx) gets { page, shot(name) }; a screenshot is taken after it either way. */
    test(name, shotName, fn, { timeout = 90_000 } = {}) {
      tests.push({ name, shotName, fn, timeout });
    },

    async run(getPage) {
      let passed = 0;
      let failed = 0;
      const failures = [];
      for (let i = 0; i < tests.length; i++) {
        const t = tests[i];
        const nn = String(i + 1).padStart(2, '0');
        const started = Date.now();
        let error = null;
        let timer;
        try {
          await Promise.race([
            t.fn({ shot: (suffix) => shot(getPage(), screenshotDir, `${nn}-${t.shotName}${suffix ? '-' + suffix : ''}`) }),
            new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${t.timeout} ms`)), t.timeout); }),
          ]);
        } catch (e) {
          error = e;
        } finally {
          clearTimeout(timer);
        }
        await shot(getPage(), screenshotDir, `${nn}-${t.shotName}${error ? '-FAILED' : ''}`).catch(() => {});
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        if (error) {
          failed++;
          failures.push({ name: t.name, error });
          console.log(`✖ ${t.name} (${secs} s)\n    ${String(error.message ?? error).split('\n').join('\n    ')}`);
        } else {
          passed++;
          console.log(`✔ ${t.name} (${secs} s)`);
        }
      }
      return { passed, failed, failures };
    },
  };
}

async function shot(page, dir, name) {
  if (!page || page.isClosed()) return;
  await page.screenshot({ path: join(dir, `${name}.png`) });
}
