// The search for checkpoints honours the user's files.exclude together with reuseLens.exclude.
// VS Code's `workspace.findFiles(include, exclude)` applies files.exclude only when `exclude` is
// undefined: any other value replaces it. The CheckpointIndex runs here against a stand-in for
// the `vscode` module whose findFiles walks a real temporary folder with those documented
// semantics, and whose glob reads one level of braces (VS Code's parser ends a group at its
// first `}`, so a nested group would silently exclude the wrong files: the stand-in throws).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { combineExcludes, enabledPatterns, expandBraces, MAX_ALTERNATIVES } from '../../src/extension/model/searchExcludes';
import { installVscodeStandIn } from './helpers/vscodeStandIn';

// ---- a glob matcher with VS Code's reading of globs (one level of braces) ----

function globToRegExp(glob: string): RegExp {
  let re = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      const body = glob.slice(i + 1, end);
      re += '[' + (body.startsWith('!') ? '^' + body.slice(1) : body).replace(/[\\\]]/g, '\\$&') + ']';
      i = end;
    } else if (ch === '{') {
      if (inBraces) throw new Error(`nested braces in ${glob}: VS Code's glob parser ends the group at the first "}"`);
      inBraces = true;
      re += '(?:';
    } else if (ch === '}' && inBraces) { inBraces = false; re += ')'; }
    else if (ch === ',' && inBraces) re += '|';
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  if (inBraces) throw new Error(`unclosed brace in ${glob}`);
  return new RegExp(`^${re}$`);
}

/** Excluding a folder excludes what is in it: the search does not enter it. */
function excludedBy(res: RegExp[], rel: string): boolean {
  const parts = rel.split('/');
  for (let n = 1; n <= parts.length; n++) if (res.some((r) => r.test(parts.slice(0, n).join('/')))) return true;
  return false;
}

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out;
}

// ---- the stand-in `vscode` module ----

type Listener<T> = (e: T) => unknown;
class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (l: Listener<T>) => { this.listeners.add(l); return { dispose: () => this.listeners.delete(l) }; };
  fire(e: T): void { for (const l of [...this.listeners]) l(e); }
  dispose(): void { this.listeners.clear(); }
}
interface FakeUri { scheme: string; fsPath: string; path: string }
const Uri = { file: (p: string): FakeUri => ({ scheme: 'file', fsPath: p, path: p }) };
interface FakeFolder { uri: FakeUri; name: string; index: number }
class RelativePattern { constructor(readonly base: FakeFolder, readonly pattern: string) {} }

/** Settings: '' holds the user/workspace values, a folder path that folder's own. Keys are full ('files.exclude'). */
const settings = new Map<string, Record<string, unknown>>([['', {}]]);
const folders: FakeFolder[] = [];
const findFilesCalls: { include: string; exclude: string | null | undefined }[] = [];
let findFilesGate: Promise<void> = Promise.resolve();
const configChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

function setting(key: string, folder?: string): unknown {
  const own = folder !== undefined ? settings.get(folder)?.[key] : undefined;
  return own !== undefined ? own : settings.get('')![key];
}

/** Changes a setting (for all folders, or one) and tells listeners, as VS Code does. */
function updateSetting(key: string, value: unknown, folder = ''): void {
  const s = settings.get(folder) ?? {};
  s[key] = value;
  settings.set(folder, s);
  configChanged.fire({ affectsConfiguration: (section) => key === section || key.startsWith(section + '.') || section.startsWith(key + '.') });
}

