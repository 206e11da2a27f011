// Bundles the extension's WorkerClient and ReportCache (plain Node, no vscode) for
// bench/lib/analyze-via-worker.mjs, as esbuild.mjs bundles them into dist/extension.js; kept out
// of esbuild.mjs, as a bench tool.
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function buildWorkerClient(outfile) {
  const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
  await esbuild.build({
    stdin: {
      contents: "export { WorkerClient } from './src/extension/worker/client'; export { ReportCache } from './src/extension/cache/reportCache';",
      resolveDir: root, loader: 'ts',
    },
    outfile, bundle: true, platform: 'node', target: 'node20',
    format: 'cjs', minify: true, logLevel: 'warning',
  });
  return outfile;
}
