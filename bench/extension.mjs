#!/usr/bin/env node
// The extension-side targets of issue 6, measured without VS Code:
//   - activation: require('dist/extension.js') + activate(context), the extension's own work (< 50 ms);
//   - the Checkpoints view lists a workspace of 1,000 checkpoint files (~50 folders) in < 2 s,
//     without reading tensor data (no checkpoint file opened, the worker never started).
//
//   node bench/extension.mjs               (after `npm run build`)
//   options: --runs N (fresh processes per measure, default 7)  --files N (default 1000)
//            --folders N (default 50)  --dir DIR (where the workspace is written)
//            --cpu-prof (each child writes a .cpuprofile into DIR/../ext-profiles)  --json
//            --ext PATH (another build of the extension bundle, to compare a change)
//            --self-check (shows the tensor-data probes can fail: expands one checkpoint, which
//            must start the worker, and exits 1 unless that is caught)
//   exit 1 when the listing is wrong or read tensor data; timings are reported, never enforced
//   (a timing gate on a shared machine is flaky: issue 6).
//
// VS Code is NOT started. `require('vscode')` is answered by the stand-in below, which
// implements just the API surface activation and the Checkpoints view touch, as cheaply as it
// can; any other vscode.X the extension touches throws, so the stand-in cannot silently lie.
// What is measured is therefore the extension's own work: VS Code's own overhead (extension
// host start, loading the module from its own loader, rendering the tree, its search service)
// is not in these numbers. The one exception is findFiles: the stand-in walks the file system
// itself (a plain recursive readdir + glob-to-RegExp matching of include/exclude, since
// fs.globSync is not in Node 20); its time is reported on a separate line so the extension's
// share can be told apart.
//
// Each measure runs in fresh child processes (`--child activate|list`), median reported, so
// module loading is measured cold every time, as in a new extension host.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib/measure.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const flag = (name) => argv.includes(name);
// --ext PATH: another build of the extension bundle (to compare a change, as run.mjs --cli).
const DIST = opt('--ext', join(ROOT, 'dist/extension.js'));
const ACTIVATION_TARGET_MS = 50;
const LISTING_TARGET_MS = 2000;


if (opt('--child')) await child(opt('--child'), opt('--workspace'));
else await parent();

// ==== parent: the workspace, the child runs, the table ========================================

