// The inline hints as the extension host serves them (src/extension/hints/hintProviders.ts),
// against a stand-in for the `vscode` module: the code map comes from the shipped worker
// (dist/worker.js, forked as the extension forks it), the analyses from the real store. What a
// user sees is checked: the CodeLens titles and commands, the hover's text and link, nothing on a
// file no analysis matches, the load line's actions (insert the plan, copy it), and that a click
// on a lens or the hover's link opens the report panel at the line's layer.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { analyzePaths } from '../../src/core/analysis/engine';
import type { AnalyzeResponse, Report } from '../../src/protocol';
import { ReportCache } from '../../src/extension/cache/reportCache';
import { ensureProductionBuild, ROOT } from './helpers/shippedBundles';
import { installVscodeStandIn } from './helpers/vscodeStandIn';

// ---- the vscode stand-in ----

class EventEmitter<T> {
  private ls: ((e: T) => void)[] = [];
  readonly event = (l: (e: T) => void) => { this.ls.push(l); return { dispose: () => { this.ls = this.ls.filter((x) => x !== l); } }; };
  fire(e: T) { for (const l of this.ls) l(e); }
  dispose() { this.ls = []; }
}
class Position { constructor(readonly line: number, readonly character: number) {} }
class Range {
  readonly start: Position; readonly end: Position;
  constructor(a: number, b: number, c: number, d: number) { this.start = new Position(a, b); this.end = new Position(c, d); }
  contains(p: Position) {
    const after = (x: Position, y: Position) => x.line > y.line || (x.line === y.line && x.character >= y.character);
    return after(p, this.start) && after(this.end, p);
  }
}
class Uri {
  private constructor(readonly scheme: string, readonly fsPath: string) {}
  static file(p: string) { return new Uri('file', p); }
  static joinPath(u: Uri, ...p: string[]) { return new Uri(u.scheme, path.join(u.fsPath, ...p)); }
  toString() { return `${this.scheme}://${this.fsPath}`; }
}
class CodeLens { constructor(readonly range: Range, readonly command: { title: string; command: string; arguments: unknown[]; tooltip: string }) {} }
class MarkdownString {
  isTrusted: unknown;
  constructor(public value: string) {}
  appendMarkdown(s: string) { this.value += s; return this; }
}
class Hover { constructor(readonly contents: MarkdownString, readonly range: Range) {} }
class WorkspaceEdit {
  readonly inserts: { uri: Uri; at: Position; text: string }[] = [];
  insert(uri: Uri, at: Position, text: string) { this.inserts.push({ uri, at, text }); }
}

/** An open Python file as the providers read it. */
class Doc {
  version = 1;
  constructor(readonly uri: Uri, private text: string) {}
  getText() { return this.text; }
  get lineCount() { return this.text.split('\n').length; }
  lineAt(i: number) {
    const text = this.text.split('\n')[i];
    return { text, firstNonWhitespaceCharacterIndex: text.length - text.trimStart().length, range: { end: { character: text.length } } };
  }
  /** An edit as VS Code applies it: the text changes, the version goes up. */
  insert(line: number, s: string) {
    const lines = this.text.split('\n');
    lines.splice(line, 0, ...s.replace(/\n$/, '').split('\n'));
    this.text = lines.join('\n');
    this.version++;
  }
}

const settings = new Map<string, unknown>();
const commands = new Map<string, (...args: unknown[]) => unknown>();
const docs = new Map<string, Doc>();
const clipboard: string[] = [];
/** What the report panel's page was sent, per panel. */
const panelsMade: { title: string; posted: Record<string, unknown>[]; page: EventEmitter<unknown> }[] = [];
/** When VS Code says a panel's n-th message was handed over to the page (at once, unless a test says otherwise). */
let handOver: (n: number) => Promise<boolean> = async () => true;

