// One "Analyze Reusability" as the extension runs it (src/extension/analysis/runAnalysis.ts),
// against a stand-in for the `vscode` module and the real worker bundle (dist/worker.js, forked
// as the extension forks it). What a user sees is recorded: the status bar item, the
// `reuseLens.analysisRunning` context (which shows "Cancel Analysis"), the notifications, and
// whether a report came from the cache or from a new run of the worker.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReportCache } from '../../src/extension/cache/reportCache';
import { ensureProductionBuild, ROOT } from './helpers/shippedBundles';
import { installVscodeStandIn } from './helpers/vscodeStandIn';

// ---- the vscode stand-in ----

type Listener = () => unknown;
class CancellationTokenSource {
  private listeners: Listener[] = [];
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: (l: Listener) => { this.listeners.push(l); return { dispose() {} }; },
  };
  cancel() { this.token.isCancellationRequested = true; for (const l of this.listeners) l(); }
  dispose() {}
}
class EventEmitter<T> {
  private ls: ((e: T) => void)[] = [];
  readonly event = (l: (e: T) => void) => { this.ls.push(l); return { dispose() {} }; };
  fire(e: T) { for (const l of this.ls) l(e); }
  dispose() {}
}

/** What the user has in front of them. */
const ui = {
  statusVisible: false,
  statusText: '',
  context: new Map<string, unknown>(),
  errors: [] as string[],
  warnings: [] as string[],
  infos: [] as string[],
  /** Titles of progress notifications, in order. */
  progress: [] as string[],
};
/** How the stand-in's withProgress runs a task; tests replace it. */
type Task = (progress: { report(v: unknown): void }, token: CancellationTokenSource['token']) => Promise<unknown>;
let runProgress: (title: string, task: Task) => Promise<unknown> = (_t, task) => task({ report() {} }, new CancellationTokenSource().token);
/** A notification the user never dismisses (an analysis that waited for it would time its test out). */
const neverAnswered = () => new Promise<undefined>(() => {});