async function parent() {
  if (!existsSync(DIST)) { process.stderr.write('dist/extension.js is missing: run `npm run build` first\n'); process.exit(1); }
  const runs = Number(opt('--runs', 7));
  const nFiles = Number(opt('--files', 1000));
  const nFolders = Number(opt('--folders', 50));
  const dir = opt('--dir', join(tmpdir(), 'reuse-lens-bench', `ext-workspace-${nFiles}`));
  const profDir = flag('--cpu-prof') ? join(dirname(dir), 'ext-profiles') : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const ws = writeWorkspace(dir, nFiles, nFolders);

  const runChild = (mode) => {
    const args = [...(profDir ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profDir] : []), fileURLToPath(import.meta.url),
      '--child', mode, '--workspace', dir, '--ext', DIST];
    const env = { ...process.env, ...(flag('--self-check') ? { REUSE_LENS_BENCH_EXPAND_ONE: '1' } : {}) };
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20, env });
    if (r.status !== 0) throw new Error(`child ${mode} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const act = [], list = [];
  // Alternate the two measures so that a busy moment on a shared machine spreads over both.
  for (let i = 0; i < runs; i++) { act.push(runChild('activate')); list.push(runChild('list')); }

  const m = (xs, k) => median(xs.map((x) => x[k]));
  const activationMs = m(act, 'activationMs');
  const listingMs = m(list, 'listedMs');
  const problems = [];
  for (const r of list) {
    if (r.filesListed !== ws.expected) problems.push(`listed ${r.filesListed} checkpoint files, expected ${ws.expected}`);
    if (r.checkpointOpens.length) problems.push(`opened checkpoint files while listing: ${r.checkpointOpens.slice(0, 3).join(', ')}`);
    if (r.workerStarts) problems.push('started the worker while listing');
    if (r.missingApi.length) problems.push(`touched vscode API the stand-in lacks: ${r.missingApi.join(', ')}`);
  }
  for (const r of act) if (r.missingApi.length) problems.push(`touched vscode API the stand-in lacks: ${r.missingApi.join(', ')}`);
  const ok = (x, t) => (x < t ? 'met' : '**missed**');
  const ms = (x) => `${x.toFixed(x < 100 ? 1 : 0)} ms`;
  const maxRead = Math.max(...list.map((r) => r.bytesReadWhileListing));

  const lines = [];
  lines.push(`Extension (stand-in \`vscode\` API, no VS Code: the extension's own work, not VS Code's overhead). `
    + `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; median of ${runs} fresh processes each; `
    + `workspace: ${ws.expected} checkpoint files (${ws.kinds}) in ${ws.folders} folders, plus ${ws.decoys} files the exclude globs hide.`);
  lines.push('');
  lines.push('| Measure | Measured | Target | |');
  lines.push('|---|---:|---:|---|');
  lines.push(`| activation: require(${relative(ROOT, DIST)}) + activate() | ${ms(activationMs)} | < ${ACTIVATION_TARGET_MS} ms | ${ok(activationMs, ACTIVATION_TARGET_MS)} |`);
  lines.push(`| … of which require (load + top-level code of the bundle) | ${ms(m(act, 'requireMs'))} | | |`);
  lines.push(`| … of which activate() | ${ms(m(act, 'activateMs'))} | | |`);
  lines.push(`| Checkpoints view: activation start → root and all ${ws.folders} folders' children and tree items returned | ${ms(listingMs)} | < ${LISTING_TARGET_MS} ms | ${ok(listingMs, LISTING_TARGET_MS)} |`);
  lines.push(`| … of which the stand-in's findFiles (a file-system walk; VS Code's search service in real life) | ${ms(m(list, 'findFilesMs'))} (${list[0].findFilesCalls} calls) | | |`);
  lines.push(`| … of which the extension's own work (the rest) | ${ms(median(list.map((r) => r.listedMs - r.findFilesMs)))} | | |`);
  lines.push(`| tensor data read while listing (checkpoint files opened / bytes read by the process / worker started) | `
    + `${Math.max(...list.map((r) => r.checkpointOpens.length))} / ${(maxRead / 1024).toFixed(0)} KB / ${list.some((r) => r.workerStarts) ? 'yes' : 'no'} | 0 / ≪ ${(ws.bytes / 2 ** 20).toFixed(0)} MB of checkpoints / no | ${problems.length ? '**failed**' : 'met'} |`);
  process.stdout.write(lines.join('\n') + '\n');
  if (profDir) process.stdout.write(`\nCPU profiles: ${profDir}\n`);
  if (flag('--json')) process.stdout.write(JSON.stringify({ act, list, workspace: ws }, null, 1) + '\n');
  if (flag('--self-check')) {
    const caught = problems.some((p) => p.includes('started the worker'));
    process.stderr.write(caught ? 'self-check ok: expanding a checkpoint was caught as reading tensor data\n' : 'self-check FAILED: the probes did not notice the worker\n');
    process.exit(caught ? 0 : 1);
  }
  if (problems.length) {
    process.stderr.write(`FAIL:\n  ${[...new Set(problems)].join('\n  ')}\n`);
    process.exit(1);
  }
}

/**
 * nFiles small real checkpoints (copies of committed fixtures, safetensors and torch zip .pt)
 * spread over nFolders folders at two depths, with non-checkpoint files beside them and
 * checkpoints under node_modules/.git/.venv that the default exclude must hide.
 */
