// "Run Replacement Experiment": from the report panel's button, the palette or the Reuse Analysis
// menu. On PyTorch checkpoints it runs the user's own code (their model and data factories) in
// their Python, so only in a trusted workspace; the factories are picked once per workspace folder
// and kept in its settings. On a TF.js, Keras or ONNX target the model is built from the file and
// only an evaluation set is asked for (evaluationSet.ts): nothing of the user's runs, in any workspace.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { AnalysisStore } from '../analysisStore';
import type { ExperimentStore } from './experimentStore';
import { worker } from '../workerHost';
import { architectureRuntime, type ExperimentResult, type ProgressParams } from '../../protocol';
import { evaluationSetFor } from './evaluationSet';
import { isCancelled, WorkerRequestError } from '../worker/errors';
import { log } from '../log';
import { FactoryCandidate, isFactorySpec, rankFactories, topLevelDefs } from './factories';
import { pythonFor } from './interpreter';

const PY_EXCLUDE = '**/{node_modules,.git,.venv,venv,env,site-packages,__pycache__,dist,build}/**';
const MAX_PY_FILES = 300;
const MAX_PY_BYTES = 512 * 1024;

/** Top-level functions of the folder's Python files, as FILE.py:CALLABLE relative to the folder. */
async function factoryCandidates(folder: vscode.WorkspaceFolder): Promise<FactoryCandidate[]> {
  const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*.py'), PY_EXCLUDE, MAX_PY_FILES);
  const out: FactoryCandidate[] = [];
  for (const uri of files.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.size > MAX_PY_BYTES) continue;
      const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const file = path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
      for (const name of topLevelDefs(text)) out.push({ spec: `${file}:${name}`, file, name });
    } catch { /* unreadable: not offered */ }
  }
  return out;
}

async function pickFactory(folder: vscode.WorkspaceFolder, role: 'model' | 'data', candidates: FactoryCandidate[]): Promise<string | undefined> {
  const what = role === 'model' ? 'the model factory: returns the target\'s torch.nn.Module (untrained; the checkpoints are loaded into it)'
    : 'the evaluation data factory: returns batches of (inputs, targets), e.g. a DataLoader of the target task\'s validation set';
  const typed = '$(edit) Type FILE.py:CALLABLE…';
  const items: (vscode.QuickPickItem & { spec?: string })[] = rankFactories(candidates, role).map((c) => ({ label: c.name, description: c.file, spec: c.spec }));
  items.push({ label: typed, description: 'a function of another file, or a dotted name' });
  const choice = await vscode.window.showQuickPick(items, {
    title: `Replacement experiment (${role === 'model' ? 1 : 2}/2): ${role} factory`, placeHolder: `Pick ${what}`,
    matchOnDescription: true, ignoreFocusOut: true,
  });
  if (!choice) return undefined;
  if (choice.spec) return choice.spec;
  return vscode.window.showInputBox({
    title: `Replacement experiment: ${role} factory`, prompt: `${what}; relative to ${folder.name}`, placeHolder: role === 'model' ? 'train.py:build_model' : 'data.py:val_loader',
    ignoreFocusOut: true, validateInput: (v) => (isFactorySpec(v) ? undefined : 'FILE.py:CALLABLE, e.g. train.py:build_model'),
  }).then((v) => v?.trim());
}

/** The factories from the folder's settings; asked for (and saved there) when not set. */
async function factoriesFor(folder: vscode.WorkspaceFolder): Promise<{ model: string; data: string } | undefined> {
  const config = vscode.workspace.getConfiguration('reuseLens', folder.uri);
  let model = config.get<string>('experiments.model')?.trim() ?? '';
  let data = config.get<string>('experiments.data')?.trim() ?? '';
  if (model && data) return { model, data };
  const candidates = await factoryCandidates(folder);
  if (!model) {
    model = (await pickFactory(folder, 'model', candidates)) ?? '';
    if (!model) return undefined;
    await config.update('experiments.model', model, vscode.ConfigurationTarget.WorkspaceFolder);
  }
  if (!data) {
    data = (await pickFactory(folder, 'data', candidates)) ?? '';
    if (!data) return undefined;
    await config.update('experiments.data', data, vscode.ConfigurationTarget.WorkspaceFolder);
  }
  void vscode.window.showInformationMessage(`Reuse Lens: saved the factories ${model} and ${data} to this folder's settings (reuseLens.experiments.model / .data).`);
  return { model, data };
}

/** Settings imageMean/imageStd as the worker takes them; both empty: none (pixels in [0, 1]). */
function imageNormalization(config: vscode.WorkspaceConfiguration): { mean: number[]; std: number[] } | undefined {
  const nums = (k: string) => (config.get<unknown[]>(k) ?? []).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const mean = nums('experiments.imageMean'), std = nums('experiments.imageStd');
  if (!mean.length && !std.length) return undefined;
  return { mean: mean.length ? mean : [0], std: std.length ? std : [1] };
}

function analysisIdOf(arg: unknown, store: AnalysisStore): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof (arg as { analysisId?: unknown }).analysisId === 'string') return (arg as { analysisId: string }).analysisId;
  if (arg && typeof arg === 'object' && 'entry' in arg) return (arg as { entry: { id: string } }).entry.id;
  return store.latest()?.id;
}

type Runner = (onProgress: (p: ProgressParams) => void, token: vscode.CancellationToken) => Promise<ExperimentResult>;