const tmp = path.join(os.tmpdir(), `reuse-lens-run-${process.pid}`);
const vscodeStandIn = {
  CancellationTokenSource, EventEmitter,
  Disposable: class { constructor(private readonly f: () => void) {} dispose() { this.f(); } },
  ProgressLocation: { Notification: 15 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  workspace: {
    get workspaceFolders() { return [{ uri: { fsPath: tmp }, name: 'ws', index: 0 }]; },
    getConfiguration: () => ({ get: () => undefined }),
  },
  window: {
    createOutputChannel: () => ({ info() {}, warn() {}, error() {}, trace() {}, debug() {}, show() {}, dispose() {} }),
    createStatusBarItem: () => ({
      name: '', command: '', tooltip: '',
      set text(t: string) { ui.statusText = t; }, get text() { return ui.statusText; },
      show() { ui.statusVisible = true; }, hide() { ui.statusVisible = false; }, dispose() { ui.statusVisible = false; },
    }),
    showErrorMessage: (m: string) => { ui.errors.push(m); return neverAnswered(); },
    showWarningMessage: (m: string) => { ui.warnings.push(m); return neverAnswered(); },
    showInformationMessage: (m: string) => { ui.infos.push(m); return neverAnswered(); },
    withProgress: (o: { title: string }, task: Task) => { ui.progress.push(o.title); return runProgress(o.title, task); },
  },
  commands: {
    executeCommand: async (cmd: string, key?: string, value?: unknown) => { if (cmd === 'setContext') ui.context.set(key!, value); },
  },
};
installVscodeStandIn(vscodeStandIn, 'run');

// Loaded after the stand-in is in place.
const { runAnalysis, runningCount } = require('../../src/extension/analysis/runAnalysis') as typeof import('../../src/extension/analysis/runAnalysis');
const { WorkerStatus } = require('../../src/extension/analysis/statusBar') as typeof import('../../src/extension/analysis/statusBar');
const { AnalysisStore } = require('../../src/extension/analysisStore') as typeof import('../../src/extension/analysisStore');
const { disposeWorker } = require('../../src/extension/workerHost') as typeof import('../../src/extension/workerHost');

const outcomes: string[] = [];
function deps() {
  const memento = new Map<string, unknown>();
  return {
    // The real worker bundle, next to which its thread bundles are: dist/ built for production.
    context: { asAbsolutePath: (p: string) => path.join(ROOT, p) } as never,
    store: new AnalysisStore({ get: (k: string, d: unknown) => memento.get(k) ?? d, update: async (k: string, v: unknown) => { memento.set(k, v); } } as never,
      new ReportCache(undefined), async () => ({ grids: [] })),
    status: new WorkerStatus(),
    diagnostics: { begin: () => () => 0, end: async (e: { outcome: string }) => { outcomes.push(e.outcome); } } as never,
    reveal() {},
  };
}

/** The status bar, the context key and the cancel action all say "nothing running". */
function assertNothingRunning(when: string) {
  assert.equal(ui.statusVisible, false, `${when}: the status bar still shows "${ui.statusText}"`);
  assert.equal(ui.context.get('reuseLens.analysisRunning'), false, `${when}: reuseLens.analysisRunning is still true`);
  assert.equal(runningCount(), 0, `${when}: "Cancel Analysis" still has an analysis to cancel`);
}

const FIX = path.join(__dirname, '..', 'fixtures');
const copy = async (rel: string, to = path.basename(rel)) => { const p = path.join(tmp, to); await fs.copyFile(path.join(FIX, rel), p); return p; };
/** Moves a file's modification time, as a trainer saving it again would. */
const touch = async (p: string, seconds: number) => { const t = new Date(Date.now() + seconds * 1000); await fs.utimes(p, t, t); };

before(async () => {
  ensureProductionBuild();
  await fs.mkdir(tmp, { recursive: true });
});
after(async () => {
  disposeWorker();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('a failed analysis ends the status bar, analysisRunning and Cancel while its error notification is still open', { timeout: 60_000 }, async () => {
  const bad = path.join(tmp, 'corrupt.safetensors');
  await fs.writeFile(bad, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
  const good = await copy('safetensors/conv_bn_linear.safetensors');
  let seenRunning = false;
  runProgress = async (_t, task) => {
    seenRunning = ui.statusVisible && ui.context.get('reuseLens.analysisRunning') === true && runningCount() === 1;
    return task({ report() {} }, new CancellationTokenSource().token);
  };
  const errorsBefore = ui.errors.length;
  // The user never dismisses the error: runAnalysis must end all the same.
  const entry = await runAnalysis(deps(), bad, good);
  assert.equal(entry, undefined);
  assert.ok(seenRunning, 'while the worker ran, the status bar, the context and Cancel were on');
  assert.equal(ui.errors.length, errorsBefore + 1);
  assert.match(ui.errors.at(-1)!, /corrupt\.safetensors/);
  assertNothingRunning('after the failure, with the error notification still open');
});

test('a checkpoint rewritten during the analysis: the run ends (status bar, context, Cancel) before the wait for it to settle', { timeout: 60_000 }, async () => {
  const src = await copy('pairs/source.safetensors', 'rewritten_source.safetensors');
  const tgt = await copy('pairs/target.safetensors', 'rewritten_target.safetensors');
  let duringSettle: { visible: boolean; running: unknown; count: number } | undefined;
  runProgress = async (title, task) => {
    if (/changed while it was being read/.test(title)) {
      duringSettle = { visible: ui.statusVisible, running: ui.context.get('reuseLens.analysisRunning'), count: runningCount() };
      return false; // the user cancels the wait
    }
    const r = await task({ report() {} }, new CancellationTokenSource().token);
    await touch(tgt, 5); // saved again by a trainer just as the worker finished
    return r;
  };
  assert.equal(await runAnalysis(deps(), src, tgt), undefined);
  assert.deepEqual(duringSettle, { visible: false, running: false, count: 0 }, 'nothing shows as running while it waits for the file to settle');
  assertNothingRunning('after the wait was cancelled');
});

test('after the last automatic re-run, the "kept changing" warning is shown and the run has ended, answered or not', { timeout: 60_000 }, async () => {
  const src = await copy('pairs/source.safetensors', 'busy_source.safetensors');
  const tgt = await copy('pairs/target.safetensors', 'busy_target.safetensors');
  runProgress = async (_t, task) => {
    const r = await task({ report() {} }, new CancellationTokenSource().token);
    await touch(src, 7);
    return r;
  };
  const warningsBefore = ui.warnings.length;
  assert.equal(await runAnalysis(deps(), src, tgt, 5), undefined);
  assert.equal(ui.warnings.length, warningsBefore + 1);
  assert.match(ui.warnings.at(-1)!, /kept changing while it was being read/);
  assertNothingRunning('with the warning still open');
});

test('a log file written beside an ONNX model while it is analysed neither spoils the run nor the cached report; its external data does', { timeout: 60_000 }, async () => {
  const dir = path.join(tmp, 'onnx');
  await fs.mkdir(dir, { recursive: true });
  const model = await copy('onnx/cnn_external.onnx', 'onnx/cnn_external.onnx');
  const data = await copy('onnx/cnn_external.onnx.data', 'onnx/cnn_external.onnx.data');
  const other = await copy('onnx/cnn.onnx', 'reference.onnx');
  const log = path.join(dir, 'train.log');
  const d = deps();
  let workerRuns = 0;
  runProgress = async (title, task) => {
    assert.doesNotMatch(title, /changed while it was being read/, 'no re-run for a file the checkpoint does not read');
    workerRuns++;
    const running = task({ report() {} }, new CancellationTokenSource().token);
    await fs.appendFile(log, `epoch ${workerRuns}\n`); // the trainer logs while the worker reads
    return running;
  };
  outcomes.length = 0;
  const first = await runAnalysis(d, other, model);
  assert.ok(first, 'the analysis finished');
  const cached = await d.store.cache.get(first.id);
  assert.deepEqual(cached!.response.files.target.map((f) => path.relative(tmp, f.path)), ['onnx/cnn_external.onnx', 'onnx/cnn_external.onnx.data'],
    'the stamp is the model and its external data, nothing beside them');
  assert.deepEqual(cached!.response.files.source.map((f) => path.basename(f.path)), ['reference.onnx']);

  await fs.appendFile(log, 'more logging\n');
  const again = await runAnalysis(d, other, model);
  assert.equal(again?.id, first.id);
  await touch(data, 9); // the external data saved again
  await runAnalysis(d, other, model);
  assert.deepEqual(outcomes, ['done', 'cached', 'done'], 'served from the cache until the external data changed');
  assert.equal(workerRuns, 2);
  assertNothingRunning('at the end');
});

test('a folder analysed as a checkpoint is served from the cache until a checkpoint is added to it', { timeout: 60_000 }, async () => {
  const folder = path.join(tmp, 'run-folder');
  await fs.mkdir(folder, { recursive: true });
  await copy('safetensors/conv_bn_linear.safetensors', 'run-folder/model.safetensors');
  const other = await copy('safetensors/conv_bn_linear.safetensors', 'other.safetensors');
  const d = deps();
  let workerRuns = 0;
  runProgress = async (_title, task) => { workerRuns++; return task({ report() {} }, new CancellationTokenSource().token); };
  outcomes.length = 0;
  ui.errors.length = 0;
  assert.ok(await runAnalysis(d, folder, other), 'the folder holding one checkpoint is that checkpoint');
  assert.ok(await runAnalysis(d, folder, other));
  // A second checkpoint saved into the folder: the folder no longer names one model.
  await copy('safetensors/conv_bn_linear.safetensors', 'run-folder/epoch2.safetensors');
  await touch(folder, 9);
  await runAnalysis(d, folder, other);
  assert.deepEqual(outcomes, ['done', 'cached', 'failed'], 'the cached report of the folder is not served once the folder holds another checkpoint');
  assert.equal(workerRuns, 2);
  assert.match(ui.errors.at(-1) ?? '', /run-folder/, 'the error names the folder');
  assertNothingRunning('at the end');
});