function writeWorkspace(dir, nFiles, nFolders) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const fixtures = [
    ['test/fixtures/pairs/source.safetensors', 'safetensors'],
    ['test/fixtures/pairs/source.pt', 'pt'],
    ['test/fixtures/safetensors/conv_bn_linear.safetensors', 'safetensors'],
    ['test/fixtures/pytorch/conv_net.pt', 'pt'],
    ['test/fixtures/pytorch/checkpoint.pth', 'pth'],
    ['test/fixtures/pytorch/model_ema_legacy.ckpt', 'ckpt'],
  ].map(([p, ext]) => ({ path: join(ROOT, p), ext, size: readFileSync(join(ROOT, p)).length }));
  let bytes = 0;
  const folders = [];
  for (let i = 0; i < nFolders; i++) {
    const d = i % 2 === 0 ? join(dir, 'runs', `exp_${String(i).padStart(3, '0')}`, 'checkpoints') : join(dir, 'models', `model_${String(i).padStart(3, '0')}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'train.log'), 'epoch 1 loss 0.5\n');
    writeFileSync(join(d, 'config.yaml'), 'lr: 0.001\n');
    folders.push(d);
  }
  for (let k = 0; k < nFiles; k++) {
    const fx = fixtures[k % fixtures.length];
    const d = folders[k % nFolders];
    copyFileSync(fx.path, join(d, `epoch_${String(Math.floor(k / nFolders)).padStart(4, '0')}.${fx.ext}`));
    bytes += fx.size;
  }
  const decoys = ['node_modules/pkg/weights.pt', '.git/objects/model.safetensors', '.venv/lib/site/model.pth', 'runs/venv/x.safetensors'];
  for (const p of decoys) { mkdirSync(dirname(join(dir, p)), { recursive: true }); copyFileSync(fixtures[0].path, join(dir, p)); }
  writeFileSync(join(dir, 'train.py'), 'import torch\n');
  const kinds = [...new Set(fixtures.map((f) => `.${f.ext}`))].join(', ');
  return { dir, expected: nFiles, folders: nFolders, decoys: decoys.length, bytes, kinds };
}

// ==== child: one fresh process, one measure ====================================================

async function child(mode, workspace) {
  const require = createRequire(import.meta.url);
  const probes = installProbes(workspace);
  const stand = makeVscode(workspace);
  installVscode(require, stand.api);
  const context = makeContext(stand.api);

  // Everything above is the harness; from here on, the extension's own work (and stand-in calls).
  const t0 = performance.now();
  const ext = require(DIST);
  const t1 = performance.now();
  ext.activate(context);
  const t2 = performance.now();
  const out = { requireMs: t1 - t0, activateMs: t2 - t1, activationMs: t2 - t0, missingApi: stand.missing };

  if (mode === 'list') {
    const provider = stand.trees.get('reuseLens.checkpoints');
    if (!provider) throw new Error('activate() registered no tree for reuseLens.checkpoints');
    const readAtStart = probes.bytesRead();
    // As VS Code does it: root children, then each (Expanded) folder's children, and a TreeItem
    // for every node shown. getTreeItem of a file must not wait for an inspect (it only peeks).
    const roots = await provider.getChildren(undefined);
    const perFolder = await Promise.all(roots.map(async (r) => {
      await provider.getTreeItem(r);
      const kids = await provider.getChildren(r);
      await Promise.all(kids.map((k) => provider.getTreeItem(k)));
      return kids.length;
    }));
    const t3 = performance.now();
    if (process.env.REUSE_LENS_BENCH_EXPAND_ONE) {
      // --self-check: expanding a file inspects it in the worker; the probes must see that.
      const folder = roots[0];
      const [file] = await provider.getChildren(folder);
      await provider.getChildren(file);
    }
    Object.assign(out, {
      listedMs: t3 - t0, folders: roots.length, filesListed: perFolder.reduce((a, b) => a + b, 0),
      findFilesMs: stand.findFiles.ms, findFilesCalls: stand.findFiles.calls,
      bytesReadWhileListing: probes.bytesRead() - readAtStart, checkpointOpens: probes.opens, workerStarts: probes.forks,
    });
  }
  ext.deactivate?.();
  for (const d of context.subscriptions) try { d.dispose(); } catch { /* best effort */ }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

/**
 * Watches for tensor data being read: opens of any file inside the workspace through node:fs
 * (the stand-in's own walk only lists directories), worker processes forked, and the bytes the
 * whole process reads (/proc/self/io rchar; directory listings are not counted there).
 */
function installProbes(workspace) {
  const require = createRequire(import.meta.url);
  const fs = require('node:fs');
  const cp = require('node:child_process');
  const opens = [];
  const inWs = (p) => typeof p === 'string' && p.startsWith(workspace + sep);
  const wrap = (obj, name) => {
    const orig = obj[name];
    obj[name] = function (p, ...rest) { if (inWs(String(p))) opens.push(`${name}(${relative(workspace, String(p))})`); return orig.call(this, p, ...rest); };
  };
  for (const n of ['open', 'openSync', 'readFile', 'readFileSync', 'createReadStream']) wrap(fs, n);
  for (const n of ['open', 'readFile']) wrap(fs.promises, n);
  const probe = { opens, forks: 0, bytesRead: () => {
    try { return Number(/rchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]); } catch { return 0; }
  } };
  for (const n of ['fork', 'spawn', 'execFile']) {
    const orig = cp[n];
    cp[n] = function (...a) { probe.forks++; return orig.apply(this, a); };
  }
  return probe;
}

/** Makes require('vscode') (from the bundle, which marks it external) return the stand-in. */
function installVscode(require, api) {
  const Module = require('node:module');
  const id = join(ROOT, 'bench', '__vscode_stand_in__.js');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) { return request === 'vscode' ? id : resolve.call(this, request, ...rest); };
  const m = new Module(id);
  m.filename = id;
  m.exports = api;
  m.loaded = true;
  require.cache[id] = m;
}

function makeContext(api) {
  const storage = mkdtempSync(join(tmpdir(), 'reuse-lens-ext-bench-'));
  process.on('exit', () => rmSync(storage, { recursive: true, force: true }));
  const memento = () => {
    const m = new Map();
    return { get: (k, d) => (m.has(k) ? m.get(k) : d), update: async (k, v) => { m.set(k, v); }, keys: () => [...m.keys()], setKeysForSync: () => {} };
  };
  return {
    subscriptions: [],
    workspaceState: memento(),
    globalState: memento(),
    extensionPath: ROOT,
    extensionUri: api.Uri.file(ROOT),
    globalStorageUri: api.Uri.file(join(storage, 'global')),
    storageUri: api.Uri.file(join(storage, 'workspace')),
    logUri: api.Uri.file(join(storage, 'log')),
    extensionMode: 1,
    asAbsolutePath: (p) => join(ROOT, p),
  };
}

// ==== the stand-in vscode API ==================================================================

/** The part of the `vscode` module the extension uses at activation and in the Checkpoints view. */
function makeVscode(workspaceDir) {
  const missing = [];
  const trees = new Map();
  const commands = new Map();
  const contextKeys = new Map();
  const findFiles = { ms: 0, calls: 0 };
  const noop = () => {};

  class Disposable {
    constructor(fn) { this._fn = fn; }
    dispose() { const f = this._fn; this._fn = undefined; f?.(); }
    static from(...ds) { return new Disposable(() => { for (const d of ds) d?.dispose?.(); }); }
  }
  class EventEmitter {
    constructor() { this._l = new Set(); this.event = (fn, thisArg, subs) => { const l = (e) => fn.call(thisArg, e); this._l.add(l); const d = new Disposable(() => this._l.delete(l)); subs?.push(d); return d; }; }
    fire(e) { for (const l of [...this._l]) l(e); }
    dispose() { this._l.clear(); }
  }
  const never = new EventEmitter().event;
  class Uri {
    constructor(scheme, path) { this.scheme = scheme; this.authority = ''; this.path = path; this.query = ''; this.fragment = ''; }
    get fsPath() { return this.path; }
    static file(p) { return new Uri('file', p); }
    static parse(s) { const m = /^([a-z][\w+.-]*):(?:\/\/[^/]*)?(.*)$/i.exec(s); return m ? new Uri(m[1], decodeURIComponent(m[2])) : new Uri('file', s); }
    static joinPath(u, ...parts) { return new Uri(u.scheme, join(u.path, ...parts)); }
    with(c) { const u = new Uri(c.scheme ?? this.scheme, c.path ?? this.path); return u; }
    toString() { return `${this.scheme}://${encodeURI(this.path)}`; }
    toJSON() { return { scheme: this.scheme, path: this.path }; }
  }
  class ThemeIcon { constructor(id, color) { this.id = id; this.color = color; } }
  ThemeIcon.File = new ThemeIcon('file');
  ThemeIcon.Folder = new ThemeIcon('folder');
  class ThemeColor { constructor(id) { this.id = id; } }
  class TreeItem { constructor(label, collapsibleState = 0) { this.label = label; this.collapsibleState = collapsibleState; } }
  class MarkdownString { constructor(value = '') { this.value = value; } appendMarkdown(s) { this.value += s; return this; } appendText(s) { this.value += s; return this; } }
  class RelativePattern {
    constructor(base, pattern) { this.baseUri = typeof base === 'string' ? Uri.file(base) : base.uri ?? base; this.base = this.baseUri.fsPath; this.pattern = pattern; }
  }
  class Position { constructor(line, character) { this.line = line; this.character = character; } }
  class Range {
    constructor(a, b, c, d) { [this.start, this.end] = typeof a === 'number' ? [new Position(a, b), new Position(c, d)] : [a, b]; }
    contains(p) { const q = p.start ?? p; return (q.line > this.start.line || (q.line === this.start.line && q.character >= this.start.character)) && (q.line < this.end.line || (q.line === this.end.line && q.character <= this.end.character)); }
  }
  class Hover { constructor(contents, range) { this.contents = contents; this.range = range; } }
  class CodeLens { constructor(range, command) { this.range = range; this.command = command; } }
  class CancellationTokenSource {
    constructor() { const e = new EventEmitter(); this._e = e; this.token = { isCancellationRequested: false, onCancellationRequested: e.event }; }
    cancel() { if (!this.token.isCancellationRequested) { this.token.isCancellationRequested = true; this._e.fire(); } }
    dispose() { this._e.dispose(); }
  }

  // Settings: the defaults declared in package.json, as VS Code would give them.
  const defaults = {};
  const props = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).contributes?.configuration?.properties ?? {};
  for (const [k, v] of Object.entries(props)) defaults[k] = v.default;
  const getConfiguration = (section = '') => ({
    get: (key, dflt) => { const v = defaults[section ? `${section}.${key}` : key]; return v === undefined ? dflt : structuredClone(v); },
    has: (key) => (section ? `${section}.${key}` : key) in defaults,
    inspect: (key) => ({ key, defaultValue: defaults[section ? `${section}.${key}` : key] }),
    update: async () => {},
  });

  const logChannel = (name) => {
    const lines = [];
    const put = (lvl) => (m) => { lines.push(`[${lvl}] ${m}`); if (process.env.REUSE_LENS_BENCH_VERBOSE) process.stderr.write(`${name} [${lvl}] ${m}\n`); };
    return { name, logLevel: 2, onDidChangeLogLevel: never, lines, trace: put('trace'), debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error'),
      append: noop, appendLine: put('line'), replace: noop, clear: noop, show: noop, hide: noop, dispose: noop };
  };

  const workspaceFolders = [{ uri: Uri.file(workspaceDir), name: 'bench', index: 0 }];
  const api = {
    Uri, EventEmitter, Disposable, ThemeIcon, ThemeColor, TreeItem, MarkdownString, RelativePattern, Position, Range, Hover, CodeLens, CancellationTokenSource,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ViewColumn: { Active: -1, Beside: -2, One: 1, Two: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    FileType: { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 },
    window: {
      createTreeView: (id, opts) => { trees.set(id, opts.treeDataProvider); return { visible: true, selection: [], reveal: async () => {}, onDidChangeSelection: never, onDidChangeVisibility: never, onDidExpandElement: never, onDidCollapseElement: never, dispose: noop }; },
      registerTreeDataProvider: (id, p) => { trees.set(id, p); return new Disposable(noop); },
      createOutputChannel: (name) => logChannel(name),
      createStatusBarItem: () => ({ text: '', show: noop, hide: noop, dispose: noop }),
      registerCustomEditorProvider: () => new Disposable(noop),
      registerWebviewPanelSerializer: () => new Disposable(noop),
      showInformationMessage: async () => undefined,
      showWarningMessage: async () => undefined,
      showErrorMessage: async () => undefined,
      setStatusBarMessage: () => new Disposable(noop),
    },
    commands: {
      registerCommand: (id, fn) => { commands.set(id, fn); return new Disposable(() => commands.delete(id)); },
      executeCommand: async (id, ...args) => {
        if (id === 'setContext') { contextKeys.set(args[0], args[1]); return undefined; }
        const fn = commands.get(id);
        if (!fn) throw new Error(`command '${id}' not found`);
        return fn(...args);
      },
      getCommands: async () => [...commands.keys()],
    },
    workspace: {
      workspaceFolders,
      isTrusted: true,
      getConfiguration,
      onDidChangeConfiguration: never,
      onDidChangeWorkspaceFolders: never,
      createFileSystemWatcher: () => ({ onDidCreate: never, onDidChange: never, onDidDelete: never, dispose: noop }),
      findFiles: async (include, exclude, maxResults = Infinity) => {
        const t = performance.now();
        findFiles.calls++;
        try { return walkFind(include, exclude, maxResults, workspaceFolders, Uri); } finally { findFiles.ms += performance.now() - t; }
      },
    },
    languages: {
      registerCodeLensProvider: () => new Disposable(noop),
      registerHoverProvider: () => new Disposable(noop),
    },
  };
  // Anything not implemented throws (and is reported), so the numbers never come from a stand-in
  // that skipped part of the extension's work without anyone noticing.
  const strict = (obj, prefix) => new Proxy(obj, {
    get(target, key) {
      if (key in target || typeof key === 'symbol' || key === 'then' || key === '__esModule' || key === 'default' || key === 'toJSON') return target[key];
      missing.push(`${prefix}${String(key)}`);
      throw new Error(`the stand-in vscode API lacks ${prefix}${String(key)}`);
    },
  });
  for (const ns of ['window', 'commands', 'workspace', 'languages']) api[ns] = strict(api[ns], `vscode.${ns}.`);
  return { api: strict(api, 'vscode.'), trees, commands, contextKeys, findFiles, missing };
}

