// One "Analyze Reusability" from start to finish: cache lookup, a cancellable progress
// notification and status bar while the worker works, the report stored and revealed, and a
// check that no file it was read from changed while it was read.
//
// The status bar, the `reuseLens.analysisRunning` context and "Cancel Analysis" belong to the
// worker's run only: they end when it ends. Whatever comes after (the error or warning shown,
// the wait for a checkpoint to stop changing) never holds them, and no notification is awaited.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { cacheKey, filesRead, foldersUnchanged, stampFiles, stampFolders, stillCurrent } from '../cache/cacheKey';
import type { AnalysisEntry, AnalysisStore } from '../analysisStore';
import type { Diagnostics } from '../diagnostics';
import type { WorkerStatus } from './statusBar';
import { readSettings } from '../settings';
import { worker, currentWorker } from '../workerHost';
import { isCancelled } from '../worker/errors';
import { log } from '../log';
import { realRoots, symlinkProblem } from '../model/symlinks';
import { realpath } from 'node:fs/promises';
import { waitUntilSettled, DEFAULT_SETTLE } from './settle';
import { CHANGED_WHILE_READING, type AnalyzeOptions, type AnalyzeResponse } from '../../protocol';

/** A file that keeps changing under every run is given up on after this many automatic re-runs. */
const MAX_AUTO_RERUNS = 5;

export interface AnalysisDeps {
  context: vscode.ExtensionContext;
  store: AnalysisStore;
  status: WorkerStatus;
  diagnostics: Diagnostics;
  /** Reveals the finished analysis in the Reuse Analysis view. */
  reveal(entry: AnalysisEntry): void;
}

/** Analyses running now: "Cancel Analysis" cancels them all. */
const running = new Set<vscode.CancellationTokenSource>();

export function cancelAll(): number {
  const n = running.size;
  for (const c of running) c.cancel();
  return n;
}

export function runningCount(): number { return running.size; }

/** How one run of the worker ended. `changed`: a file it read changed meanwhile; `watch` is what to wait on. */
type RunOutcome =
  | { kind: 'done'; response: AnalyzeResponse }
  | { kind: 'changed'; watch: string[] }
  | { kind: 'cancelled' }
  | { kind: 'failed'; message: string };