const vscodeStandIn = {
  EventEmitter, Uri, RelativePattern,
  Disposable: class { constructor(private readonly f: () => void) {} dispose(): void { this.f(); } },
  workspace: {
    get workspaceFolders() { return folders.length ? folders : undefined; },
    getConfiguration(section: string, scope?: FakeUri) {
      return { get: <T>(key: string): T | undefined => setting(`${section}.${key}`, scope?.fsPath) as T | undefined };
    },
    onDidChangeConfiguration: configChanged.event,
    createFileSystemWatcher() {
      const none = () => ({ dispose() {} });
      return { onDidCreate: none, onDidDelete: none, onDidChange: none, dispose() {} };
    },
    async findFiles(include: string | RelativePattern, exclude?: string | null, maxResults?: number): Promise<FakeUri[]> {
      await findFilesGate;
      const pattern = typeof include === 'string' ? include : include.pattern;
      findFilesCalls.push({ include: pattern, exclude });
      const inFolders = typeof include === 'string' ? folders : [include.base];
      const out: FakeUri[] = [];
      for (const f of inFolders) {
        // The documented semantics: undefined -> the folder's files.exclude; null -> nothing; a glob -> only it.
        const excludes = exclude === undefined ? enabledPatterns(setting('files.exclude', f.uri.fsPath)).map(globToRegExp)
          : exclude === null ? [] : [globToRegExp(exclude)];
        const inc = globToRegExp(pattern);
        for (const rel of walk(f.uri.fsPath)) {
          if (inc.test(rel) && !excludedBy(excludes, rel)) out.push(Uri.file(path.join(f.uri.fsPath, ...rel.split('/'))));
        }
      }
      return out.slice(0, maxResults);
    },
  },
  window: {
    createOutputChannel: () => ({ info() {}, warn() {}, error() {}, trace() {}, debug() {}, show() {}, dispose() {} }),
    showWarningMessage: async () => undefined,
  },
  commands: { executeCommand: async () => undefined },
};

installVscodeStandIn(vscodeStandIn, 'excludes');

// Loaded after the stand-in is in place.
const { CheckpointIndex } = require('../../src/extension/checkpointIndex') as typeof import('../../src/extension/checkpointIndex');
const { DEFAULT_EXCLUDE } = require('../../src/extension/settings') as typeof import('../../src/extension/settings');
type Index = InstanceType<typeof CheckpointIndex>;

// ---- a workspace on disk ----

const tmp = mkdtempSync(path.join(os.tmpdir(), 'reuse-lens-excludes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function workspace(name: string, files: string[]): FakeFolder {
  const root = path.join(tmp, name);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), 'x');
  }
  return { uri: Uri.file(root), name, index: folders.length };
}

/** A fresh index over the given folders and settings; the listing relative to the first folder. */
async function openIndex(fs: FakeFolder[], values: Record<string, unknown>): Promise<{ index: Index; listed: () => Promise<string[]> }> {
  folders.splice(0, folders.length, ...fs);
  settings.clear();
  settings.set('', { ...values });
  const index = new CheckpointIndex({} as never);
  const listed = async () => (await index.list()).map((p) => path.relative(fs[0].uri.fsPath, p).split(path.sep).join('/')).sort();
  return { index, listed };
}

/** Resolves once the index has listed `times` more times. */
function nextListing(index: Index, times = 1, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => { sub.dispose(); reject(new Error(`${seen} re-listing(s) within ${ms} ms, expected ${times}`)); }, ms);
    const sub = index.onDidChange((file) => {
      if (file === undefined && ++seen === times) { clearTimeout(timer); sub.dispose(); resolve(); }
    });
  });
}

const FILES = [
  'runs/a.pt', 'runs/b.safetensors', 'hidden/c.pt', 'scratch/d.pt', 'node_modules/pkg/e.pt', '.venv/lib/f.pt',
  'tmp/g.ckpt', 'maybe/h.pt', 'off/i.pt', 'notes/readme.md',
];

// ---- the CheckpointIndex with the stand-in ----

