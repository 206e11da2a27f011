// Who may import whom (DESIGN.md, "Layout"): the engine (src/core) imports nothing of ours and
// never vscode; the extension host talks to the engine only through the worker, whose contract
// is src/protocol.ts, so src/extension imports nothing from src/core, src/worker or src/cli,
// not even a type; the webviews talk to the host through protocol.ts messages. Every import
// form counts: `import`, `import type`, `export ... from`, `import x = require()`, `require()`,
// `import()` and `import('...')` types. The source is parsed (TypeScript's parser), so an
// import in a comment or a string does not count and one split over lines does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

/**
 * The webview bundles may import the engine's `shared` room themselves, by rule: pure functions
 * of a Report (no I/O, no node: module, no tensor data) that the report panel runs on every
 * threshold change and export, where a round trip through the host and the worker would add
 * latency for nothing (as vscode-hexeditor's shared/). Documented in DEVELOPERS.md.
 */
const WEBVIEW_MAY_IMPORT_FROM_CORE = 'src/core/shared';

/**
 * The engine's rooms, lowest first: a room imports only itself and rooms before it, so the
 * architecture reads one way (analysis -> formats -> tensor -> common; shared is pure report
 * logic the webviews use too, and imports only common). A new room is a decision made here.
 */
const CORE_ROOMS = ['common', 'shared', 'tensor', 'formats', 'analysis', 'codemap', 'experiments'];
const SHARED_MAY_IMPORT = new Set(['common', 'shared']);
const roomOf = (p: string) => (under(p, 'src/core') ? p.split('/')[2] : undefined);

/**
 * src/protocol.ts re-exports the engine's types freely; the values it takes from src/core are
 * exactly these (each is documented there). Anything more would be a way around the rule that
 * src/extension does not import src/core, so adding one is a decision, made here.
 */
const PROTOCOL_VALUES_FROM_CORE: Record<string, string[]> = {
  'src/core/common/errors': ['CHANGED_WHILE_READING'],
  'src/core/shared/reportTypes': ['DEFAULT_OPTIONS'],
  'src/core/shared/verdicts': ['rejudgeReport'],
  'src/core/codemap/annotate': ['annotate', 'hoverMarkdown'],
  'src/core/codemap/nameTokens': ['nameTokens'],
  'src/core/shared/experimentRuntime': ['architectureRuntime'],
};

interface Imported {
  spec: string;
  line: number;
  /** Erased at compile time: `import type`, `export type`, every name `type`, or an `import('...')` type. */
  typeOnly: boolean;
  /** Value names it brings in (`*` for a namespace, a default or a whole-module `require`). */
  values: string[];
}

function collectImports(fileName: string, text: string): Imported[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: Imported[] = [];
  const add = (lit: ts.Node, typeOnly: boolean, values: string[]) => {
    if (!ts.isStringLiteralLike(lit)) return;
    out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1, typeOnly, values });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const values: string[] = [];
      if (clause && !clause.isTypeOnly) {
        if (clause.name) values.push('default');
        const b = clause.namedBindings;
        if (b && ts.isNamespaceImport(b)) values.push('*');
        if (b && ts.isNamedImports(b)) for (const e of b.elements) if (!e.isTypeOnly) values.push((e.propertyName ?? e.name).text);
      }
      // A bare `import 'x'` runs x: a value import with no names.
      add(node.moduleSpecifier, clause !== undefined && values.length === 0, clause ? values : ['*']);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const values: string[] = [];
      if (!node.isTypeOnly) {
        const c = node.exportClause;
        if (!c || ts.isNamespaceExport(c)) values.push('*');
        else for (const e of c.elements) if (!e.isTypeOnly) values.push((e.propertyName ?? e.name).text);
      }
      add(node.moduleSpecifier, values.length === 0, values);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly, node.isTypeOnly ? [] : ['*']);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal, true, []);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isRequire || node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], false, ['*']);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const r of sf.referencedFiles) out.push({ spec: r.fileName, line: sf.getLineAndCharacterOfPosition(r.pos).line + 1, typeOnly: true, values: [] });
  return out;
}

/** A relative or absolute specifier as a repository path without extension (`src/core/verdicts`); undefined for packages. */
function target(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('.') && !path.isAbsolute(spec)) return undefined;
  const abs = path.resolve(ROOT, path.dirname(fromFile), spec);
  return path.relative(ROOT, abs).split(path.sep).join('/').replace(SOURCE, '').replace(/\/index$/, '');
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
const isVscode = (spec: string) => spec === 'vscode' || spec.startsWith('vscode/');

