// Activation: register views, commands and the summary editor, and nothing more. No checkpoint
// is read here (the worker starts on the first inspect/analyze), so activation stays cheap even
// when `workspaceContains` fires at startup. The scan for checkpoints runs after activation.
import * as vscode from 'vscode';
import { log, disposeLog } from './log';
import { CheckpointIndex } from './checkpointIndex';
import { CheckpointsTree, CheckpointNode } from './views/checkpointsTree';
import { AnalysisTree, AnalysisNode } from './views/analysisTree';
import { AnalysisStore, setAnalysisStore } from './analysisStore';
import { ReportCache } from './cache/reportCache';
import { COMMANDS, registerCommands } from './commands';
import { CheckpointSummaryProvider, SUMMARY_VIEW_TYPE, SUMMARY_OPTION_VIEW_TYPE } from './summary/summaryEditor';
import { worker, onWorkerBusy, disposeWorker, currentWorker } from './workerHost';
import { WorkerStatus } from './analysis/statusBar';
import { Diagnostics } from './diagnostics';
import { readSettings } from './settings';
import { ReuseHints } from './hints/hintProviders';
import { registerReportPanel } from './report/panel';
import { ExperimentStore, setExperimentStore } from './experiments/experimentStore';

export interface ReuseLensApi {
  /** The analyses store (report panel, tests). */
  store: AnalysisStore;
}

export function activate(context: vscode.ExtensionContext): ReuseLensApi {
  const t0 = performance.now();
  const cacheDir = vscode.Uri.joinPath(context.globalStorageUri, 'reports').fsPath;
  const cache = new ReportCache(cacheDir, (m) => log().warn(m));
  const store = new AnalysisStore(context.workspaceState, cache, (id, layer) => worker(context).filterGrids({ analysisId: id, layer }));
  setAnalysisStore(store);
  const index = new CheckpointIndex(context);
  const checkpoints = new CheckpointsTree(index);
  const analyses = new AnalysisTree(store);
  const checkpointsView = vscode.window.createTreeView<CheckpointNode>('reuseLens.checkpoints', { treeDataProvider: checkpoints, showCollapseAll: true, canSelectMany: true });
  const analysesView = vscode.window.createTreeView<AnalysisNode>('reuseLens.analyses', { treeDataProvider: analyses, showCollapseAll: true });
  const status = new WorkerStatus();
  const diagnostics = new Diagnostics();

  registerCommands(context, index, store, {
    context, store, status, diagnostics,
    reveal: (entry) => {
      // The tree rebuilds its nodes on change; reveal once it has.
      setTimeout(() => {
        const node = analyses.nodeOf(entry.id);
        if (node) void analysesView.reveal(node, { select: true, focus: false, expand: true }).then(undefined, () => {});
      }, 50);
    },
  });

  context.subscriptions.push(
    index, checkpoints, analyses, checkpointsView, analysesView, status, store,
    vscode.commands.registerCommand(COMMANDS.showMore, (tree: 'checkpoints' | 'analyses', key: string) => {
      if (tree === 'checkpoints') checkpoints.showMore(key); else analyses.showMore(key);
    }),
    onWorkerBusy((n) => status.setWorkerBusy(n)),
    ...[SUMMARY_VIEW_TYPE, SUMMARY_OPTION_VIEW_TYPE].map((viewType) => vscode.window.registerCustomEditorProvider(viewType, new CheckpointSummaryProvider(context), {
      supportsMultipleEditorsPerDocument: true,
      webviewOptions: { retainContextWhenHidden: false },
    })),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // reuseLens.include/exclude/followSymlinks and files.exclude: the index listens itself.
      if (e.affectsConfiguration('reuseLens.worker.memoryLimitMb')) currentWorker()?.setMemoryLimit(readSettings().memoryLimitMb);
      if (e.affectsConfiguration('reuseLens.worker.timeLimitSeconds')) currentWorker()?.setTimeLimit(readSettings().timeLimitSeconds);
      if (e.affectsConfiguration('reuseLens.thresholds')) void store.rejudgeAll();
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void index.refresh()),
  );
  // Replacement experiments: the latest result per analysis (the command is in commands.ts).
  const experiments = new ExperimentStore(context.workspaceState);
  setExperimentStore(experiments);
  context.subscriptions.push(experiments);
  // The report panel (src/extension/report) registers `reuseLens.showReport` and its serializer.
  context.subscriptions.push(registerReportPanel(context));
  const hints = new ReuseHints(store, {
    codeMap: (key, text, tokens) => worker(context).codeMap({ key, text, tokens }),
    forget: (key) => currentWorker()?.forgetDocument(key),
  });
  context.subscriptions.push(hints,
    vscode.languages.registerCodeLensProvider({ language: 'python' }, hints),
    vscode.languages.registerHoverProvider({ language: 'python' }, hints));
  void vscode.commands.executeCommand('setContext', 'reuseLens.hasAnalyses', store.list().length > 0);
  // Discovery runs after activation returns: findFiles is asynchronous, but it need not delay startup.
  setTimeout(() => void index.scan(), 0);
  log().info(`activated in ${(performance.now() - t0).toFixed(1)} ms`);
  return { store };
}

export function deactivate(): void {
  // Kill the worker now: deactivate may be the last thing this process does.
  disposeWorker();
  disposeLog();
}
