// The Checkpoints and Reuse Analysis trees as VS Code asks them for rows (src/extension/views),
// against a stand-in for the `vscode` module: a 50,000-layer checkpoint or report expands to one
// page of 500 rows and a "Show more…" row whose command adds the next page, under that parent only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { InspectResult, LayerReport, Report } from '../../src/protocol';
import { installVscodeStandIn } from './helpers/vscodeStandIn';

class EventEmitter<T> {
  private ls: ((e: T) => void)[] = [];
  readonly event = (l: (e: T) => void) => { this.ls.push(l); return { dispose() {} }; };
  fire(e: T) { for (const l of this.ls) l(e); }
  dispose() { this.ls = []; }
}
class TreeItem {
  description?: string; tooltip?: unknown; iconPath?: unknown; id?: string; contextValue?: string; resourceUri?: unknown;
  command?: { command: string; title: string; arguments: unknown[] };
  accessibilityInformation?: unknown;
  constructor(readonly label: string, readonly collapsibleState: number) {}
}
class ThemeIcon { static Folder = new ThemeIcon('folder'); constructor(readonly id: string, readonly color?: unknown) {} }
class MarkdownString { supportHtml = true; constructor(readonly value: string) {} }
const vscodeStandIn = {
  EventEmitter, TreeItem, ThemeIcon, MarkdownString,
  ThemeColor: class { constructor(readonly id: string) {} },
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
  Uri: { file: (p: string) => ({ scheme: 'file', fsPath: p, path: p }) },
};
installVscodeStandIn(vscodeStandIn, 'tree-paging');

// Loaded after the stand-in is in place.
const { CheckpointsTree } = require('../../src/extension/views/checkpointsTree') as typeof import('../../src/extension/views/checkpointsTree');
const { AnalysisTree } = require('../../src/extension/views/analysisTree') as typeof import('../../src/extension/views/analysisTree');
const { COMMANDS } = require('../../src/extension/commands') as typeof import('../../src/extension/commands');

const LAYERS = 50_000;
const none = { dispose() {} };

/** What the worker's inspect says of a 50,000-layer state dict (one weight per layer). */
function bigInspect(): InspectResult {
  const tensors = Array.from({ length: LAYERS }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32', shape: [2, 2], parameters: 4, bytes: 16 }));
  const layers = tensors.map((t, i) => ({ name: `layers.${i}`, kind: 'linear', parameters: 4, tensors: [{ name: t.name, role: 'weight' }] }));
  return { format: 'safetensors', parameters: 4 * LAYERS, tensors, layers, entries: [], warnings: [] } as unknown as InspectResult;
}

function bigReport(): Report {
  const r = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'report', 'sample-report.json'), 'utf8')) as Report;
  const base = r.layers[0];
  r.layers = Array.from({ length: LAYERS }, (_, i): LayerReport => ({ ...base, name: `layers.${i}`, sourceName: `layers.${i}`, targetName: `layers.${i}`, index: i }));
  return r;
}

/** Children of a tree item as VS Code asks for them: the node, then each row's TreeItem. */
async function rows<T>(tree: { getChildren(n?: T): Promise<T[]>; getTreeItem(n: T): Promise<unknown> }, node: T) {
  const kids = await tree.getChildren(node);
  return { kids, items: await Promise.all(kids.map((k) => tree.getTreeItem(k))) as TreeItem[] };
}

test('a 50,000-layer checkpoint expands in the Checkpoints tree to 500 layers and "Show more…", which adds 500 more under that file only', async () => {
  const result = bigInspect();
  const file = '/ws/moe.safetensors', other = '/ws/other.safetensors';
  const index = {
    onDidChange: () => none, roots: () => ['/ws'], list: async () => [file, other],
    inspect: async () => ({ ok: true, result }), peek: () => undefined, blockedReason: () => undefined,
  };
  const tree = new CheckpointsTree(index as never);
  const fileNode = { kind: 'file', path: file } as const;
  let { kids, items } = await rows(tree, fileNode);
  assert.equal(kids.length, 501, 'one page of layers and the "Show more…" row');
  assert.equal(items[0].label, 'layers.0');
  assert.equal(items[499].label, 'layers.499');
  const more = items[500];
  assert.equal(more.label, 'Show more…');
  assert.equal(more.description, 'next 500 of 49,500 more');
  assert.deepEqual(more.command && [more.command.command, ...more.command.arguments], [COMMANDS.showMore, 'checkpoints', file]);
  tree.showMore(file);
  ({ kids, items } = await rows(tree, fileNode));
  assert.equal(kids.length, 1001);
  assert.equal(items[999].label, 'layers.999');
  assert.equal(items[1000].description, 'next 500 of 49,000 more');
  assert.equal((await tree.getChildren({ kind: 'file', path: other })).length, 501, 'another file keeps its first page');
  tree.dispose();
});

test('a 50,000-layer analysis expands in the Reuse Analysis tree to 500 layers in network order and "Show more…", which adds 500 more', async () => {
  const report = bigReport();
  // Stored out of order: the tree shows network order.
  report.layers.reverse();
  const entry = { id: 'a1', label: 'moe-source → moe-target', description: '', source: '/ws/a', target: '/ws/b' };
  const store = { onDidChange: () => none, list: () => [entry], getReport: async () => report };
  const tree = new AnalysisTree(store as never);
  const [node] = await tree.getChildren();
  let { kids, items } = await rows(tree, node);
  assert.equal(kids.length, 501);
  assert.deepEqual([items[0].label, items[499].label], ['layers.0', 'layers.499']);
  assert.equal(items[500].label, 'Show more…');
  assert.deepEqual(items[500].command && [items[500].command.command, ...items[500].command.arguments], [COMMANDS.showMore, 'analyses', 'a1']);
  tree.showMore('a1');
  ({ kids, items } = await rows(tree, node));
  assert.equal(kids.length, 1001);
  assert.equal(items[1000].description, 'next 500 of 49,000 more');
  tree.dispose();
});

test('drawing the Reuse Analysis tree reads no stored report; a row\'s tooltip reads its report when VS Code asks for it', async () => {
  const report = bigReport();
  const entry = { id: 'a1', label: 'moe-source → moe-target', description: '', source: '/ws/a', target: '/ws/b' };
  let reads = 0;
  const store = { onDidChange: () => none, list: () => [entry], getReport: async () => { reads++; return report; } };
  const tree = new AnalysisTree(store as never);
  const [node] = await tree.getChildren();
  const item = await tree.getTreeItem(node) as TreeItem;
  assert.equal(reads, 0, 'a collapsed analysis row needs no report');
  const resolved = await tree.resolveTreeItem(item as never, node) as TreeItem;
  assert.equal(reads, 1);
  assert.match(String((resolved.tooltip as { value?: string })?.value ?? resolved.tooltip), /^\*\*\S+ → \S+\*\*\n\nSource: /, "the summary of its report");
  tree.dispose();
});
