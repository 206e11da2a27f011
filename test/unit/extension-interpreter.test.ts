// Which Python a replacement experiment runs with (src/extension/experiments/interpreter.ts):
// the Python extension's interpreter for the folder when that extension is installed, else the
// setting reuseLens.python, else python3; and a change of the active environment in the Python
// extension is what the next experiment runs with. Against a stand-in for `vscode` whose
// extensions.getExtension('ms-python.python') returns a stand-in of the Python extension's API;
// the real @vscode/python-extension package reads it from there, as it does in VS Code.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { installVscodeStandIn } from './helpers/vscodeStandIn';

type Uri = { fsPath: string };
const folderA: Uri = { fsPath: '/work/project-a' };
const folderB: Uri = { fsPath: '/work/project-b' };

/** The Python extension as its API shows it: the interpreter picked per folder, and an event when it changes. */
class PythonExtensionStandIn {
  installed = true;
  isActive = false;
  activations = 0;
  /** Folder → the path of the environment picked for it (the status bar's interpreter). */
  active = new Map<string, string>();
  /** Environment path → its interpreter; an unknown one resolves to undefined (a deleted venv). */
  executables = new Map<string, string>();
  asked: (Uri | undefined)[] = [];
  private listeners: ((e: { id: string; path: string; resource?: Uri }) => void)[] = [];
  readonly exports = {
    environments: {
      getActiveEnvironmentPath: (resource?: Uri) => {
        this.asked.push(resource);
        const p = this.active.get(resource?.fsPath ?? '') ?? '/usr/bin/python3';
        return { id: p, path: p };
      },
      resolveEnvironment: async (env: { path: string } | string) => {
        const p = typeof env === 'string' ? env : env.path;
        const exe = this.executables.get(p);
        return exe === undefined ? undefined : { id: p, path: p, executable: { uri: { fsPath: exe }, bitness: '64-bit', sysPrefix: p } };
      },
      onDidChangeActiveEnvironmentPath: (l: (e: { id: string; path: string; resource?: Uri }) => void) => { this.listeners.push(l); return { dispose() {} }; },
    },
  };
  async activate() { this.activations++; this.isActive = true; return this.exports; }
  /** The user picks another interpreter for a folder ("Python: Select Interpreter"). */
  select(folder: Uri, envPath: string, exe: string) {
    this.active.set(folder.fsPath, envPath);
    this.executables.set(envPath, exe);
    for (const l of this.listeners) l({ id: envPath, path: envPath, resource: folder });
  }
}

let py = new PythonExtensionStandIn();
/** Settings per folder: reuseLens.python. */
const settings = new Map<string, string>();
const warnings: string[] = [];

installVscodeStandIn({
  extensions: { getExtension: (id: string) => (id === 'ms-python.python' && py.installed ? py : undefined) },
  workspace: {
    getConfiguration: (section: string, scope?: Uri) => ({
      get: (key: string) => (section === 'reuseLens' && key === 'python' ? settings.get(scope?.fsPath ?? '') : undefined),
    }),
  },
  window: {
    createOutputChannel: () => ({ info() {}, warn: (m: string) => warnings.push(m), error() {}, trace() {}, debug() {}, show() {}, dispose() {} }),
  },
}, 'interpreter');

// Loaded after the stand-in is in place.
const { pythonFor } = require('../../src/extension/experiments/interpreter') as typeof import('../../src/extension/experiments/interpreter');

beforeEach(() => { py = new PythonExtensionStandIn(); settings.clear(); warnings.length = 0; });

test('with the Python extension installed, the experiment runs with the interpreter it has for the folder (activating it first)', async () => {
  py.select(folderA, '/work/project-a/.venv', '/work/project-a/.venv/bin/python');
  py.select(folderB, '/opt/conda/envs/b', '/opt/conda/envs/b/bin/python');
  settings.set(folderA.fsPath, '/usr/local/bin/python3.11');
  assert.deepEqual(await pythonFor(folderA as never), { python: '/work/project-a/.venv/bin/python', from: 'the Python extension' });
  assert.equal(py.activations, 1, 'an inactive Python extension is activated to ask it');
  assert.deepEqual(await pythonFor(folderB as never), { python: '/opt/conda/envs/b/bin/python', from: 'the Python extension' });
  assert.deepEqual(py.asked, [folderA, folderB], 'asked for the folder of the code');
});

test('a change of the active environment in the Python extension is what the next experiment runs with', async () => {
  py.select(folderA, '/work/project-a/.venv', '/work/project-a/.venv/bin/python');
  assert.equal((await pythonFor(folderA as never)).python, '/work/project-a/.venv/bin/python');
  py.select(folderA, '/work/project-a/.venv-torch2', '/work/project-a/.venv-torch2/bin/python');
  assert.deepEqual(await pythonFor(folderA as never), { python: '/work/project-a/.venv-torch2/bin/python', from: 'the Python extension' });
});

test('without the Python extension: the setting reuseLens.python for the folder, else python3 on PATH', async () => {
  py.installed = false;
  settings.set(folderA.fsPath, '  /usr/local/bin/python3.11 ');
  assert.deepEqual(await pythonFor(folderA as never), { python: '/usr/local/bin/python3.11', from: 'setting reuseLens.python' });
  assert.deepEqual(await pythonFor(folderB as never), { python: 'python3', from: 'python3 on PATH' });
  assert.equal(py.activations, 0);
});

test('when the Python extension has no interpreter for the folder (its environment is gone), the setting, else python3, and the log says why', async () => {
  py.active.set(folderA.fsPath, '/work/project-a/deleted-venv');
  settings.set(folderA.fsPath, '/usr/local/bin/python3.11');
  assert.deepEqual(await pythonFor(folderA as never), { python: '/usr/local/bin/python3.11', from: 'setting reuseLens.python' });
  // An API that throws (an extension failing to activate) falls back the same way, logged.
  py.isActive = false;
  py.activate = async () => { throw new Error('activation failed'); };
  assert.deepEqual(await pythonFor(folderB as never), { python: 'python3', from: 'python3 on PATH' });
  assert.match(warnings.join('\n'), /the Python extension gave no interpreter: activation failed/);
});