/**
 * findFiles over the real file system: a recursive walk of each workspace folder, keeping files
 * whose folder-relative path matches `include` and not `exclude` (strings or RelativePatterns),
 * pruning folders an exclude of the form `…/**` covers. No files.exclude/search.exclude/.gitignore
 * (VS Code applies those too; they would only make the real walk smaller).
 */
function walkFind(include, exclude, maxResults, folders, Uri) {
  const fs = createRequire(import.meta.url)('node:fs');
  const asPattern = (g) => (g == null ? undefined : typeof g === 'string' ? { base: undefined, re: globToRegExp(g) } : { base: g.baseUri?.fsPath ?? g.base, re: globToRegExp(g.pattern) });
  const inc = asPattern(include);
  const exc = asPattern(exclude);
  const out = [];
  for (const f of folders) {
    const root = inc.base ?? f.uri.fsPath;
    const stack = [root];
    while (stack.length && out.length < maxResults) {
      const d = stack.pop();
      let entries;
      try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { continue; }
      for (const e of entries) {
        const abs = join(d, e.name);
        const rel = relative(root, abs).split(sep).join('/');
        let isDir = e.isDirectory();
        if (e.isSymbolicLink()) { try { isDir = fs.statSync(abs).isDirectory(); } catch { continue; } }
        if (isDir) {
          if (!(exc && exc.re.test(`${rel}/\u0000`))) stack.push(abs);
        } else if (inc.re.test(rel) && !(exc && exc.re.test(rel))) {
          out.push(Uri.file(abs));
          if (out.length >= maxResults) break;
        }
      }
    }
  }
  return out;
}

