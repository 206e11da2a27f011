// The extension's single worker: created on first need, told of memory-limit changes, and
// surfaced to the user when it dies (a warning with the reason and a button to the log).
import * as vscode from 'vscode';
import type { WorkerClient } from './worker/client';
import { log } from './log';
import { readSettings } from './settings';

let client: WorkerClient | undefined;
const busyListeners = new Set<(running: number) => void>();

export function worker(context: vscode.ExtensionContext): WorkerClient {
  if (client) return client;
  // Loaded on first use, not at activation: the client pulls in vscode-jsonrpc, about 6 ms of
  // module loading (of ~15 ms activation in bench/extension.mjs) that activation itself never needs.
  // A `require` (not an import) is what esbuild bundles as a lazily initialised module.
  const { WorkerClient } = require('./worker/client') as typeof import('./worker/client');
  client = new WorkerClient({
    workerPath: context.asAbsolutePath('dist/worker.js'),
    memoryLimitMb: readSettings().memoryLimitMb,
    timeLimitSeconds: readSettings().timeLimitSeconds,
    log: { info: (m) => log().info(m), warn: (m) => log().warn(m), error: (m) => log().error(m) },
    onWorkerLost: (reason) => {
      void vscode.window.showWarningMessage(`Reuse Lens: the background worker ${reason}. It will be restarted for the next request.`, 'Show Log')
        .then((b) => { if (b) log().show(true); });
    },
    onBusyChange: (n) => { for (const l of busyListeners) l(n); },
    hangTimeoutMs: 15000,
  });
  return client;
}

export function onWorkerBusy(listener: (running: number) => void): vscode.Disposable {
  busyListeners.add(listener);
  return new vscode.Disposable(() => busyListeners.delete(listener));
}

export function currentWorker(): WorkerClient | undefined { return client; }

export function disposeWorker(): void { client?.dispose(); client = undefined; }
