// The one module over web-tree-sitter: Python source -> syntax tree, with the tree-sitter-python
// grammar compiled to WebAssembly (no native addon, so the .vsix runs on every platform).
// Trees are kept per document and re-parsed incrementally: an edit re-parses only what changed.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Language, Parser, type Edit, type Node, type Range, type Tree } from 'web-tree-sitter';

export type SyntaxNode = PyNode;

/** The two wasm files: next to the bundle in dist/ (and the .vsix), else from node_modules (sources run by tsx). */
const WASM = {
  runtime: { file: 'web-tree-sitter.wasm', pkg: 'web-tree-sitter/web-tree-sitter.wasm' },
  python: { file: 'tree-sitter-python.wasm', pkg: 'tree-sitter-python/tree-sitter-python.wasm' },
};

function locate(w: { file: string; pkg: string }): string {
  const beside = path.join(__dirname, w.file);
  if (existsSync(beside)) return beside;
  try {
    return require.resolve(w.pkg);
  } catch {
    throw new Error(`${w.file} not found next to ${__dirname} (the build copies it into dist/)`);
  }
}

let ready: Promise<Parser> | undefined;

/** The parser, once: loading both wasm modules costs ~20 ms, then every parse reuses them. */
export function pythonParser(): Promise<Parser> {
  ready ??= (async () => {
    const runtime = locate(WASM.runtime);
    await Parser.init({ locateFile: () => runtime });
    const lang = await Language.load(locate(WASM.python));
    const p = new Parser();
    p.setLanguage(lang);
    return p;
  })();
  ready.catch(() => { ready = undefined; });
  return ready;
}

/**
 * Offsets -> the parser's ranges (with rows and columns). Undefined: the whole text. An empty
 * list still parses nothing but an empty range (tree-sitter reads "no ranges" as "all of it").
 */
function rangesOf(text: string, spans: readonly [number, number][] | undefined): Range[] | undefined {
  if (!spans) return undefined;
  if (!spans.length) spans = [[0, 0]];
  const out: Range[] = [];
  let row = 0, lineStart = 0, at = 0;
  const point = (offset: number) => {
    for (let i = text.indexOf('\n', at); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) { row++; lineStart = i + 1; at = i + 1; }
    return { row, column: offset - lineStart };
  };
  for (const [start, end] of spans) {
    const startPosition = point(start);
    out.push({ startIndex: start, endIndex: end, startPosition, endPosition: point(end) });
  }
  return out;
}

/** The parse's ranges, always told (the parser keeps the last ones set): without spans, the whole text. */
function optionsFor(text: string, spans: readonly [number, number][] | undefined): { includedRanges: Range[] } {
  return { includedRanges: rangesOf(text, spans) ?? [{ startIndex: 0, endIndex: text.length, startPosition: { row: 0, column: 0 }, endPosition: endPoint(text) }] };
}

const sameSpans = (a: readonly [number, number][] | undefined, b: readonly [number, number][] | undefined) =>
  a === b || (!!a && !!b && a.length === b.length && a.every((x, i) => x[0] === b[i][0] && x[1] === b[i][1]));

/**
 * Parses once, for a caller that does not keep the tree (the CLI). `spans`: only these parts of
 * the text (offsets), as tree-sitter's included ranges. Delete the tree when done.
 */
export async function parsePython(text: string, spans?: readonly [number, number][]): Promise<Tree> {
  const p = await pythonParser();
  const t = p.parse(text, null, optionsFor(text, spans));
  if (!t) throw new Error('the Python parser gave no tree');
  return t;
}

function endPoint(text: string): { row: number; column: number } {
  let row = 0, lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) { row++; lineStart = i + 1; }
  return { row, column: text.length - lineStart };
}

/** Row/column (UTF-16 units, as web-tree-sitter counts) of an offset. */
function pointAt(text: string, offset: number): { row: number; column: number } {
  let row = 0, lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) { row++; lineStart = i + 1; }
  return { row, column: offset - lineStart };
}

/**
 * The single edit that turns `before` into `after`: common prefix and suffix kept. A document
 * edit is usually one contiguous change, so this is what VS Code's change events would say,
 * without having to ship them across processes.
 */
export function editBetween(before: string, after: string): Edit | undefined {
  if (before === after) return undefined;
  const max = Math.min(before.length, after.length);
  let start = 0;
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let tail = 0;
  while (tail < max - start && before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)) tail++;
  const oldEnd = before.length - tail, newEnd = after.length - tail;
  return {
    startIndex: start, oldEndIndex: oldEnd, newEndIndex: newEnd,
    startPosition: pointAt(before, start), oldEndPosition: pointAt(before, oldEnd), newEndPosition: pointAt(after, newEnd),
  } as Edit;
}

/** Parsed trees of open documents, re-parsed incrementally; the least recently used go first. */
export class DocumentTrees {
  private readonly docs = new Map<string, { text: string; spans: readonly [number, number][] | undefined; tree: Tree }>();
  constructor(private readonly capacity = 16) {}

