// The Checkpoints view: folders -> checkpoint files -> layers -> tensors. A file is inspected
// (headers only, in the worker) the first time it is expanded; a file that cannot be read
// shows one error item with the reason, and the rest of the tree works as usual.
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { CheckpointIndex, InspectOutcome } from '../checkpointIndex';
import { groupByFolder, FolderGroup } from '../model/discovery';
import { checkpointChildren, CheckpointChild, fileDescription, layerDescription, tensorDescription, tensorTooltip } from '../model/checkpointNodes';
import { formatCount } from '../model/format';
import { summaryViewTypeFor } from '../summary/summaryEditor';
import { moreLabel, pageOf, PageSizes } from '../model/paging';
import { COMMANDS } from '../commands';

export type CheckpointNode =
  | { kind: 'folder'; group: FolderGroup }
  | { kind: 'file'; path: string }
  | { kind: 'child'; file: string; child: CheckpointChild }
  | { kind: 'entry'; file: string; name: string; type: string; value: string }
  | { kind: 'error'; file: string; message: string }
  /** The last row of a page of a file's layers: shows the next page. */
  | { kind: 'more'; file: string; more: number };

export class CheckpointsTree implements vscode.TreeDataProvider<CheckpointNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<CheckpointNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly fileNodes = new Map<string, CheckpointNode>();
  private readonly described = new Map<string, InspectOutcome>();
  private readonly sub: vscode.Disposable;
  private readonly pages = new PageSizes();

  constructor(private readonly index: CheckpointIndex) {
    // A changed file is re-inspected on next expand; redraw the whole tree (cheap, nodes are lazy).
    this.sub = index.onDidChange(() => this.changed.fire(undefined));
  }

  async getChildren(node?: CheckpointNode): Promise<CheckpointNode[]> {
    if (!node) {
      const files = await this.index.list();
      this.fileNodes.clear();
      return groupByFolder(files, this.index.roots()).map((group) => ({ kind: 'folder', group }));
    }
    if (node.kind === 'folder') return node.group.files.map((p) => this.fileNode(p));
    if (node.kind === 'file') {
      const outcome = await this.index.inspect(node.path);
      // The file's own item shows format/params or the error once known: redraw it once per
      // outcome (redrawing re-asks for children, so firing every time would loop).
      if (this.described.get(node.path) !== outcome) {
        this.described.set(node.path, outcome);
        setTimeout(() => { if (this.fileNodes.get(node.path) === node) this.changed.fire(node); }, 0);
      }
      if (!outcome.ok) return [{ kind: 'error', file: node.path, message: outcome.message }];
      const kids = checkpointChildren(outcome.result);
      if (kids.length === 0) return [{ kind: 'error', file: node.path, message: 'holds no tensors' }];
      const page = pageOf(kids, this.pages.get(node.path));
      const rows: CheckpointNode[] = page.items.map((child) => ({ kind: 'child', file: node.path, child }));
      return page.more > 0 ? [...rows, { kind: 'more', file: node.path, more: page.more }] : rows;
    }
    if (node.kind === 'child') {
      const c = node.child;
      if (c.kind === 'layer') return c.tensors.map((t) => ({ kind: 'child', file: node.file, child: { kind: 'tensor', role: t.role, tensor: t.tensor } }));
      if (c.kind === 'entries') return c.entries.map((e) => ({ kind: 'entry', file: node.file, ...e }));
    }
    return [];
  }

  /** "Show more…" under a file: one more page of its layers. */
  showMore(file: string): void {
    this.pages.more(file);
    this.changed.fire(this.fileNode(file));
  }

  private fileNode(p: string): CheckpointNode {
    let n = this.fileNodes.get(p);
    if (!n) { n = { kind: 'file', path: p }; this.fileNodes.set(p, n); }
    return n;
  }

  async getTreeItem(node: CheckpointNode): Promise<vscode.TreeItem> {
    switch (node.kind) {
      case 'folder': {
        const item = new vscode.TreeItem(node.group.label, vscode.TreeItemCollapsibleState.Expanded);
        item.resourceUri = vscode.Uri.file(node.group.dir);
        item.iconPath = vscode.ThemeIcon.Folder;
        item.description = `${node.group.files.length} checkpoint${node.group.files.length === 1 ? '' : 's'}`;
        item.contextValue = 'checkpointFolder';
        item.tooltip = node.group.dir;
        return item;
      }
      case 'file': {
        const uri = vscode.Uri.file(node.path);
        const item = new vscode.TreeItem(path.basename(node.path), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `file:${node.path}`;
        item.resourceUri = uri;
        item.contextValue = 'checkpointFile';
        item.tooltip = node.path;
        item.command = { command: 'vscode.openWith', title: 'Open Checkpoint Summary', arguments: [uri, summaryViewTypeFor(node.path)] };
        const blocked = this.index.blockedReason(node.path);
        const known = this.index.peek(node.path);
        const outcome = known ? await Promise.race([known, Promise.resolve(undefined)]) : undefined;
        if (blocked) {
          item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
          item.description = 'link outside the workspace';
          item.tooltip = `${node.path} ${blocked}`;
        } else if (outcome?.ok === false) {
          item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
          item.description = 'cannot be read';
          item.tooltip = outcome.message;
        } else {
          item.iconPath = new vscode.ThemeIcon('database');
          if (outcome?.ok) item.description = fileDescription(outcome.result);
        }
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem(oneLine(node.message, node.file), vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
        item.tooltip = node.message;
        item.contextValue = 'checkpointError';
        return item;
      }
      case 'entry': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.description = `${node.type} = ${node.value}`;
        item.tooltip = `${node.name}: ${node.type} = ${node.value}`;
        item.iconPath = new vscode.ThemeIcon('symbol-field');
        return item;
      }
      case 'child': return childItem(node.child);
      case 'more': {
        const { label, description } = moreLabel(node.more);
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
        item.description = description;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: COMMANDS.showMore, title: label, arguments: ['checkpoints', node.file] };
        return item;
      }
    }
  }

  dispose(): void { this.sub.dispose(); this.changed.dispose(); }
}