/** A glob (`**`, `*`, `?`, `{a,b}` nested, `[...]`) as an anchored RegExp over '/'-separated paths. */
function globToRegExp(glob) {
  let i = 0;
  const parse = (inBrace) => {
    let s = '';
    const alts = [];
    while (i < glob.length) {
      const c = glob[i];
      if (c === '*' && glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/' || glob[i - 1] === '{' || glob[i - 1] === ',';
        i += 2;
        if (atStart && glob[i] === '/') { i++; s += '(?:[^/]*/)*'; } else s += '.*';
      } else if (c === '*') { i++; s += '[^/]*'; }
      else if (c === '?') { i++; s += '[^/]'; }
      else if (c === '{') { i++; s += `(?:${parse(true)})`; }
      else if (c === '}' && inBrace) { i++; alts.push(s); return alts.join('|'); }
      else if (c === ',' && inBrace) { i++; alts.push(s); s = ''; }
      else if (c === '[') { const j = glob.indexOf(']', i + 1); if (j < 0) { s += '\\['; i++; } else { s += glob.slice(i, j + 1).replace(/^\[!/, '[^'); i = j + 1; } }
      else { s += c.replace(/[.+^$()|\\]/g, '\\$&'); i++; }
    }
    alts.push(s);
    return alts.join('|');
  };
  // The \u0000 probe in walkFind stands for "anything inside this folder", so `/**` may match it.
  return new RegExp(`^(?:${parse(false)})$`, 's');
}