  /** `spans`: parse only these parts of the text (see parsePython); a change of them re-parses what changed. */
  async tree(key: string, text: string, spans?: readonly [number, number][]): Promise<Tree> {
    const p = await pythonParser();
    const had = this.docs.get(key);
    this.docs.delete(key);
    const options = optionsFor(text, spans);
    let tree: Tree | null;
    if (had && had.text === text && sameSpans(had.spans, spans)) tree = had.tree;
    else if (had) {
      const edit = editBetween(had.text, text);
      if (edit) had.tree.edit(edit);
      tree = p.parse(text, had.tree, options);
      had.tree.delete();
    } else tree = p.parse(text, null, options);
    if (!tree) throw new Error('the Python parser gave no tree');
    this.docs.set(key, { text, spans, tree });
    while (this.docs.size > this.capacity) {
      const [oldest, v] = this.docs.entries().next().value as [string, { tree: Tree }];
      v.tree.delete();
      this.docs.delete(oldest);
    }
    return tree;
  }

  forget(key: string): void {
    this.docs.get(key)?.tree.delete();
    this.docs.delete(key);
  }
}

/**
 * A syntax node as the interpreter reads it: each tree-sitter node is wrapped once, and its
 * children fetched on first use (one call into WebAssembly for all of them), then kept. Every
 * read of a web-tree-sitter node crosses into WebAssembly; so a wrapper asks only for its type
 * when made, and for its end, text and children's field names only when they are used. Code
 * that is never run (forward methods, training loops nobody calls) is never wrapped.
 */
export class PyNode {
  readonly type: string;
  readonly isNamed: boolean;
  readonly startPosition: { row: number; column: number };
  readonly id: number;
  /** Offset (UTF-16 units) where the node starts: known without a call into WebAssembly. */
  readonly startIndex: number;
  private end: number | undefined;
  private kids: PyNode[] | undefined;
  private named: PyNode[] | undefined;
  private byField: Map<string, PyNode[]> | undefined;

  constructor(private readonly node: Node, private readonly source: string, private readonly lang: LanguageInfo) {
    const typeId = node.typeId;
    this.type = lang.types[typeId] ?? 'ERROR';
    this.isNamed = lang.named(typeId);
    this.startPosition = node.startPosition;
    this.id = node.id;
    this.startIndex = node.startIndex;
  }

  /** Offset where the node ends (one call into WebAssembly, then kept). */
  get endIndex(): number { return (this.end ??= this.node.endIndex); }

  get text(): string { return this.source.slice(this.startIndex, this.endIndex); }

  get children(): PyNode[] {
    this.kids ??= this.node.children.map((k) => new PyNode(k!, this.source, this.lang));
    return this.kids;
  }

  get namedChildren(): PyNode[] {
    this.named ??= this.children.filter((k) => k.isNamed && k.type !== 'comment');
    return this.named;
  }

  namedChild(i: number): PyNode | null { return this.namedChildren[i] ?? null; }

  /** The children under a field (one call into WebAssembly per field asked, then kept). */
  childrenForFieldName(name: string): PyNode[] {
    this.byField ??= new Map();
    let got = this.byField.get(name);
    if (!got) {
      const ids = new Set(this.node.childrenForFieldName(name).map((n) => n.id));
      got = ids.size ? this.children.filter((k) => ids.has(k.id)) : [];
      this.byField.set(name, got);
    }
    return got;
  }

  childForFieldName(name: string): PyNode | null { return this.childrenForFieldName(name)[0] ?? null; }
}

/** Type names and named-ness by type id, asked of the grammar once per id. */
interface LanguageInfo { types: readonly string[]; named(typeId: number): boolean }
const languageInfo = new WeakMap<object, LanguageInfo>();
function infoOf(tree: Tree): LanguageInfo {
  const lang = tree.language;
  let info = languageInfo.get(lang);
  if (!info) {
    const cache = new Map<number, boolean>();
    const types = lang.types as readonly string[];
    info = {
      types,
      named: (id) => { let v = cache.get(id); if (v === undefined) cache.set(id, (v = lang.nodeTypeIsNamed(id))); return v; },
    };
    languageInfo.set(lang, info);
  }
  return info;
}

/** The tree's root, wrapped for the interpreter. */
export function rootOf(tree: Tree, source: string): PyNode { return new PyNode(tree.rootNode, source, infoOf(tree)); }

/** The syntax node of the smallest named node at an offset (to check a text match is code, not a comment or string). */
export function nodeTypeAt(tree: Tree, offset: number): { type: string; parentType: string | undefined; grandType: string | undefined } {
  const n = tree.rootNode.namedDescendantForIndex(offset);
  const p = n?.parent;
  return { type: n?.type ?? '', parentType: p?.type, grandType: p?.parent?.type };
}
