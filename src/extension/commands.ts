// The commands of the "Reuse Lens" category. Each accepts what VS Code passes from where it was
// invoked: an Explorer URI (plus the multi-selection), a Checkpoints view node (plus the
// selection), an analysis id / node, or nothing (command palette: quick picks ask).
import * as vscode from 'vscode';
import * as path from 'node:path';
import { statSync } from 'node:fs';
import type { CheckpointIndex } from './checkpointIndex';
import type { AnalysisStore } from './analysisStore';
import type { CheckpointNode } from './views/checkpointsTree';
import type { AnalysisNode } from './views/analysisTree';
import { AnalysisDeps, cancelAll, runAnalysis } from './analysis/runAnalysis';
import { checkpointsUnder, relativeLabel } from './model/discovery';
import { Candidate, planAnalysis } from './model/pairing';
import { log } from './log';
import { summaryViewTypeFor } from './summary/summaryEditor';
import { runExperimentCommand } from './experiments/runExperiment';
import { getExperimentStore } from './experiments/experimentStore';

export const COMMANDS = {
  analyze: 'reuseLens.analyze',
  selectSource: 'reuseLens.selectSource',
  compareWithSource: 'reuseLens.compareWithSource',
  refresh: 'reuseLens.refresh',
  clearAnalyses: 'reuseLens.clearAnalyses',
  openReport: 'reuseLens.openReport',
  cancelAnalysis: 'reuseLens.cancelAnalysis',
  openSummary: 'reuseLens.openSummary',
  removeAnalysis: 'reuseLens.removeAnalysis',
  showLog: 'reuseLens.showLog',
  /** Replacement experiment on an analysis (trusted workspaces only): (analysisId | AnalysisNode | nothing = latest). */
  runExperiment: 'reuseLens.runExperiment',
  /** Registered by the report panel (src/extension/report): (analysisId: string, layer?: string). */
  showReport: 'reuseLens.showReport',
  /** Registered by extension.ts for the trees' "Show more…" rows: ('checkpoints' | 'analyses', key). Not in the palette. */
  showMore: 'reuseLens.showMore',
} as const;

interface Picked { path: string; isFolder: boolean }

/** Whatever the command was invoked on, as paths. */
function targetsOf(arg: unknown, multi: unknown): Picked[] {
  const all = Array.isArray(multi) && multi.length > 0 ? multi : arg !== undefined ? [arg] : [];
  const out: Picked[] = [];
  for (const a of all) {
    if (a instanceof vscode.Uri) {
      if (a.scheme !== 'file') continue;
      let isFolder = false;
      try { isFolder = statSync(a.fsPath).isDirectory(); } catch { /* reported when read */ }
      out.push({ path: a.fsPath, isFolder });
    } else if (a && typeof a === 'object' && 'kind' in a) {
      const n = a as CheckpointNode;
      if (n.kind === 'file') out.push({ path: n.path, isFolder: false });
      else if (n.kind === 'folder') out.push({ path: n.group.dir, isFolder: true });
      else if (n.kind === 'child' || n.kind === 'error' || n.kind === 'entry') out.push({ path: n.file, isFolder: false });
    }
  }
  // A folder node selected together with its own files: the files are what was meant.
  return out.filter((p, i) => out.findIndex((q) => q.path === p.path) === i);
}

function candidate(p: string): Candidate {
  try { return { path: p, mtimeMs: statSync(p).mtimeMs }; } catch { return { path: p, mtimeMs: 0 }; }
}