function childItem(c: CheckpointChild): vscode.TreeItem {
  switch (c.kind) {
    case 'layer': {
      const item = new vscode.TreeItem(c.layer.name || '(root)', vscode.TreeItemCollapsibleState.Collapsed);
      item.description = layerDescription(c.layer);
      item.iconPath = new vscode.ThemeIcon(c.layer.kind === 'conv' ? 'symbol-array' : c.layer.kind === 'bn' || c.layer.kind === 'norm' ? 'symbol-operator' : 'symbol-class');
      item.tooltip = `${c.layer.name}: ${c.layer.kind} layer, ${c.layer.parameters.toLocaleString('en-US')} parameters`;
      item.contextValue = 'checkpointLayer';
      return item;
    }
    case 'tensor': {
      const item = new vscode.TreeItem(c.role ?? c.tensor.name, vscode.TreeItemCollapsibleState.None);
      item.description = tensorDescription(c.tensor);
      item.tooltip = tensorTooltip(c.tensor);
      item.iconPath = new vscode.ThemeIcon('symbol-numeric');
      item.contextValue = 'checkpointTensor';
      return item;
    }
    case 'entries': {
      const item = new vscode.TreeItem('Other entries', vscode.TreeItemCollapsibleState.Collapsed);
      item.description = `${formatCount(c.entries.length)} non-tensor value${c.entries.length === 1 ? '' : 's'}`;
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      return item;
    }
    case 'warning': {
      const item = new vscode.TreeItem(c.message, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
      item.tooltip = c.message;
      return item;
    }
  }
}

/** The error without the file's path in front (the parent item already names the file). */
function oneLine(message: string, file: string): string {
  const m = message.startsWith(file) ? message.slice(file.length).replace(/^[:\s]+/, '') : message;
  return `Cannot read: ${m}`;
}