const vscodeStandIn = {
  EventEmitter, Position, Range, Uri, CodeLens, MarkdownString, Hover, WorkspaceEdit,
  Disposable: class Disposable {
    constructor(private readonly f: () => void) {}
    static from(...ds: { dispose(): void }[]) { return new Disposable(() => { for (const d of ds) d.dispose(); }); }
    dispose() { this.f(); }
  },
  ViewColumn: { Active: -1, Beside: -2 },
  workspace: {
    getConfiguration: (section: string) => ({ get: (k: string) => settings.get(`${section}.${k}`) }),
    onDidChangeConfiguration: new EventEmitter<unknown>().event,
    onDidCloseTextDocument: new EventEmitter<unknown>().event,
    openTextDocument: async (uri: Uri) => docs.get(uri.toString()),
    applyEdit: async (edit: WorkspaceEdit) => {
      for (const e of edit.inserts) docs.get(e.uri.toString())!.insert(e.at.line, e.text);
      return true;
    },
  },
  window: {
    createOutputChannel: () => ({ info() {}, warn() {}, error() {}, trace() {}, debug() {}, show() {}, dispose() {} }),
    setStatusBarMessage: () => ({ dispose() {} }),
    showInformationMessage: async () => undefined,
    showWarningMessage: async () => undefined,
    registerWebviewPanelSerializer: () => ({ dispose() {} }),
    createWebviewPanel: (_type: string, title: string) => {
      const made = { title, posted: [] as Record<string, unknown>[], page: new EventEmitter<unknown>() };
      panelsMade.push(made);
      return {
        title, visible: true, iconPath: undefined,
        reveal() {},
        onDidDispose: () => ({ dispose() {} }),
        onDidChangeViewState: () => ({ dispose() {} }),
        webview: {
          options: {}, html: '', cspSource: 'vscode-resource:',
          asWebviewUri: (u: Uri) => u,
          postMessage: (m: Record<string, unknown>) => { made.posted.push(m); return handOver(made.posted.length); },
          onDidReceiveMessage: made.page.event,
        },
      };
    },
  },
  commands: {
    registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => { commands.set(id, fn); return { dispose: () => commands.delete(id) }; },
    executeCommand: async (id: string, ...args: unknown[]) => commands.get(id)?.(...args),
    getCommands: async () => [...commands.keys()],
  },
  env: { clipboard: { writeText: async (s: string) => { clipboard.push(s); } } },
};
installVscodeStandIn(vscodeStandIn, 'hints');

// Loaded after the stand-in is in place.
const { ReuseHints, HINT_COMMANDS } = require('../../src/extension/hints/hintProviders') as typeof import('../../src/extension/hints/hintProviders');
const { AnalysisStore, setAnalysisStore } = require('../../src/extension/analysisStore') as typeof import('../../src/extension/analysisStore');
const { ExperimentStore, setExperimentStore } = require('../../src/extension/experiments/experimentStore') as typeof import('../../src/extension/experiments/experimentStore');
const { registerCommands, COMMANDS } = require('../../src/extension/commands') as typeof import('../../src/extension/commands');
const { registerReportPanel } = require('../../src/extension/report/panel') as typeof import('../../src/extension/report/panel');
const { worker, currentWorker, disposeWorker } = require('../../src/extension/workerHost') as typeof import('../../src/extension/workerHost');

const FIX = path.join(__dirname, '..', 'fixtures', 'codemap');
const memento = () => { const m = new Map<string, unknown>(); return { get: (k: string, d: unknown) => m.get(k) ?? d, update: async (k: string, v: unknown) => { m.set(k, v); } } as never; };
const context = { asAbsolutePath: (p: string) => path.join(ROOT, p), extensionUri: Uri.file(ROOT), subscriptions: [] as { dispose(): void }[] } as never;

let hints: InstanceType<typeof ReuseHints>;
let report: Report;
const ID = 'resnet18-analysis';

function open(name: string, text: string): Doc {
  const d = new Doc(Uri.file(path.join('/ws', name)), text);
  docs.set(d.uri.toString(), d);
  return d;
}
const lineOf = (d: Doc, piece: string) => { const i = d.getText().split('\n').findIndex((l) => l.includes(piece)); assert.ok(i >= 0, piece); return i; };
/** A click: VS Code runs the lens's (or the link's) command with its arguments. */
const click = (cmd: { command: string; arguments: unknown[] }) => vscodeStandIn.commands.executeCommand(cmd.command, ...cmd.arguments);

