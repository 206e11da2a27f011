// CodeLens and hovers in Python files: the verdict of the latest analysis on the lines that
// define or load its layers. Off with reuseLens.hints.enabled = false.
import * as vscode from 'vscode';
import type { Report } from '../../protocol';
import type { AnalysisStore } from '../analysisStore';
import { findLayerLines, hintFor } from './pythonLayers';
import { readSettings } from '../settings';

export class ReuseHints implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subs: vscode.Disposable[];

  constructor(private readonly store: AnalysisStore) {
    this.subs = [
      store.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('reuseLens.hints')) this.changed.fire(); }),
    ];
  }

  private async latest(): Promise<{ id: string; report: Report } | undefined> {
    if (!readSettings().hints) return undefined;
    const e = this.store.latest();
    if (!e) return undefined;
    const report = await this.store.getReport(e.id);
    return report ? { id: e.id, report } : undefined;
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const a = await this.latest();
    if (!a) return [];
    return findLayerLines(doc.getText()).flatMap((l) => {
      const h = hintFor(l, a.report);
      if (!h) return [];
      return [new vscode.CodeLens(new vscode.Range(l.line, 0, l.line, 0), {
        title: h.title, command: 'reuseLens.openReport', arguments: [a.id, h.layer], tooltip: 'Open the Reuse Lens report',
      })];
    });
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const a = await this.latest();
    if (!a) return undefined;
    const line = findLayerLines(doc.lineAt(pos.line).text).find((l) => l.kind !== 'load');
    if (!line) return undefined;
    const h = hintFor({ ...line, line: pos.line }, a.report);
    if (!h) return undefined;
    const range = new vscode.Range(pos.line, line.column, pos.line, line.column + line.name.length);
    if (!range.contains(pos)) return undefined;
    const md = new vscode.MarkdownString(`**Reuse Lens** (${a.report.source.path.split(/[\\/]/).pop()} → ${a.report.target.path.split(/[\\/]/).pop()})\n\n${h.markdown}`);
    return new vscode.Hover(md, range);
  }

  dispose(): void { for (const s of this.subs) s.dispose(); this.changed.dispose(); }
}
