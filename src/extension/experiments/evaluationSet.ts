// The evaluation set of an experiment on a model whose architecture is in its file (TF.js, Keras,
// ONNX): an .npz with x and y, or a folder of images in class subfolders. Picked once per
// workspace folder and kept in its settings (reuseLens.experiments.evaluationSet), as the PyTorch
// factories are. Only read as data by the worker: nothing in it runs, so it is offered in
// untrusted workspaces too.
import * as vscode from 'vscode';
import * as path from 'node:path';

const SETTING = 'experiments.evaluationSet';
const NPZ_EXCLUDE = '**/{node_modules,.git,.venv,venv,site-packages,__pycache__}/**';
const MAX_OFFERED = 50;

/** The setting's value as a path: relative ones are relative to the folder. */
function resolveIn(folder: vscode.WorkspaceFolder | undefined, value: string): string {
  return path.isAbsolute(value) || !folder ? value : path.join(folder.uri.fsPath, value);
}

/** How the path is saved: relative to the folder when inside it (the settings file travels with the folder). */
function saveForm(folder: vscode.WorkspaceFolder | undefined, fsPath: string): string {
  if (!folder) return fsPath;
  const rel = path.relative(folder.uri.fsPath, fsPath);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : fsPath;
}

async function exists(fsPath: string): Promise<boolean> {
  try { await vscode.workspace.fs.stat(vscode.Uri.file(fsPath)); return true; } catch { return false; }
}

/**
 * The folder's evaluation set; asked for (and saved) when none is set, when the saved one is gone,
 * or when `ask` (the last one did not fit the model). Undefined: the user dismissed the picker.
 */
export async function evaluationSetFor(folder: vscode.WorkspaceFolder | undefined, modelName: string, ask = false): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('reuseLens', folder?.uri);
  const saved = config.get<string>(SETTING)?.trim() ?? '';
  if (saved && !ask && await exists(resolveIn(folder, saved))) return resolveIn(folder, saved);
  const picked = await pickEvaluationSet(folder, modelName);
  if (!picked) return undefined;
  await config.update(SETTING, saveForm(folder, picked), folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Global);
  return picked;
}

type Item = vscode.QuickPickItem & { fsPath?: string; browse?: 'file' | 'folder' };

async function pickEvaluationSet(folder: vscode.WorkspaceFolder | undefined, modelName: string): Promise<string | undefined> {
  const items: Item[] = [];
  if (folder) {
    const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*.npz'), NPZ_EXCLUDE, MAX_OFFERED);
    for (const uri of found.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
      items.push({ label: path.basename(uri.fsPath), description: path.dirname(path.relative(folder.uri.fsPath, uri.fsPath)), fsPath: uri.fsPath });
    }
  }
  items.push(
    { label: '$(file) Choose an .npz file…', description: 'arrays x (inputs in the model\'s layout) and y (labels)', browse: 'file' },
    { label: '$(folder) Choose a folder of images…', description: 'one subfolder per class (.jpg, .png)', browse: 'folder' });
  const choice = await vscode.window.showQuickPick(items, {
    title: `Replacement experiment: evaluation set for ${modelName}`,
    placeHolder: 'The target task\'s validation data: an .npz with x and y, or a folder of images in class subfolders (kept in this folder\'s settings)',
    matchOnDescription: true, ignoreFocusOut: true,
  });
  if (!choice) return undefined;
  if (choice.fsPath) return choice.fsPath;
  const uris = await vscode.window.showOpenDialog({
    title: choice.browse === 'file' ? 'Evaluation set (.npz with x and y)' : 'Evaluation set (a folder of images in class subfolders)',
    defaultUri: folder?.uri, canSelectMany: false,
    canSelectFiles: choice.browse === 'file', canSelectFolders: choice.browse === 'folder',
    filters: choice.browse === 'file' ? { 'NumPy archive': ['npz'] } : undefined,
    openLabel: 'Use as Evaluation Set',
  });
  return uris?.[0]?.fsPath;
}
