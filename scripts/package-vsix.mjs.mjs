// Builds the extension and packs it as dist/reuse-lens.vsix (what `npm start` and the e2e
// suite install into VS Code / code-server). Usage: node scripts/package-vsix.mjs [--no-build]
// All runtime code is bundled into dist/ by esbuild, hence --no-dependencies.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VSIX = join(ROOT, 'dist', 'reuse-lens.vsix');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

export function packageVsix({ build = true } = {}) {
  if (build) run(process.execPath, ['esbuild.mjs', '--production']);
  if (!existsSync(join(ROOT, 'dist', 'extension.js'))) {
    throw new Error('dist/extension.js is missing: the extension entry point src/extension/extension.ts does not exist yet or failed to build');
  }
  const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  // The repo's own .vscodeignore wins when there is one; else our allow-list.
  const ignore = existsSync(join(ROOT, '.vscodeignore')) ? [] : ['--ignoreFile', join(ROOT, 'scripts', 'vscodeignore')];
  run(process.execPath, [vsce, 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository',
    ...ignore, '-o', VSIX]);
  const mb = statSync(VSIX).size / 1e6;
  console.log(`packaged ${VSIX} (${mb.toFixed(2)} MB)`);
  return VSIX;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    packageVsix({ build: !process.argv.includes('--no-build') });
  } catch (e) {
    console.error(String(e.message ?? e));
    process.exit(1);
  }
}
