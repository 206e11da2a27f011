// The report panel's host side: one WebviewPanel per analysis, restored after a window reload
// (WebviewPanelSerializer), answering the page's requests. Every message from the page is
// validated (parseFromReportWebview) and every path or tensor name it leads to is taken from
// the host's own copy of the report, never from the page.
import * as vscode from 'vscode';
import * as path from 'node:path';
import {
  REPORT_VIEW_TYPE, parseFromReportWebview, parseReportWebviewState,
  type FilterGrid, type FilterTensor, type FromReportWebview, type Report, type Thresholds, type ToReportWebview,
} from '../../protocol';
import { getAnalysisStore } from '../analysisStore';
import { log } from '../log';
import { worker } from '../workerHost';
import { EXPORT_NAME, filterTensorsOf, languageFor } from './exportTarget';
import { readSettings } from '../settings';
import { makeNonce, missingReportHtml, reportHtml } from './html';
import { getExperimentStore } from '../experiments/experimentStore';
import { reportMessages } from './reportMessages';

/** Command the Reuse Analysis view and `reuseLens.openReport` call: (analysisId, layerName?). */
export const SHOW_REPORT_COMMAND = 'reuseLens.showReport';

/** Largest conv weight sent to the page for filter images. */
const MAX_FILTER_ELEMENTS = 200_000;

const panels = new Map<string, ReportPanel>();

/** JSON (the worker's IPC) turns NaN into null; postMessage keeps NaN, which the page draws as missing. */
function numbers(values: readonly unknown[]): number[] {
  return values.map((v) => (typeof v === 'number' ? v : NaN));
}

function webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    // The page loads only our bundle and stylesheet; nothing from the workspace or the web.
    localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
    // The page keeps its state with setState and redraws from it, so a hidden panel needs no memory.
    retainContextWhenHidden: false,
    enableFindWidget: true,
  };
}

function titleOf(report: Report): string {
  return `Reuse: ${path.basename(report.source.path)} → ${path.basename(report.target.path)}`;
}

function currentThresholds(): Thresholds {
  const { metric, reuseBelow, fineTuneBelow } = readSettings().options;
  return { metric, reuseBelow, fineTuneBelow };
}

