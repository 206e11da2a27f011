// Bundles bench/driver.ts (the kernel-only timing driver) to OUT (default /tmp/reuse-lens-bench/driver.js),
// and other bench tools (bundleForBench).
// Kept out of esbuild.mjs because the driver is a bench tool, not a shipped entry point.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** A bench tool bundled as Node CommonJS (the options a caller adds: its entry or stdin, maps, minify). */
export async function bundleForBench(options, outfile) {
  await esbuild.build({ bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', ...options, outfile });
  return outfile;
}

export async function buildDriver(outfile) {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  return bundleForBench({
    entryPoints: [join(root, 'bench/driver.ts')], sourcemap: true,
    banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__import_meta_url' },
  }, outfile);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildDriver(process.argv[2] ?? '/tmp/reuse-lens-bench/driver.js');
