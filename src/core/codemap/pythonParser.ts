// The one module over web-tree-sitter: Python source -> syntax tree, with the tree-sitter-python
// grammar compiled to WebAssembly (no native addon, so the .vsix runs on every platform).
// Trees are kept per document and re-parsed incrementally: an edit re-parses only what changed.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Language, Parser, type Edit, type Node, type Tree } from 'web-tree-sitter';

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

/** Parses once, for a caller that does not keep the tree (the CLI). Delete the tree when done. */
export async function parsePython(text: string): Promise<Tree> {
  const p = await pythonParser();
  const t = p.parse(text);
  if (!t) throw new Error('the Python parser gave no tree');
  return t;
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
  private readonly docs = new Map<string, { text: string; tree: Tree }>();
  constructor(private readonly capacity = 16) {}

  async tree(key: string, text: string): Promise<Tree> {
    const p = await pythonParser();
    const had = this.docs.get(key);
    this.docs.delete(key);
    let tree: Tree | null;
    if (had && had.text === text) tree = had.tree;
    else if (had) {
      const edit = editBetween(had.text, text);
      if (edit) had.tree.edit(edit);
      tree = p.parse(text, had.tree);
      had.tree.delete();
    } else tree = p.parse(text);
    if (!tree) throw new Error('the Python parser gave no tree');
    this.docs.set(key, { text, tree });
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
 * children are fetched on first use with one cursor pass, then kept. Every read of a
 * web-tree-sitter node crosses into WebAssembly and allocates; the interpreter reads a block
 * class's `__init__` once per instance, so this keeps a ResNet's map from costing 100 ms.
 * Code that is never run (forward methods, training loops nobody calls) is never wrapped.
 */
export class PyNode {
  readonly type: string;
  readonly isNamed: boolean;
  readonly startPosition: { row: number; column: number };
  readonly id: number;
  private readonly start: number;
  private readonly end: number;
  private kids: PyNode[] | undefined;
  private named: PyNode[] | undefined;
  private fieldOf: (string | null)[] | undefined;

  constructor(private readonly node: Node, private readonly source: string) {
    this.type = node.type;
    this.isNamed = node.isNamed;
    this.startPosition = node.startPosition;
    this.id = node.id;
    this.start = node.startIndex;
    this.end = node.endIndex;
  }

  get text(): string { return this.source.slice(this.start, this.end); }

  get children(): PyNode[] {
    if (!this.kids) {
      const kids: PyNode[] = [], fields: (string | null)[] = [];
      const c = this.node.walk();
      if (c.gotoFirstChild()) {
        do { kids.push(new PyNode(c.currentNode, this.source)); fields.push(c.currentFieldName); } while (c.gotoNextSibling());
      }
      c.delete();
      this.kids = kids;
      this.fieldOf = fields;
    }
    return this.kids;
  }

  get namedChildren(): PyNode[] {
    this.named ??= this.children.filter((k) => k.isNamed && k.type !== 'comment');
    return this.named;
  }

  namedChild(i: number): PyNode | null { return this.namedChildren[i] ?? null; }

  childForFieldName(name: string): PyNode | null {
    const kids = this.children;
    const i = this.fieldOf!.indexOf(name);
    return i < 0 ? null : kids[i];
  }

  childrenForFieldName(name: string): PyNode[] {
    const kids = this.children;
    return kids.filter((_, i) => this.fieldOf![i] === name);
  }
}

/** The tree's root, wrapped for the interpreter. */
export function rootOf(tree: Tree, source: string): PyNode { return new PyNode(tree.rootNode, source); }

/** The syntax node of the smallest named node at an offset (to check a text match is code, not a comment or string). */
export function nodeTypeAt(tree: Tree, offset: number): { type: string; parentType: string | undefined; grandType: string | undefined } {
  const n = tree.rootNode.namedDescendantForIndex(offset);
  const p = n?.parent;
  return { type: n?.type ?? '', parentType: p?.type, grandType: p?.parent?.type };
}