export async function runAnalysis(deps: AnalysisDeps, source: string, target: string, rerun = 0): Promise<AnalysisEntry | undefined> {
  const { options, followSymlinks } = readSettings();
  const label = `${path.basename(source)} → ${path.basename(target)}`;
  const roots = await realRoots((vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
  for (const p of [source, target]) {
    const problem = symlinkProblem(p, await realpath(p).catch(() => p), roots, followSymlinks);
    if (problem) { void vscode.window.showWarningMessage(`Reuse Lens: ${p} ${problem}.`); return undefined; }
  }
  const key = cacheKey(source, target, options);
  const readMax = deps.diagnostics.begin();
  const t0 = Date.now();
  const finish = (outcome: 'done' | 'cached' | 'cancelled' | 'failed') => deps.diagnostics.end(
    { source, target, outcome, durationMs: Date.now() - t0 }, readMax,
    { workerRestarts: currentWorker()?.restarts ?? 0, workerPid: currentWorker()?.pid ?? null },
  );

  const cached = await deps.store.cache.get(key);
  if (cached && await stillCurrent(cached.response) && await foldersUnchanged(cached.folders, [source, target])) {
    log().info(`analysis ${label}: served from cache (${key})`);
    const entry = await deps.store.add(key, cached.response);
    deps.reveal(entry);
    await finish('cached');
    return entry;
  }

  // Stamped before the run: a checkpoint added to a folder while it is read makes this report stale.
  const folders = await stampFolders([source, target]);
  const outcome = await runWorker(deps, source, target, options, label);
  switch (outcome.kind) {
    case 'done': {
      const { response } = outcome;
      // The cache holds it in memory at once; the file (0.4-0.6 s at 100,000 layers) is written
      // while the user already sees the result.
      const saving = deps.store.cache.put(key, response, folders);
      const entry = await deps.store.add(key, response);
      deps.reveal(entry);
      await finish('done');
      void vscode.window.showInformationMessage(`Reuse Lens: ${response.report.summary.text}`, 'Open Report').then((b) => {
        if (b) void vscode.commands.executeCommand('reuseLens.openReport', entry.id);
      });
      await saving;
      return entry;
    }
    case 'changed':
      await finish('failed');
      return rerunWhenSettled(deps, source, target, label, rerun, outcome.watch);
    case 'cancelled':
      await finish('cancelled');
      log().info(`analysis ${label}: cancelled`);
      void vscode.window.showInformationMessage(`Reuse Lens: analysis of ${label} cancelled.`);
      return undefined;
    case 'failed':
      await finish('failed');
      void vscode.window.showErrorMessage(`Reuse Lens: ${outcome.message}`, 'Show Log').then((b) => { if (b) log().show(true); });
      return undefined;
  }
}

/** The worker's run, with its progress notification, status bar entry, context key and cancel. */
async function runWorker(deps: AnalysisDeps, source: string, target: string, options: AnalyzeOptions, label: string): Promise<RunOutcome> {
  const cts = new vscode.CancellationTokenSource();
  running.add(cts);
  void vscode.commands.executeCommand('setContext', 'reuseLens.analysisRunning', true);
  const bar = deps.status.startAnalysis(label);
  try {
    const response = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Reuse Lens: analyzing ${label}`, cancellable: true },
      async (progress, token) => {
        const sub = token.onCancellationRequested(() => cts.cancel());
        let last = 0;
        try {
          return await worker(deps.context).analyze({ source, target, options }, (p) => {
            const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
            progress.report({ increment: Math.max(0, pct - last), message: p.message });
            last = Math.max(last, pct);
            bar.update(pct);
          }, cts.token);
        } finally { sub.dispose(); }
      });
    // The worker checked its files at the end of its reading; one changed since would make the
    // report's stamp describe a version it was not computed from.
    if (!await stillCurrent(response)) return { kind: 'changed', watch: filesRead(response).map((f) => f.path) };
    return { kind: 'done', response };
  } catch (e) {
    // The worker saw a file change under it (engine check): wait on the checkpoints named.
    if ((e as Error)?.message?.includes(CHANGED_WHILE_READING)) return { kind: 'changed', watch: [source, target] };
    if (isCancelled(e)) return { kind: 'cancelled' };
    return { kind: 'failed', message: (e as Error).message };
  } finally {
    running.delete(cts);
    cts.dispose();
    void vscode.commands.executeCommand('setContext', 'reuseLens.analysisRunning', running.size > 0);
    bar.done();
  }
}

/** A report that may mix two versions of a file is discarded; once its files are quiet it runs again. */
async function rerunWhenSettled(deps: AnalysisDeps, source: string, target: string, label: string, rerun: number, watch: string[]): Promise<AnalysisEntry | undefined> {
  log().warn(`analysis ${label}: a checkpoint changed while it was read; waiting for it to settle`);
  if (rerun >= MAX_AUTO_RERUNS) {
    void vscode.window.showWarningMessage(
      `Reuse Lens: ${label} kept changing while it was being read (${rerun + 1} tries); the numbers were discarded. Run again when training has stopped writing.`, 'Run Again')
      .then((again) => { if (again) void runAnalysis(deps, source, target); });
    return undefined;
  }
  const settled = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Reuse Lens: ${label} changed while it was being read; analyzing again once it stops changing`, cancellable: true },
    (_p, token) => waitUntilSettled(async () => JSON.stringify(await stampFiles(watch)),
      { ...DEFAULT_SETTLE, isCancelled: () => token.isCancellationRequested }));
  return settled ? runAnalysis(deps, source, target, rerun + 1) : undefined;
}