export async function runExperimentCommand(context: vscode.ExtensionContext, store: AnalysisStore, experiments: ExperimentStore, arg?: unknown): Promise<void> {
  const id = analysisIdOf(arg, store);
  const report = id ? await store.getReport(id) : undefined;
  if (!id || !report) { void vscode.window.showInformationMessage('Reuse Lens: no analysis yet. Run "Analyze Reusability" first; the experiment replaces the layers it matched.'); return; }
  // A TF.js, Keras or ONNX target carries its architecture: TensorFlow.js or ONNX Runtime builds the
  // model and only an evaluation set is read, so nothing of the workspace runs and trust is not needed.
  const fileRuntime = architectureRuntime(report.target.format);
  if (!fileRuntime && !vscode.workspace.isTrusted) {
    const b = await vscode.window.showWarningMessage('Reuse Lens: a replacement experiment on PyTorch checkpoints runs your own Python code (your model and data factories); trust this workspace to run it.', 'Manage Workspace Trust');
    if (b) void vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  if (experiments.isRunning(id)) { void vscode.window.showInformationMessage('Reuse Lens: an experiment on this analysis is already running.'); return; }
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(report.target.path)) ?? vscode.workspace.workspaceFolders?.[0];
  const config = vscode.workspace.getConfiguration('reuseLens', folder?.uri);
  const metricSetting = config.get<string>('experiments.metric');
  const metric = metricSetting === 'accuracy' || metricSetting === 'loss' ? metricSetting : 'auto';
  const toleranceSetting = config.get<number>('experiments.tolerance');
  const tolerance = typeof toleranceSetting === 'number' && toleranceSetting >= 0 ? toleranceSetting : undefined;
  const label = `${path.basename(report.source.path)} → ${path.basename(report.target.path)}`;

  let run: Runner;
  let from = '';
  let dataPath = '';
  if (fileRuntime) {
    const data = await evaluationSetFor(folder, path.basename(report.target.path), arg !== undefined && typeof arg === 'object' && (arg as { pickData?: boolean }).pickData === true);
    if (!data) return;
    dataPath = data;
    log().info(`experiment ${label}: ${fileRuntime === 'tfjs' ? 'TensorFlow.js' : 'ONNX Runtime'} on ${data}`);
    const normalize = imageNormalization(config);
    run = (onProgress, token) => worker(context).fileExperiment({ report, data, metric, tolerance, normalize }, onProgress, token);
  } else {
    if (!folder) { void vscode.window.showInformationMessage('Reuse Lens: open the folder of your training code: the factories are looked up there.'); return; }
    const factories = await factoriesFor(folder);
    if (!factories) return;
    const py = await pythonFor(folder.uri);
    from = py.from;
    log().info(`experiment ${label}: ${factories.model}, ${factories.data} in ${folder.uri.fsPath} with ${py.python} (${from})`);
    run = (onProgress, token) => worker(context).experiment({ report, python: py.python, cwd: folder.uri.fsPath, ...factories, metric, tolerance }, onProgress, token);
  }

  experiments.setRunning(id, true);
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Reuse Lens: replacement experiment ${label}`, cancellable: true },
      async (progress, token) => {
        let last = 0;
        return run((p) => {
          const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
          const eta = p.etaSeconds !== undefined && p.done < p.total ? ` — about ${Math.max(1, Math.round(p.etaSeconds))} s left` : '';
          progress.report({ increment: Math.max(0, pct - last), message: `${p.done}/${p.total} evaluations (${p.message})${eta}` });
          last = Math.max(last, pct);
        }, token);
      });
    // Not running any more before the result is shown: the panel redraws once, with both.
    experiments.setRunning(id, false);
    await experiments.put(id, result);
    log().info(`experiment ${label}: ${result.network.reason} (${result.durationMs} ms${result.runtime ? `, ${result.runtime}` : ''})`);
    void vscode.window.showInformationMessage(`Reuse Lens (measured): ${result.network.reason}`, 'Open Report').then((b) => {
      if (b) void vscode.commands.executeCommand('reuseLens.openReport', id);
    });
  } catch (e) {
    if (isCancelled(e)) { void vscode.window.showInformationMessage(`Reuse Lens: experiment on ${label} cancelled.`); return; }
    const message = e instanceof Error ? e.message : String(e);
    log().warn(`experiment ${label}: ${message}`);
    const kind = e instanceof WorkerRequestError ? e.kind : undefined;
    const noPython = kind === 'experiment' && /has no torch|not found; pick another interpreter/.test(message);
    const factoryProblem = kind === 'experiment' && /factory|data /.test(message);
    // A file experiment's input that did not do (the set's layout or shape, a missing array): pick another set.
    const dataProblem = dataPath !== '' && kind === 'checkpoint' && message.startsWith(dataPath);
    const action = noPython ? 'Set Interpreter' : factoryProblem ? 'Edit Factories' : dataProblem ? 'Pick Another Evaluation Set' : 'Show Log';
    const b = await vscode.window.showErrorMessage(`Reuse Lens: ${message}${noPython ? ` (interpreter from ${from})` : ''}`, action);
    if (b === 'Set Interpreter') void vscode.commands.executeCommand('workbench.action.openSettings', 'reuseLens.python');
    else if (b === 'Edit Factories') void vscode.commands.executeCommand('workbench.action.openSettings', 'reuseLens.experiments');
    else if (b === 'Pick Another Evaluation Set') void vscode.commands.executeCommand('reuseLens.runExperiment', { analysisId: id, pickData: true });
    else if (b) log().show(true);
  } finally {
    experiments.setRunning(id, false);
  }
}