/** The rules; each broken import as `file:line: message`. `file` is a repository path. */
function violations(file: string, text: string): string[] {
  const out: string[] = [];
  for (const i of collectImports(file, text)) {
    const t = target(file, i.spec);
    const where = `${file}:${i.line}: ${i.typeOnly ? 'type-only ' : ''}import of '${i.spec}'`;
    if (under(file, 'src/core')) {
      if (isVscode(i.spec)) out.push(`${where}: the engine never imports vscode`);
      if (t !== undefined && !under(t, 'src/core')) out.push(`${where}: the engine imports nothing of ours outside src/core (${t})`);
      const from = roomOf(file)!, to = t !== undefined ? roomOf(t) : undefined;
      if (file.split('/').length < 4 || !CORE_ROOMS.includes(from)) out.push(`${file}: every engine file lives in one of the rooms src/core/{${CORE_ROOMS.join(',')}}`);
      else if (to !== undefined && (!CORE_ROOMS.includes(to) || CORE_ROOMS.indexOf(to) > CORE_ROOMS.indexOf(from) || (from === 'shared' && !SHARED_MAY_IMPORT.has(to)))) {
        out.push(`${where}: src/core/${from} may not import src/core/${to} (rooms import one way: ${CORE_ROOMS.join(' <- ')})`);
      }
    } else if (under(file, 'src/extension')) {
      for (const dir of ['src/core', 'src/worker', 'src/cli']) {
        if (t !== undefined && under(t, dir)) out.push(`${where}: src/extension reaches ${dir} only through src/protocol.ts (re-export it there)`);
      }
    } else if (under(file, 'webview')) {
      if (isVscode(i.spec)) out.push(`${where}: the vscode module exists only in the extension host`);
      for (const dir of ['src/extension', 'src/worker', 'src/cli']) {
        if (t !== undefined && under(t, dir)) out.push(`${where}: the webview talks to the host through src/protocol.ts messages, not ${dir}`);
      }
      if (t !== undefined && under(t, 'src/core') && !under(t, WEBVIEW_MAY_IMPORT_FROM_CORE)) {
        out.push(`${where}: of src/core the webview may import only ${WEBVIEW_MAY_IMPORT_FROM_CORE} (types come through src/protocol.ts)`);
      }
    } else if (file === 'src/protocol.ts') {
      if (isVscode(i.spec)) out.push(`${where}: protocol.ts is shared with the worker and the webviews`);
      for (const dir of ['src/extension', 'src/worker', 'src/cli', 'webview']) {
        if (t !== undefined && under(t, dir)) out.push(`${where}: protocol.ts imports nothing of ${dir}`);
      }
      if (t !== undefined && under(t, 'src/core')) {
        const allowed = PROTOCOL_VALUES_FROM_CORE[t] ?? [];
        const extra = i.values.filter((v) => !allowed.includes(v));
        if (extra.length) out.push(`${where}: value(s) ${extra.join(', ')} from src/core; protocol.ts takes only types and the values listed in test/unit/boundaries.test.ts`);
      }
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) { if (e.name !== 'node_modules') out.push(...sourceFiles(rel)); } else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function check(files: string[]): string[] {
  return files.flatMap((f) => violations(f, readFileSync(path.join(ROOT, f), 'utf8')));
}

// ---- the real code ----

test('src/core imports neither vscode nor anything of ours outside src/core', () => {
  const files = sourceFiles('src/core');
  assert.ok(files.length > 20 && files.includes('src/core/shared/verdicts.ts'), `found the engine's files (${files.length})`);
  assert.deepEqual(check(files), []);
});

test('src/extension imports nothing from src/core, src/worker or src/cli, not even a type: its contract is src/protocol.ts', () => {
  const files = sourceFiles('src/extension');
  assert.ok(files.length > 20 && files.includes('src/extension/extension.ts'), `found the extension's files (${files.length})`);
  assert.ok(files.some((f) => collectImports(f, readFileSync(path.join(ROOT, f), 'utf8')).some((i) => target(f, i.spec) === 'src/protocol')), 'the extension does import src/protocol.ts (sanity)');
  assert.deepEqual(check(files), []);
});

test('webview/ imports nothing from src/extension, src/worker or src/cli, and of src/core only the shared room', () => {
  const files = sourceFiles('webview');
  assert.ok(files.length > 10 && files.includes('webview/report/main.ts'), `found the webview's files (${files.length})`);
  assert.deepEqual(check(files), []);
});

test('src/protocol.ts takes only types from src/core, plus the listed pure values', () => {
  assert.deepEqual(check(['src/protocol.ts']), []);
});

// ---- the checker itself: it sees every import form and reports each rule ----

test('every import form is seen, type-only ones marked', () => {
  const src = `
    import a from './a';
    import * as b from './b';
    import { c, type C } from './c';
    import type { D } from './d';
    import './e';
    export { f } from './f';
    export type { G } from './g';
    export * from './h';
    import i = require('./i');
    const j = require('./j');
    const k = import('./k');
    let l: typeof import('./l');
    import {
      m,
    } from './m';
    // import { n } from './n';
    const o = "import { o } from './o'";
  `;
  const got = collectImports('src/x.ts', src).map((i) => `${i.spec}${i.typeOnly ? ' (type)' : ''}`);
  assert.deepEqual(got, ['./a', './b', './c', './d (type)', './e', './f', './g (type)', './h', './i', './j', './k', './l (type)', './m']);
  assert.deepEqual(collectImports('src/x.ts', "import { type A, type B } from './t';")[0].typeOnly, true);
});

test('each rule fails on a file that breaks it', () => {
  const bad: [string, string][] = [
    ['src/core/common/x.ts', "import * as vscode from 'vscode';"],
    ['src/core/analysis/x.ts', "import type { Report } from '../../protocol';"],
    ['src/core/x.ts', "import { promises } from 'node:fs';"],
    ['src/core/tensor/x.ts', "import { openCheckpoint } from '../formats/open';"],
    ['src/core/shared/x.ts', "import { numel } from '../tensor/dtypes';"],
    ['src/core/formats/x.ts', "import type { Report } from '../shared/reportTypes'; import { layerOf } from '../analysis/layers';"],
    ['src/core/formats/x.ts', "import { log } from '../../extension/log';"],
    ['src/extension/x.ts', "import type { Report } from '../core/reportTypes';"],
    ['src/extension/model/x.ts', "export type { Verdict } from '../../core/reportTypes';"],
    ['src/extension/x.ts', "const m = require('../worker/engineBridge');"],
    ['src/extension/x.ts', "let t: import('../cli/args').Args;"],
    ['webview/report/x.ts', "import { log } from '../../src/extension/log';"],
    ['webview/report/x.ts', "import type { X } from '../../src/worker/main';"],
    ['webview/report/x.ts', "import { layerOf } from '../../src/core/analysis/layers';"],
    ['webview/summary/x.ts', "import * as vscode from 'vscode';"],
    ['src/protocol.ts', "export { analyzePaths } from './core/analysis/engine';"],
    ['src/protocol.ts', "import { judgeLayer } from './core/shared/verdicts';"],
    ['src/protocol.ts', "import type { X } from './extension/analysisStore';"],
  ];
  for (const [file, text] of bad) assert.equal(violations(file, text).length, 1, `${file}: ${text} -> ${violations(file, text).join('; ')}`);
  const good: [string, string][] = [
    ['src/core/shared/x.ts', "import { promises } from 'node:fs'; import * as yauzl from 'yauzl'; import { fmt } from './verdicts'; import type { R } from './reportTypes'; import type { T } from '../common/types';"],
    ['src/core/analysis/x.ts', "import { openCheckpoint } from '../formats/open'; import { numel } from '../tensor/dtypes'; import { judgeLayer } from '../shared/verdicts';"],
    ['src/extension/x.ts', "import * as vscode from 'vscode'; import type { Report } from '../protocol'; import { WorkerClient } from './worker/client';"],
    ['webview/report/x.ts', "import type { Report } from '../../src/protocol'; import { toCsv } from '../../src/core/shared/exports'; import { rejudgeReport } from '../../src/core/shared/verdicts.ts'; import { Chart } from 'chart.js';"],
    ['src/protocol.ts', "import type { Report } from './core/shared/reportTypes'; export type { InspectResult } from './core/shared/reportTypes'; export { DEFAULT_OPTIONS } from './core/shared/reportTypes'; export { rejudgeReport } from './core/shared/verdicts';"],
  ];
  for (const [file, text] of good) assert.deepEqual(violations(file, text), [], `${file}: ${text}`);
});
