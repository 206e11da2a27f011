// Bundles bench/driver.ts (the kernel-only timing driver) to OUT (default /tmp/reuse-lens-bench/driver.js).
// Kept out of esbuild.mjs because the driver is a bench tool, not a shipped entry point.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export async function buildDriver(outfile) {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  await esbuild.build({
    entryPoints: [join(root, 'bench/driver.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    sourcemap: true, logLevel: 'warning',
    banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__import_meta_url' },
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDriver(process.argv[2] ?? '/tmp/reuse-lens-bench/driver.js');