before(async () => {
  ensureProductionBuild();
  const store = new AnalysisStore(memento(), new ReportCache(undefined), async () => ({ grids: [] }));
  setAnalysisStore(store);
  setExperimentStore(new ExperimentStore(memento()));
  report = await analyzePaths(path.join(FIX, 'checkpoints', 'resnet18_source.pt'), path.join(FIX, 'checkpoints', 'resnet18_target.pt'), {});
  const response: AnalyzeResponse = { report, analysisId: 'w1', gridsOmitted: [], durationMs: 1, files: { source: [], target: [] } };
  await store.cache.put(ID, response);
  await store.add(ID, response);
  // The extension's wiring (extension.ts): the worker's code map, the commands, the report panel.
  hints = new ReuseHints(store, {
    codeMap: (key, text, tokens) => worker(context).codeMap({ key, text, tokens }),
    forget: (key) => currentWorker()?.forgetDocument(key),
  });
  registerCommands(context, { roots: () => [], list: async () => [] } as never, store, {} as never);
  registerReportPanel(context);
});
after(() => { hints?.dispose(); disposeWorker(); });

test('a ResNet file: each layer line gets a lens with its verdicts and a click target at its first layer; other lines none', async () => {
  const d = open('resnet.py', readFileSync(path.join(FIX, 'resnet.py'), 'utf8'));
  const lenses = await hints.provideCodeLenses(d as never) as unknown as CodeLens[];
  assert.ok(lenses.length >= 10, `${lenses.length} lenses`);
  const at = (piece: string) => lenses.filter((l) => l.range.start.line === lineOf(d, piece));
  const [fc] = at('self.fc = nn.Linear(');
  assert.equal(fc.command.command, COMMANDS.openReport);
  assert.deepEqual(fc.command.arguments, [ID, 'fc']);
  assert.ok(fc.command.title.startsWith(report.layers.find((l) => l.name === 'fc')!.verdict), fc.command.title);
  assert.equal(fc.range.start.character, d.lineAt(fc.range.start.line).text.indexOf('fc'), 'the lens sits at the attribute the line assigns');
  // A BasicBlock line creates eight layers: the title counts them, the tooltip says so.
  const [conv1] = at('self.conv1 = conv3x3(inplanes, planes, stride)');
  assert.match(conv1.command.title, /^(reuse|fine-tune|retrain|incompatible)( ×\d+)?( · [a-z-]+ ×\d+)* · rel\. RMSE /);
  assert.equal([...conv1.command.title.matchAll(/×(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0), 8);
  assert.equal(conv1.command.arguments[1], 'layer1.0.conv1');
  assert.match(conv1.command.tooltip, /this line creates 8 layers/);
  // Activations, pooling and forward() get nothing.
  for (const piece of ['self.relu = nn.ReLU(inplace=True)', 'self.maxpool = nn.MaxPool2d(', 'def forward(self, x: torch.Tensor)', 'x = self.maxpool(self.relu(self.bn1(self.conv1(x))))']) assert.deepEqual(at(piece), [], piece);
  // Every lens names a layer of the report.
  const names = new Set(report.layers.map((l) => l.name));
  for (const l of lenses) assert.ok(names.has(l.command.arguments[1] as string), String(l.command.arguments[1]));
});

test('a hover names the analysis and lists each layer of the line with its numbers and reason; none off the code', async () => {
  const d = open('resnet-hover.py', readFileSync(path.join(FIX, 'resnet.py'), 'utf8'));
  const line = lineOf(d, 'self.fc = nn.Linear(');
  const h = await hints.provideHover(d as never, new Position(line, d.lineAt(line).text.indexOf('nn.Linear')) as never) as unknown as Hover;
  const md = h.contents.value;
  assert.match(md, /resnet18\\_source\.pt → resnet18\\_target\.pt/);
  const fc = report.layers.find((l) => l.name === 'fc')!;
  assert.ok(md.includes(`\`fc\` **${fc.verdict}**`), md);
  assert.ok(md.includes(fc.reason));
  assert.deepEqual(h.contents.isTrusted, { enabledCommands: [COMMANDS.openReport] }, 'the link runs openReport and nothing else');
  assert.equal(h.range.start.character, d.lineAt(line).firstNonWhitespaceCharacterIndex);
  // In the indentation before the code, and on a line with no hint: no hover.
  assert.equal(await hints.provideHover(d as never, new Position(line, 0) as never), undefined);
  assert.equal(await hints.provideHover(d as never, new Position(lineOf(d, 'self.relu = nn.ReLU(inplace=True)'), 12) as never), undefined);
});

test('a Python file no analysis matches gets no lens and no hover, nor does any file with hints turned off', async () => {
  const plain = open('train_utils.py', 'import torch\n\ndef step(model, batch, opt):\n    x, y = batch\n    loss = torch.nn.functional.cross_entropy(model(x), y)\n    opt.zero_grad()\n    loss.backward()\n    opt.step()\n');
  assert.deepEqual(await hints.provideCodeLenses(plain as never), []);
  assert.equal(await hints.provideHover(plain as never, new Position(4, 8) as never), undefined);
  // A network, but not the analysed one (a Keras model against a ResNet analysis).
  const keras = open('keras_subclassed.py', readFileSync(path.join(FIX, 'keras_subclassed.py'), 'utf8'));
  assert.deepEqual(await hints.provideCodeLenses(keras as never), []);
  settings.set('reuseLens.hints.enabled', false);
  try {
    const d = open('resnet-off.py', readFileSync(path.join(FIX, 'resnet.py'), 'utf8'));
    assert.deepEqual(await hints.provideCodeLenses(d as never), []);
  } finally { settings.delete('reuseLens.hints.enabled'); }
});

test('a load_state_dict line: "Insert reuse plan here" inserts the plan above it, indented; "Copy plan" copies it; the summary opens the report', async () => {
  const d = open('finetune.py', [
    'import torch',
    'from resnet import resnet18',
    '',
    'def finetune():',
    '    model = resnet18(num_classes=10)',
    '    model.load_state_dict(torch.load("checkpoints/resnet18_source.pt"))',
    '    return model',
    '',
  ].join('\n'));
  const load = lineOf(d, 'load_state_dict');
  const lenses = (await hints.provideCodeLenses(d as never) as unknown as CodeLens[]).filter((l) => l.range.start.line === load);
  assert.deepEqual(lenses.map((l) => l.command.command), [HINT_COMMANDS.insertPlan, HINT_COMMANDS.copyPlan, COMMANDS.openReport]);
  assert.deepEqual(lenses.map((l) => l.command.title.split(':')[0]), ['Insert reuse plan here', 'Copy plan', 'reuse plan']);
  assert.match(lenses[2].command.title, /^reuse plan: .* — network /);
  assert.deepEqual(lenses[2].command.arguments, [ID]);
  const plan = lenses[1].command.arguments[0] as string;
  assert.match(plan, /def apply_reuse_plan\(model, source_path=/);

  await click(lenses[1].command);
  assert.equal(clipboard.at(-1), plan);

  await click(lenses[0].command);
  const lines = d.getText().split('\n');
  const planLines = plan.trimEnd().split('\n');
  assert.deepEqual(lines.slice(load, load + planLines.length), planLines.map((l) => (l ? `    ${l}` : l)), 'the plan, at the load line\'s indentation');
  assert.ok(lines[load + planLines.length + 1].includes('model.load_state_dict('), 'then the load line');
  // The edited file is mapped again: the load line moved down, its lenses with it, but it is not
  // offered a second plan; the plan's own load_state_dict line gets no lens at all.
  const again = await hints.provideCodeLenses(d as never) as unknown as CodeLens[];
  const moved = lineOf(d, 'model.load_state_dict(torch.load(');
  assert.deepEqual(again.filter((l) => l.range.start.line === moved).map((l) => l.command.command), [HINT_COMMANDS.copyPlan, COMMANDS.openReport]);
  assert.deepEqual(again.filter((l) => l.command.command === HINT_COMMANDS.insertPlan), [], 'no "Insert reuse plan here" anywhere once a plan is in the file');
  const planLoad = lineOf(d, 'model.load_state_dict(state, strict=False)');
  assert.ok(planLoad > load && planLoad < moved, 'the plan\'s own load line');
  assert.deepEqual(again.filter((l) => l.range.start.line === planLoad), []);
  assert.equal(await hints.provideHover(d as never, new Position(planLoad, 10) as never), undefined);
});

test('a click on a lens opens the report at its layer; a second click (or the hover\'s link) moves the open report to another layer', async () => {
  const d = open('resnet-click.py', readFileSync(path.join(FIX, 'resnet.py'), 'utf8'));
  const lenses = await hints.provideCodeLenses(d as never) as unknown as CodeLens[];
  const lensAt = (piece: string) => lenses.find((l) => l.range.start.line === lineOf(d, piece))!;
  const before = panelsMade.length;
  await click(lensAt('self.layer2 = self._make_layer(').command);
  assert.equal(panelsMade.length, before + 1, 'the report panel opened');
  const panel = panelsMade.at(-1)!;
  assert.match(panel.title, /resnet18_source\.pt → resnet18_target\.pt/);
  // The page loads and asks for its report: it gets it with the layer to select.
  panel.page.fire({ type: 'ready' });
  await new Promise((r) => setImmediate(r));
  const sent = panel.posted.find((m) => m.type === 'report')!;
  assert.equal(sent.analysisId, ID);
  assert.equal(sent.select, 'layer2.0.conv1', 'the first layer the line creates');
  // The page shows the report: a click elsewhere only moves it.
  await click(lensAt('self.fc = nn.Linear(').command);
  assert.deepEqual(panel.posted.at(-1), { type: 'revealLayer', layer: 'fc' });
  assert.equal(panelsMade.length, before + 1, 'no second panel');
  // The hover's "Open in report" link is a command URI with the same arguments.
  const line = lineOf(d, 'self.bn1 = self._norm_layer(self.inplanes)');
  const h = await hints.provideHover(d as never, new Position(line, 12) as never) as unknown as Hover;
  const link = /\[Open in report\]\(command:([\w.]+)\?([^)]+)\)/.exec(h.contents.value)!;
  await click({ command: link[1], arguments: JSON.parse(decodeURIComponent(link[2])) as unknown[] });
  assert.deepEqual(panel.posted.at(-1), { type: 'revealLayer', layer: 'bn1' });
});

test('a large report is sent to the panel as its first screen, then every piece without waiting for the page to acknowledge each', async () => {
  // 12,000 layers: the first 200, then pieces of 5,000.
  const big: Report = { ...report, layers: Array.from({ length: 12_000 }, (_, i) => ({ ...report.layers[i % report.layers.length], name: `block${i}.conv`, index: i })) };
  const id = 'big-analysis';
  const response: AnalyzeResponse = { report: big, analysisId: 'w2', gridsOmitted: [], durationMs: 1, files: { source: [], target: [] } };
  const store = (require('../../src/extension/analysisStore') as typeof import('../../src/extension/analysisStore')).getAnalysisStore();
  await store.cache.put(id, response);
  await store.add(id, response);
  // The workbench acknowledges the first message when the test says so, and no later one ever.
  let ackFirst!: (v: boolean) => void;
  handOver = (n) => (n === 1 ? new Promise((r) => { ackFirst = r; }) : new Promise(() => {}));
  try {
    const before = panelsMade.length;
    await vscodeStandIn.commands.executeCommand(COMMANDS.showReport, id);
    assert.equal(panelsMade.length, before + 1);
    const panel = panelsMade.at(-1)!;
    panel.page.fire({ type: 'ready' });
    const turns = async (n: number) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };
    const pieces = () => panel.posted.filter((m) => m.type === 'report' || m.type === 'reportLayers');
    await turns(5);
    assert.deepEqual(pieces().map((m) => m.type), ['report'], 'the first screen is handed over alone');
    assert.equal((pieces()[0].report as Report).layers.length, 200);
    ackFirst(true);
    await turns(10);
    assert.deepEqual(pieces().map((m) => [m.type, m.from]), [['report', undefined], ['reportLayers', 200], ['reportLayers', 5200], ['reportLayers', 10200]],
      'every piece is posted though the page acknowledged none of them');
  } finally {
    handOver = async () => true;
  }
});
