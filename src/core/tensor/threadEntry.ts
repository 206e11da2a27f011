// Starts one of the engine's worker threads. Each thread has a TypeScript entry under src/core and
// a bundle next to dist/cli.js and dist/worker.js (esbuild.mjs). Under tsx (the unit tests) the
// calling module is itself a .ts file, and the thread loads its entry through tsx's require hook.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, ResourceLimits } from 'node:worker_threads';

/** `tsEntry` is relative to src/core (e.g. 'formats/hdf5Thread.ts'); `bundle` is its dist file name. */
export function startCoreThread(tsEntry: string, bundle: string, opts: { resourceLimits?: ResourceLimits; workerData?: unknown } = {}): Worker {
  if (__filename.endsWith('.ts')) {
    const tsxHook = 'tsx/cjs'; // a variable, so that the bundler leaves it alone: bundles never get here
    const code = `require(${JSON.stringify(require.resolve(tsxHook))}); require(${JSON.stringify(join(__dirname, '..', tsEntry))});`;
    return new Worker(code, { eval: true, ...opts });
  }
  return new Worker(join(__dirname, bundle), opts);
}

/** Whether `bundle` can be started here (it is missing only from a partial build). */
export function coreThreadAvailable(tsEntry: string, bundle: string): boolean {
  return existsSync(__filename.endsWith('.ts') ? join(__dirname, '..', tsEntry) : join(__dirname, bundle));
}
