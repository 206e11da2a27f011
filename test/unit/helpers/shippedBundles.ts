// The bundles the .vsix ships, as the tests run them: dist/ built by `node esbuild.mjs --production`
// (what `npm run package` runs; `npm test` builds the same way before the tests start).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');
export const DIST = join(ROOT, 'dist');
/** The bundles a user's process loads (the CLI's launcher, dist/cli.js, loads cli-bundle.js). */
export const SHIPPED = ['cli-bundle.js', 'worker.js', 'hdf5-thread.js', 'pair-thread.js', 'experiment-thread.js', 'extension.js'];

/** True when dist/ holds a production build: minified, no source maps (so no sourceMappingURL). */
export function isProductionBuild(): boolean {
  return SHIPPED.every((b) => existsSync(join(DIST, b)) && !/\/\/# sourceMappingURL=/.test(readFileSync(join(DIST, b), 'utf8').slice(-400)));
}

/** For a lone run of one test file: builds the production bundles unless dist/ already holds them. */
export function ensureProductionBuild(): void {
  if (isProductionBuild()) return;
  const b = spawnSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
}