test('a checkpoint hidden by files.exclude is not listed in the Checkpoints view', async () => {
  const ws = workspace('one', FILES);
  const { index, listed } = await openIndex([ws], { 'files.exclude': { '**/.git': true, '**/hidden': true } });
  try {
    const files = await listed();
    assert.ok(!files.includes('hidden/c.pt'), `files.exclude hides hidden/: ${files.join(', ')}`);
    assert.ok(files.includes('runs/a.pt') && files.includes('runs/b.safetensors'), `the rest is listed: ${files.join(', ')}`);
    // reuseLens.exclude (its default here) still applies alongside.
    assert.ok(!files.includes('node_modules/pkg/e.pt') && !files.includes('.venv/lib/f.pt'), `reuseLens.exclude's default still applies: ${files.join(', ')}`);
    for (const c of findFilesCalls) assert.notEqual(c.exclude, undefined, 'the search passes an explicit exclude (reuseLens.exclude must apply too)');
  } finally { index.dispose(); }
});

test('a checkpoint hidden by reuseLens.exclude is not listed, with files.exclude in force as well', async () => {
  const ws = workspace('two', FILES);
  const { index, listed } = await openIndex([ws], {
    'reuseLens.exclude': ['**/scratch/**', '**/{node_modules,.venv}/**', 'tmp/*.{ckpt,pt}'],
    'files.exclude': { '**/hidden': true },
  });
  try {
    const files = await listed();
    for (const hidden of ['scratch/d.pt', 'node_modules/pkg/e.pt', '.venv/lib/f.pt', 'tmp/g.ckpt', 'hidden/c.pt']) {
      assert.ok(!files.includes(hidden), `${hidden} is excluded: ${files.join(', ')}`);
    }
    assert.deepEqual(files, ['maybe/h.pt', 'off/i.pt', 'runs/a.pt', 'runs/b.safetensors']);
  } finally { index.dispose(); }
});

test('files.exclude entries set to false, or with a "when" clause, hide nothing', async () => {
  const ws = workspace('three', FILES);
  const { index, listed } = await openIndex([ws], { 'files.exclude': { '**/off': false, '**/maybe': { when: '$(basename).py' }, '**/hidden': true } });
  try {
    const files = await listed();
    assert.ok(files.includes('off/i.pt') && files.includes('maybe/h.pt'), files.join(', '));
    assert.ok(!files.includes('hidden/c.pt'), files.join(', '));
  } finally { index.dispose(); }
});

test('changing files.exclude re-lists the checkpoints', async () => {
  const ws = workspace('four', FILES);
  const { index, listed } = await openIndex([ws], { 'files.exclude': { '**/.git': true } });
  try {
    assert.ok((await listed()).includes('runs/a.pt'));
    const relisted = nextListing(index);
    updateSetting('files.exclude', { '**/.git': true, '**/runs': true });
    await relisted;
    const hidden = await listed();
    assert.ok(!hidden.includes('runs/a.pt') && !hidden.includes('runs/b.safetensors'), `runs/ hidden after the change: ${hidden.join(', ')}`);
    const back = nextListing(index);
    updateSetting('files.exclude', { '**/.git': true });
    await back;
    assert.ok((await listed()).includes('runs/a.pt'), 'and listed again once the entry is removed');
  } finally { index.dispose(); }
});

test('a change of files.exclude during a scan is not lost: another scan follows with the new value', async () => {
  const ws = workspace('five', FILES);
  const { index, listed } = await openIndex([ws], { 'files.exclude': {} });
  let open!: () => void;
  findFilesGate = new Promise((r) => { open = r; });
  try {
    const both = nextListing(index, 2);
    void index.scan(); // held at the gate, with the old settings read
    updateSetting('files.exclude', { '**/runs': true });
    open();
    await both; // the scan that was running, then one with the new value
    assert.ok(!(await listed()).includes('runs/a.pt'), 'the newer files.exclude wins');
  } finally { findFilesGate = Promise.resolve(); index.dispose(); }
});