class ReportPanel {
  private readonly disposables: vscode.Disposable[] = [];
  private select: string | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly panel: vscode.WebviewPanel,
    private analysisId: string,
    private report: Report,
    select?: string,
  ) {
    this.select = select;
    panel.webview.options = webviewOptions(context);
    panel.title = titleOf(report);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'reuse-lens.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const m = parseFromReportWebview(raw);
        if (!m) { log().warn(`report panel: dropped an unexpected message from the page: ${JSON.stringify(raw)?.slice(0, 200)}`); return; }
        void this.handle(m).catch((e: unknown) => log().error(`report panel: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
      }),
      panel.onDidDispose(() => this.dispose()),
      // Hidden, the page is discarded (no retained context); it is rebuilt and asks again.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.delivered = false; }),
      getExperimentStore().onDidChange((id) => { if (id === this.analysisId) this.sendExperiment(); }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        // The store re-judges under the new thresholds: show those verdicts, like the tree does.
        if (e.affectsConfiguration('reuseLens.thresholds')) {
          void getAnalysisStore().getReport(analysisId).then((r) => { if (r) this.report = r; this.sendReport(); }, () => this.sendReport());
        }
      }),
    );
    panels.set(analysisId, this);
  }

  show(report: Report, select?: string): void {
    const shown = this.delivered && this.panel.visible;
    this.report = report;
    this.panel.title = titleOf(report);
    this.panel.reveal(undefined, false);
    // The page already shows this analysis: only move to the layer (an inline hint's click),
    // rather than send the whole report again.
    if (shown && select) { this.post({ type: 'revealLayer', layer: select }); return; }
    this.select = select;
    this.sendReport();
  }

  /** The visible page has been sent the report (it keeps it until the panel is hidden and rebuilt). */
  private delivered = false;

  private html(): string {
    const w = this.panel.webview;
    const uri = (...p: string[]) => w.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, ...p)).toString();
    return reportHtml({ cspSource: w.cspSource, nonce: makeNonce(), scriptUri: uri('dist', 'webview', 'report.js'), styleUri: uri('media', 'report.css'), title: titleOf(this.report) });
  }

  private post(m: ToReportWebview): void {
    void this.panel.webview.postMessage(m);
  }

  /** Bumped by every sendReport: a send still under way stops when a newer one starts. */
  private sending = 0;

  private sendReport(): void {
    const messages = reportMessages(this.analysisId, this.report, currentThresholds(), this.select);
    const sending = ++this.sending;
    // A large report is several messages. The first screen is handed over alone, so it is not
    // queued behind the rest; the pieces after it follow one event-loop turn apart (serialising
    // 50,000 layers never blocks the host in one go) without waiting for the page to acknowledge
    // each, which would cost a round trip through the workbench per 5,000 layers. A newer send
    // cuts an older one short; pieces already posted arrive before its first message (in order),
    // and the page drops pieces that do not follow what it has.
    void (async () => {
      const handedOver: Thenable<boolean>[] = [];
      for (const [i, m] of messages.entries()) {
        if (sending !== this.sending) break;
        const posted = this.panel.webview.postMessage(m);
        if (i === 0) await posted;
        else { handedOver.push(posted); await new Promise((r) => setImmediate(r)); }
      }
      await Promise.all(handedOver);
    })().catch((e: unknown) => log().error(`report panel: ${e instanceof Error ? e.message : String(e)}`));
    this.sendExperiment();
    // A hidden page is rebuilt on reveal and asks again ('ready'): keep the layer to select until a visible page got it.
    if (this.panel.visible) { this.select = undefined; this.delivered = true; }
  }

  private sendExperiment(): void {
    const experiments = getExperimentStore();
    this.post({ type: 'experiment', result: experiments.get(this.analysisId) ?? null, running: experiments.isRunning(this.analysisId) });
  }

  private async handle(m: FromReportWebview): Promise<void> {
    switch (m.type) {
      case 'runExperiment':
        await vscode.commands.executeCommand('reuseLens.runExperiment', this.analysisId);
        return;
      case 'ready':
        this.delivered = false;
        this.sendReport();
        return;
      case 'requestGrid': {
        let grid: FilterGrid | null = null, error: string | undefined;
        try {
          const layer = this.report.layers.find((l) => l.name === m.layer);
          if (!layer) error = `no layer ${m.layer} in this report`;
          else {
            const res = await getAnalysisStore().filterGrids(this.analysisId, m.layer);
            const g = res?.grids.find((x) => x.role === 'weight') ?? res?.grids[0];
            if (g) grid = { rows: g.rows, cols: g.cols, values: numbers(g.values) };
            else error = 'the grid is no longer available (the worker restarted); run the analysis again to see it';
          }
        } catch (e) { error = e instanceof Error ? e.message : String(e); }
        this.post({ type: 'grid', requestId: m.requestId, layer: m.layer, grid, error });
        return;
      }
      case 'requestFilters': {
        let source: FilterTensor | null = null, target: FilterTensor | null = null, error: string | undefined;
        const names = filterTensorsOf(this.report, m.layer, MAX_FILTER_ELEMENTS);
        if ('error' in names) error = names.error;
        else {
          try {
            const w = worker(this.context);
            const [s, t] = await Promise.all([
              w.readTensor({ path: this.report.source.path, name: names.sourceName, maxElements: MAX_FILTER_ELEMENTS }),
              w.readTensor({ path: this.report.target.path, name: names.targetName, maxElements: MAX_FILTER_ELEMENTS }),
            ]);
            source = s.shape.length === 4 ? { shape: s.shape, values: numbers(s.values) } : null;
            target = t.shape.length === 4 ? { shape: t.shape, values: numbers(t.values) } : null;
          } catch (e) { error = e instanceof Error ? e.message : String(e); }
        }
        this.post({ type: 'filters', requestId: m.requestId, layer: m.layer, source, target, error });
        return;
      }
      case 'saveThresholds': {
        const c = vscode.workspace.getConfiguration('reuseLens');
        // Where the user already set thresholds for this workspace, update them there; else in user settings.
        const inWorkspace = ['thresholds.metric', 'thresholds.reuseBelow', 'thresholds.fineTuneBelow']
          .some((k) => c.inspect(k)?.workspaceValue !== undefined);
        const target = inWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
        try {
          await c.update('thresholds.metric', m.thresholds.metric, target);
          await c.update('thresholds.reuseBelow', m.thresholds.reuseBelow, target);
          await c.update('thresholds.fineTuneBelow', m.thresholds.fineTuneBelow, target);
          this.post({ type: 'notice', level: 'info', text: `Saved to your ${inWorkspace ? 'workspace' : 'user'} settings: reuse below ${m.thresholds.reuseBelow}, retrain from ${m.thresholds.fineTuneBelow} (${m.thresholds.metric === 'rmse' ? 'RMSE' : 'relative RMSE'}). New analyses use them.` });
        } catch (e) {
          this.post({ type: 'notice', level: 'error', text: `Could not save the thresholds: ${e instanceof Error ? e.message : String(e)}` });
        }
        return;
      }
      case 'export': {
        if (m.destination === 'clipboard') {
          await vscode.env.clipboard.writeText(m.content);
          this.post({ type: 'notice', level: 'info', text: `Copied the ${EXPORT_NAME[m.format]} to the clipboard.` });
        } else {
          const language = languageFor(m.format, await vscode.languages.getLanguages());
          const doc = await vscode.workspace.openTextDocument({ language, content: m.content });
          await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
        }
        return;
      }
      case 'reveal': {
        const p = m.side === 'source' ? this.report.source.path : this.report.target.path;
        const uri = vscode.Uri.file(p);
        try {
          const stat = await vscode.workspace.fs.stat(uri);
          if (stat.type & vscode.FileType.Directory) await vscode.commands.executeCommand('revealInExplorer', uri);
          else await vscode.commands.executeCommand('vscode.open', uri, { viewColumn: vscode.ViewColumn.Beside });
        } catch {
          this.post({ type: 'notice', level: 'error', text: `${p} is not there any more.` });
        }
        return;
      }
    }
  }

  dispose(): void {
    if (panels.get(this.analysisId) === this) panels.delete(this.analysisId);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** Opens (or brings forward) the panel of one analysis; `select` names a layer to show first. */
export function showReportPanel(context: vscode.ExtensionContext, analysisId: string, report: Report, select?: string): vscode.WebviewPanel {
  const open = panels.get(analysisId);
  if (open) { open.show(report, select); return open.panel; }
  const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, titleOf(report), vscode.ViewColumn.Active, webviewOptions(context));
  new ReportPanel(context, panel, analysisId, report, select);
  return panel;
}

/** The panels open now, by analysis id (for tests and the e2e suite). */
export function openReportPanels(): string[] { return [...panels.keys()]; }

/**
 * Registers the `reuseLens.showReport` command and the serializer that brings panels back after
 * a reload. Call once from activate(); needs `onWebviewPanel:reuseLens.report` in activationEvents.
 */
export function registerReportPanel(context: vscode.ExtensionContext): vscode.Disposable {
  const command = vscode.commands.registerCommand(SHOW_REPORT_COMMAND, async (analysisId: unknown, layer?: unknown) => {
    if (typeof analysisId !== 'string') return undefined;
    const report = await getAnalysisStore().getReport(analysisId);
    if (!report) {
      void vscode.window.showWarningMessage('Reuse Lens: this report is no longer stored; run the analysis again.');
      return undefined;
    }
    showReportPanel(context, analysisId, report, typeof layer === 'string' ? layer : undefined);
    return undefined;
  });
  const serializer = vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      const s = parseReportWebviewState(state);
      let report: Report | undefined;
      if (s) {
        // The cached report is the truth (it may have been re-run); the page's copy is the fallback.
        try { report = await getAnalysisStore().getReport(s.analysisId); } catch { report = undefined; }
        report ??= s.report;
      }
      if (!s || !report || panels.has(s.analysisId)) {
        panel.webview.options = { enableScripts: false, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'media')] };
        const css = panel.webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'media', 'report.css')).toString();
        panel.webview.html = missingReportHtml(panel.webview.cspSource, css,
          'This reuse report is no longer available. Open it again from the Reuse Analysis view, or run the analysis again.');
        return;
      }
      new ReportPanel(context, panel, s.analysisId, report);
    },
  });
  return vscode.Disposable.from(command, serializer, { dispose: () => { for (const p of [...panels.values()]) p.panel.dispose(); } });
}
