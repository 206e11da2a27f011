// CodeLens and hovers in Python files: on each line that creates layers of an analysed model,
// their verdicts; on load_state_dict/load_weights lines, the reuse plan. The worker parses the
// file and resolves module paths as PyTorch/Keras name them (its code map, asked once per
// document version, parsed incrementally); the host joins the map with the stored analyses
// (`annotate`, pure): the analysis whose layer names the file matches best, none when none does.
// Off with reuseLens.hints.enabled = false.
import * as vscode from 'vscode';
import { annotate, hoverMarkdown, nameTokens, type AnalysisRef, type Annotation, type CodeMap, type LineHint } from '../../protocol';
import type { AnalysisStore } from '../analysisStore';
import { readSettings } from '../settings';
import { log } from '../log';

/** Where code maps come from (the worker); a test gives its own. */
export interface CodeMapSource {
  codeMap(key: string, text: string, tokens: string[]): Promise<CodeMap>;
  forget(key: string): void;
}

/** Files larger than this get no hints: their text would cross to the worker on every edit. */
const MAX_TEXT = 2 * 1024 * 1024;

export const HINT_COMMANDS = { insertPlan: 'reuseLens.insertPlan', copyPlan: 'reuseLens.copyPlan' } as const;

export class ReuseHints implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subs: vscode.Disposable[];
  private readonly maps = new Map<string, { version: number; signature: string; map: Promise<CodeMap | undefined> }>();
  private readonly annotations = new Map<string, { version: number; generation: number; a: Annotation }>();
  private analyses: Promise<{ refs: AnalysisRef[]; tokens: string[]; signature: string }> | undefined;
  /** Bumped when the analyses or thresholds change: cached annotations are then stale. */
  private generation = 0;

  constructor(private readonly store: AnalysisStore, private readonly source: CodeMapSource) {
    const invalidate = () => { this.generation++; this.analyses = undefined; this.changed.fire(); };
    this.subs = [
      store.onDidChange(invalidate),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('reuseLens.hints') || e.affectsConfiguration('reuseLens.thresholds')) invalidate();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        const key = d.uri.toString();
        if (this.maps.delete(key)) this.source.forget(key);
        this.annotations.delete(key);
      }),
      vscode.commands.registerCommand(HINT_COMMANDS.insertPlan, insertPlan),
      vscode.commands.registerCommand(HINT_COMMANDS.copyPlan, copyPlan),
    ];
  }

  /** The stored analyses with their reports, newest first, and their layer names' tokens (read once per change of the store). */
  private loadAnalyses(): Promise<{ refs: AnalysisRef[]; tokens: string[]; signature: string }> {
    this.analyses ??= (async () => {
      const refs: AnalysisRef[] = [];
      for (const e of this.store.list()) {
        const report = await this.store.getReport(e.id);
        if (report) refs.push({ id: e.id, report });
      }
      const tokens = nameTokens(refs.flatMap((r) => r.report.layers.flatMap((l) => (l.targetName && l.targetName !== l.name ? [l.name, l.targetName] : [l.name])))).sort();
      return { refs, tokens, signature: tokens.join(' ') };
    })();
    return this.analyses;
  }

  private async refs(): Promise<AnalysisRef[]> { return (await this.loadAnalyses()).refs; }

  private codeMapOf(doc: vscode.TextDocument, tokens: string[], signature: string): Promise<CodeMap | undefined> {
    const key = doc.uri.toString();
    const had = this.maps.get(key);
    if (had && had.version === doc.version && had.signature === signature) return had.map;
    const map = this.source.codeMap(key, doc.getText(), tokens).catch((e: unknown) => {
      log().warn(`inline hints: ${doc.uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    this.maps.set(key, { version: doc.version, signature, map });
    return map;
  }

  /** The annotation of a document's current version, or undefined when it gets no hints. */
  async annotationOf(doc: vscode.TextDocument): Promise<Annotation | undefined> {
    if (!readSettings().hints || this.store.list().length === 0 || doc.getText().length > MAX_TEXT) return undefined;
    const key = doc.uri.toString();
    const cached = this.annotations.get(key);
    if (cached && cached.version === doc.version && cached.generation === this.generation) return cached.a;
    const generation = this.generation, version = doc.version;
    const { refs, tokens, signature } = await this.loadAnalyses();
    const map = await this.codeMapOf(doc, tokens, signature);
    if (!map) return undefined;
    const a = annotate(map, refs);
    if (generation === this.generation && version === doc.version) this.annotations.set(key, { version, generation, a });
    return a;
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const a = await this.annotationOf(doc);
    if (!a?.analysisId) return [];
    const id = a.analysisId;
    return a.lines.flatMap((h) => {
      if (h.line >= doc.lineCount) return [];
      const range = new vscode.Range(h.line, h.column, h.line, h.column);
      if (h.kind === 'load') {
        // The actions first: the summary is long, and a narrow editor cuts the end of the line off.
        // A file that already holds a plan (one was inserted) is not offered a second: copying stays.
        return [
          ...(h.planInFile ? [] : [new vscode.CodeLens(range, { title: 'Insert reuse plan here', command: HINT_COMMANDS.insertPlan, arguments: [doc.uri, h.line, h.planCode], tooltip: 'Insert the code that copies the reusable tensors and freezes the reused ones, above this line' })]),
          new vscode.CodeLens(range, { title: 'Copy plan', command: HINT_COMMANDS.copyPlan, arguments: [h.planCode], tooltip: 'Copy the reuse plan code to the clipboard' }),
          new vscode.CodeLens(range, { title: h.text, command: 'reuseLens.openReport', arguments: [id], tooltip: 'Open the Reuse Lens report' }),
        ];
      }
      return [new vscode.CodeLens(range, {
        title: h.text, command: 'reuseLens.openReport', arguments: [id, h.layers[0]],
        tooltip: `Open the Reuse Lens report at ${h.layers[0]}${h.layers.length > 1 ? ` (this line creates ${h.layers.length} layers)` : ''}`,
      })];
    });
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const a = await this.annotationOf(doc);
    const hint = a?.analysisId ? a.lines.find((h) => h.line === pos.line) : undefined;
    if (!a?.analysisId || !hint) return undefined;
    const line = doc.lineAt(pos.line);
    const range = new vscode.Range(pos.line, line.firstNonWhitespaceCharacterIndex, pos.line, line.range.end.character);
    if (!range.contains(pos)) return undefined;
    const report = (await this.refs()).find((r) => r.id === a.analysisId)?.report;
    if (!report) return undefined;
    return new vscode.Hover(hoverContent(hint, a, report), range);
  }

  dispose(): void { for (const s of this.subs) s.dispose(); this.changed.dispose(); }
}

function hoverContent(hint: LineHint, a: Annotation, report: AnalysisRef['report']): vscode.MarkdownString {
  const open = (layer?: string) => `command:reuseLens.openReport?${encodeURIComponent(JSON.stringify(layer ? [a.analysisId, layer] : [a.analysisId]))}`;
  const md = new vscode.MarkdownString(hoverMarkdown(hint, report, a.candidate));
  md.appendMarkdown(`\n\n[Open in report](${open(hint.layers[0])})`);
  md.isTrusted = { enabledCommands: ['reuseLens.openReport'] };
  return md;
}

async function insertPlan(uri: vscode.Uri, line: number, code: string): Promise<void> {
  if (typeof code !== 'string' || !(uri instanceof vscode.Uri)) return;
  const doc = await vscode.workspace.openTextDocument(uri);
  const indent = doc.lineAt(Math.min(line, doc.lineCount - 1)).text.match(/^\s*/)![0];
  const block = code.trimEnd().split('\n').map((l) => (l ? indent + l : l)).join('\n') + '\n\n';
  const edit = new vscode.WorkspaceEdit();
  edit.insert(uri, new vscode.Position(line, 0), block);
  if (await vscode.workspace.applyEdit(edit)) {
    void vscode.window.setStatusBarMessage('Reuse Lens: reuse plan inserted; call apply_reuse_plan(...) once the model is built', 5000);
  }
}

async function copyPlan(code: string): Promise<void> {
  if (typeof code !== 'string') return;
  await vscode.env.clipboard.writeText(code);
  void vscode.window.setStatusBarMessage('Reuse Lens: reuse plan copied', 4000);
}
