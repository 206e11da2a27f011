// Bundles the extension's WorkerClient and ReportCache (plain Node, no vscode) for
// bench/lib/analyze-via-worker.mjs, as esbuild.mjs bundles them into dist/extension.js; kept out
// of esbuild.mjs, as a bench tool.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBench } from '../build-driver.mjs';

export function buildWorkerClient(outfile) {
  const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
  return bundleForBench({
    stdin: {
      contents: "export { WorkerClient } from './src/extension/worker/client'; export { ReportCache } from './src/extension/cache/reportCache';",
      resolveDir: root, loader: 'ts',
    },
    minify: true,
  }, outfile);
}