export function registerCommands(context: vscode.ExtensionContext, index: CheckpointIndex, store: AnalysisStore, deps: AnalysisDeps): void {
  let reuseSource: string | undefined;

  const pick = async (candidates: string[], title: string, placeHolder: string): Promise<string | undefined> => {
    const roots = index.roots();
    const items: (vscode.QuickPickItem & { path?: string })[] = candidates.map((p) => ({
      label: path.basename(p), description: relativeLabel(path.dirname(p), roots), path: p,
    }));
    items.push({ label: '$(folder-opened) Browse…', description: 'a checkpoint outside the list' });
    const choice = await vscode.window.showQuickPick(items, { title, placeHolder, matchOnDescription: true, ignoreFocusOut: true });
    if (!choice) return undefined;
    if (choice.path) return choice.path;
    // Files only: on Windows and Linux a dialog that allows folders too shows folders only.
    const uris = await vscode.window.showOpenDialog({
      canSelectMany: false, canSelectFiles: true, canSelectFolders: false, title, openLabel: 'Use',
      filters: { Checkpoints: ['pt', 'pth', 'bin', 'ckpt', 'safetensors', 'json', 'npz', 'npy', 'h5', 'keras', 'onnx', 'tflite'], 'All files': ['*'] },
    });
    return uris?.[0]?.fsPath;
  };

  /** The checkpoint the user clicked: a file as is; a folder's only checkpoint, or one picked from it. */
  const oneCheckpoint = async (arg: unknown, title: string): Promise<string | undefined> => {
    // The clicked item, not the first of a multi-selection.
    const t = targetsOf(arg, undefined)[0];
    if (!t) return undefined;
    if (!t.isFolder) return t.path;
    const inside = checkpointsUnder(t.path, await index.list());
    if (inside.length === 1) return inside[0];
    if (inside.length === 0) { void vscode.window.showInformationMessage(`Reuse Lens: ${path.basename(t.path)} holds no checkpoint.`); return undefined; }
    return pick(inside, title, `Pick a checkpoint in ${path.basename(t.path)}`);
  };

  const analyze = async (arg?: unknown, multi?: unknown) => {
    const all = await index.list();
    const plan = planAnalysis(targetsOf(arg, multi), (dir) => checkpointsUnder(dir, all).map(candidate), all, candidate);
    log().info(`Analyze Reusability: ${plan.kind}`);
    switch (plan.kind) {
      case 'pair': return runAnalysis(deps, plan.source, plan.target);
      case 'none': void vscode.window.showInformationMessage(`Reuse Lens: ${plan.message}`); return undefined;
      case 'pickTarget': {
        const target = await pick(plan.candidates, `Analyze Reusability: compare ${path.basename(plan.source)} (source) with…`, 'Pick the target checkpoint (the model for the new task)');
        return target ? runAnalysis(deps, plan.source, target) : undefined;
      }
      case 'pickBoth': {
        const source = await pick(plan.candidates, 'Analyze Reusability (1/2): source', 'Pick the source checkpoint (the trained model whose layers you would reuse)');
        if (!source) return undefined;
        const target = await pick(plan.candidates.filter((c) => c !== source), `Analyze Reusability (2/2): target for ${path.basename(source)}`, 'Pick the target checkpoint (the model for the new task)');
        return target ? runAnalysis(deps, source, target) : undefined;
      }
    }
  };

  const selectSource = async (arg?: unknown) => {
    const clicked = targetsOf(arg, undefined).length > 0;
    let p: string | undefined = await oneCheckpoint(arg, 'Select as Reuse Source');
    if (clicked && !p) return;
    p ??= await pick(await index.list(), 'Select as Reuse Source', 'Pick the source checkpoint');
    if (!p) return;
    reuseSource = p;
    await vscode.commands.executeCommand('setContext', 'reuseLens.hasSource', true);
    vscode.window.setStatusBarMessage(`Reuse Lens: ${path.basename(p)} selected as reuse source`, 4000);
  };

  const compareWithSource = async (arg?: unknown) => {
    if (!reuseSource) {
      void vscode.window.showInformationMessage('Reuse Lens: select a source first ("Select as Reuse Source").');
      return undefined;
    }
    const clicked = targetsOf(arg, undefined).length > 0;
    let target: string | undefined = await oneCheckpoint(arg, `Compare with ${path.basename(reuseSource)}`);
    if (clicked && !target) return undefined;
    target ??= await pick((await index.list()).filter((p) => p !== reuseSource), `Compare with ${path.basename(reuseSource)}`, 'Pick the target checkpoint');
    if (!target) return undefined;
    if (target === reuseSource) {
      void vscode.window.showInformationMessage('Reuse Lens: that is the reuse source itself; pick another checkpoint.');
      return undefined;
    }
    return runAnalysis(deps, reuseSource, target);
  };

  const openReport = async (arg?: unknown, layer?: unknown) => {
    const id = typeof arg === 'string' ? arg
      : arg && typeof arg === 'object' && 'entry' in arg ? (arg as AnalysisNode).entry.id
      : store.latest()?.id;
    if (!id) { void vscode.window.showInformationMessage('Reuse Lens: no analysis yet. Run "Analyze Reusability" first.'); return; }
    const layerName = typeof layer === 'string' ? layer : arg && typeof arg === 'object' && 'layer' in arg ? (arg as { layer: { name: string } }).layer.name : undefined;
    const registered = (await vscode.commands.getCommands(true)).includes(COMMANDS.showReport);
    if (registered) { await vscode.commands.executeCommand(COMMANDS.showReport, id, layerName); return; }
    // Without the report panel: the report itself, as JSON.
    const report = await store.getReport(id);
    if (!report) { void vscode.window.showWarningMessage('Reuse Lens: this report is no longer stored; run the analysis again.'); return; }
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(report, null, 2) });
    await vscode.window.showTextDocument(doc, { preview: true });
  };

  const reg = (id: string, fn: (...args: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg(COMMANDS.analyze, analyze);
  reg(COMMANDS.selectSource, selectSource);
  reg(COMMANDS.compareWithSource, compareWithSource);
  reg(COMMANDS.refresh, () => index.refresh());
  reg(COMMANDS.clearAnalyses, () => store.clear());
  reg(COMMANDS.openReport, openReport);
  reg(COMMANDS.cancelAnalysis, () => {
    if (cancelAll() === 0) void vscode.window.showInformationMessage('Reuse Lens: no analysis is running.');
  });
  reg(COMMANDS.openSummary, (arg?: unknown) => {
    const p = targetsOf(arg, undefined)[0];
    if (p && !p.isFolder) return vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(p.path), summaryViewTypeFor(p.path));
    return undefined;
  });
  reg(COMMANDS.removeAnalysis, (node?: AnalysisNode) => { if (node) return store.remove(node.entry.id); return undefined; });
  reg(COMMANDS.showLog, () => log().show());
  reg(COMMANDS.runExperiment, (arg?: unknown) => runExperimentCommand(deps.context, store, getExperimentStore(), arg));
}
