// The Reuse Analysis view: analyses run so far -> their layers in network order, each with a
// verdict icon, the kernel RMSE as description and the reason (with numbers) as tooltip.
import * as vscode from 'vscode';
import type { LayerReport, Report } from '../../protocol';
import type { AnalysisEntry, AnalysisStore } from '../analysisStore';
import { moreLabel, pageOf, PageSizes } from '../model/paging';
import { COMMANDS } from '../commands';
import { VERDICT_ICON, analysisTooltip, layerDescription, layerTooltip, layersInOrder } from '../model/analysisNodes';

export type AnalysisNode =
  | { kind: 'analysis'; entry: AnalysisEntry }
  | { kind: 'layer'; entry: AnalysisEntry; report: Report; layer: LayerReport }
  | { kind: 'missing'; entry: AnalysisEntry }
  /** The last row of a page of an analysis's layers: shows the next page. */
  | { kind: 'more'; entry: AnalysisEntry; more: number };

export class AnalysisTree implements vscode.TreeDataProvider<AnalysisNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AnalysisNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  private nodes = new Map<string, AnalysisNode>();
  private readonly pages = new PageSizes();

  constructor(private readonly store: AnalysisStore) {
    this.sub = store.onDidChange(() => this.changed.fire(undefined));
  }

  /** The node of an analysis, for TreeView.reveal. */
  nodeOf(id: string): AnalysisNode | undefined { return this.nodes.get(id); }

  getParent(node: AnalysisNode): AnalysisNode | undefined {
    return node.kind === 'analysis' ? undefined : this.nodes.get(node.entry.id);
  }

  async getChildren(node?: AnalysisNode): Promise<AnalysisNode[]> {
    if (!node) {
      this.nodes = new Map(this.store.list().map((entry) => [entry.id, { kind: 'analysis', entry } as AnalysisNode]));
      return [...this.nodes.values()];
    }
    if (node.kind !== 'analysis') return [];
    const report = await this.store.getReport(node.entry.id);
    if (!report) return [{ kind: 'missing', entry: node.entry }];
    const page = pageOf(layersInOrder(report), this.pages.get(node.entry.id));
    const rows: AnalysisNode[] = page.items.map((layer) => ({ kind: 'layer', entry: node.entry, report, layer }));
    return page.more > 0 ? [...rows, { kind: 'more', entry: node.entry, more: page.more }] : rows;
  }

  /** An analysis row's tooltip, when VS Code is about to show it: its report's summary. */
  async resolveTreeItem(item: vscode.TreeItem, node: AnalysisNode): Promise<vscode.TreeItem> {
    if (node.kind !== 'analysis' || item.tooltip) return item;
    const report = await this.store.getReport(node.entry.id);
    item.tooltip = report ? md(analysisTooltip(report)) : `${node.entry.source} → ${node.entry.target}`;
    return item;
  }

  /** "Show more…" under an analysis: one more page of its layers. */
  showMore(id: string): void {
    this.pages.more(id);
    this.changed.fire(this.nodes.get(id));
  }

  async getTreeItem(node: AnalysisNode): Promise<vscode.TreeItem> {
    if (node.kind === 'analysis') {
      const item = new vscode.TreeItem(node.entry.label, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `analysis:${node.entry.id}`;
      item.description = node.entry.description;
      item.iconPath = new vscode.ThemeIcon('git-compare');
      item.contextValue = 'reuseAnalysis';
      // No click command: a click expands the layers; the report opens from the inline button,
      // the context menu, or a click on a layer. The tooltip comes on hover (resolveTreeItem):
      // drawing the view must not read every stored report from disk.
      return item;
    }
    if (node.kind === 'more') {
      const { label, description } = moreLabel(node.more);
      const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
      item.description = description;
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.command = { command: COMMANDS.showMore, title: label, arguments: ['analyses', node.entry.id] };
      return item;
    }
    if (node.kind === 'missing') {
      const item = new vscode.TreeItem('Report no longer stored: run the analysis again', vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon('warning');
      return item;
    }
    const v = VERDICT_ICON[node.layer.verdict];
    const item = new vscode.TreeItem(node.layer.name, vscode.TreeItemCollapsibleState.None);
    item.id = `analysis:${node.entry.id}:${node.layer.index}`;
    item.iconPath = new vscode.ThemeIcon(v.icon, new vscode.ThemeColor(v.color));
    item.description = `${v.label} · ${layerDescription(node.layer, node.report.options.metric)}`;
    item.tooltip = md(layerTooltip(node.layer, node.report));
    item.contextValue = `reuseLayer.${node.layer.verdict}`;
    item.accessibilityInformation = { label: `${node.layer.name}, ${node.layer.verdict}, ${item.description}. ${node.layer.reason}` };
    item.command = { command: 'reuseLens.openReport', title: 'Open Report', arguments: [node.entry.id, node.layer.name] };
    return item;
  }

  dispose(): void { this.sub.dispose(); this.changed.dispose(); }
}

function md(text: string): vscode.MarkdownString {
  const m = new vscode.MarkdownString(text);
  m.supportHtml = false;
  return m;
}
