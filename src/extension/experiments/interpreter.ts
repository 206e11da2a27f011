// Which Python runs the experiment: the Python extension's interpreter for the folder when that
// extension is installed (through its published API, @vscode/python-extension: the interpreter
// the user already picked for this code), else the setting reuseLens.python, else python3.
import * as vscode from 'vscode';
import { log } from '../log';

export async function pythonFor(folder: vscode.Uri | undefined): Promise<{ python: string; from: string }> {
  if (vscode.extensions.getExtension('ms-python.python')) {
    try {
      const { PythonExtension } = await import('@vscode/python-extension');
      const api = await PythonExtension.api();
      const env = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(folder));
      const exe = env?.executable.uri?.fsPath;
      if (exe) return { python: exe, from: 'the Python extension' };
    } catch (e) {
      log().warn(`experiment: the Python extension gave no interpreter: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const setting = vscode.workspace.getConfiguration('reuseLens', folder).get<string>('python')?.trim();
  if (setting) return { python: setting, from: 'setting reuseLens.python' };
  return { python: 'python3', from: 'python3 on PATH' };
}