test('with the default settings, TFLite models and bare TF.js weights manifests are listed; the manifests\' shards and other JSON are not', async () => {
  const ws = workspace('published', ['mediapipe/selfie_segmentation.tflite', 'face/face_landmark_68_model-weights_manifest.json',
    'face/face_landmark_68_model.bin', 'face/group1-shard1of1.bin', 'face/package.json', 'tfjs/model.json', 'tfjs/group1-shard1of2.bin']);
  const { index, listed } = await openIndex([ws], {});
  try {
    assert.deepEqual(await listed(), ['face/face_landmark_68_model-weights_manifest.json', 'mediapipe/selfie_segmentation.tflite', 'tfjs/model.json']);
  } finally { index.dispose(); }
});

test('in a multi-root workspace each folder\'s own files.exclude applies to that folder', async () => {
  const a = workspace('multi-a', ['x/a.pt', 'y/b.pt']);
  const b = workspace('multi-b', ['x/c.pt', 'y/d.pt']);
  const { index } = await openIndex([a, b], {});
  settings.set(a.uri.fsPath, { 'files.exclude': { x: true } });
  settings.set(b.uri.fsPath, { 'files.exclude': { y: true } });
  try {
    await index.scan();
    const files = (await index.list()).map((p) => path.relative(tmp, p).split(path.sep).join('/')).sort();
    assert.deepEqual(files, ['multi-a/y/b.pt', 'multi-b/x/c.pt']);
  } finally { index.dispose(); }
});

// ---- the glob (pure) ----

test('only entries set to true count from files.exclude', () => {
  assert.deepEqual(enabledPatterns({ '**/.git': true, '**/off': false, '**/*.js': { when: '$(basename).ts' }, '': true }), ['**/.git']);
  assert.deepEqual(enabledPatterns(undefined), []);
  assert.deepEqual(enabledPatterns(['**/x']), []);
});

test('braces expand, nested ones too; unbalanced ones and explosive ones are refused', () => {
  assert.deepEqual(expandBraces('**/{node_modules,.git}/**'), ['**/node_modules/**', '**/.git/**']);
  assert.deepEqual(expandBraces('a{b,c{d,e}}f'), ['abf', 'acdf', 'acef']);
  assert.deepEqual(expandBraces('*.{pt,pth}.{tmp,bak}'), ['*.pt.tmp', '*.pt.bak', '*.pth.tmp', '*.pth.bak']);
  assert.deepEqual(expandBraces('plain/**'), ['plain/**']);
  assert.equal(expandBraces('a{b,c'), undefined);
  assert.equal(expandBraces('a}b'), undefined);
  assert.equal(expandBraces('[{]x'), undefined);
  assert.equal(expandBraces('{a,b}'.repeat(9)), undefined, `2^9 > ${MAX_ALTERNATIVES}`);
  assert.equal(expandBraces('{a,b}'.repeat(8))!.length, 256);
});

test('the combined exclude is one brace group VS Code reads as meant', () => {
  const { glob, skipped } = combineExcludes(DEFAULT_EXCLUDE, ['**/.git', '**/build/', '**/a,b', 'odd{', '**/[,x]y']);
  assert.deepEqual(skipped, ['odd{']);
  assert.equal(glob, '{**/node_modules/**,**/.git/**,**/.venv/**,**/venv/**,**/.git,**/build,**/a[,]b,**/[,x]y}');
  const re = globToRegExp(glob!); // throws on nested braces
  for (const p of ['node_modules/x/y.pt', 'src/.git', 'out/build', 'q/a,b', 'q/xy', 'q/,y']) assert.ok(re.test(p), p);
  for (const p of ['runs/a.pt', 'q/a', 'q/b', 'q/zy']) assert.ok(!re.test(p), p);
  assert.deepEqual(combineExcludes([], []), { glob: null, skipped: [] }, 'nothing to exclude: null (undefined would mean files.exclude alone)');
  assert.equal(combineExcludes(['**/x/**'], []).glob, '**/x/**');
});
