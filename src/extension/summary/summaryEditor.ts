// "Checkpoint summary": a read-only custom editor, so opening a .pt/.safetensors/... shows what
// is inside instead of "binary file". Headers first (fast), then statistics of every tensor
// (reads the data, in the worker). A file that cannot be read shows the reason in the editor.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { stat } from 'node:fs/promises';
import type { SummaryToWebview } from '../../protocol';
import { summaryHtml } from './html';
import { parseSummaryMessage } from './messages';
import { worker } from '../workerHost';
import { isCancelled } from '../worker/errors';
import { log } from '../log';

export const SUMMARY_VIEW_TYPE = 'reuseLens.checkpointSummary';
/** Same editor, `priority: option`, for extensions other tools also use (.bin, .h5, .npz). */
export const SUMMARY_OPTION_VIEW_TYPE = 'reuseLens.checkpointSummaryOption';

/** The summary's viewType whose selector matches this file (package.json customEditors). */
export function summaryViewTypeFor(file: string): string {
  return /\.(bin|h5|npz)$/i.test(file) ? SUMMARY_OPTION_VIEW_TYPE : SUMMARY_VIEW_TYPE;
}

export class CheckpointSummaryProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly context: vscode.ExtensionContext) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const uri = document.uri;
    const fileName = path.basename(uri.fsPath);
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')],
    };
    webview.html = summaryHtml(webview, this.context.extensionUri, fileName);
    // The page is rebuilt each time its tab becomes visible (no retainContextWhenHidden); it then
    // says 'ready' again. The last thing shown is kept with the file's stamp and shown again, so
    // switching tabs neither re-reads the checkpoint nor restarts a statistics pass in progress.
    let last: SummaryToWebview | undefined;
    let lastStamp: string | undefined;
    let inFlight = false;
    const stampOf = async (f: string) => { try { const st = await stat(f); return `${st.size}:${st.mtimeMs}`; } catch { return 'gone'; } };
    const post = (m: SummaryToWebview) => {
      if (m.type !== 'loading') last = m;
      void webview.postMessage(m);
    };
    const showAgainOrLoad = async () => {
      if (inFlight) { void webview.postMessage(last ?? { type: 'loading', path: uri.fsPath, fileName }); return; }
      if (last && (await stampOf(uri.fsPath)) === lastStamp) { void webview.postMessage(last); return; }
      void load();
    };
    let cts: vscode.CancellationTokenSource | undefined;
    let disposed = false;

    const load = async () => {
      cts?.cancel();
      const mine = (cts = new vscode.CancellationTokenSource());
      const p = uri.fsPath;
      if (uri.scheme !== 'file') { post({ type: 'error', path: p, fileName, message: `${uri.toString()} is not a local file; Reuse Lens reads files on disk.` }); return; }
      post({ type: 'loading', path: p, fileName });
      inFlight = true;
      lastStamp = await stampOf(p);
      try {
        const headers = await worker(this.context).inspect({ path: p }, mine.token);
        if (disposed || mine !== cts) return;
        post({ type: 'summary', path: p, fileName, result: headers, withStats: false });
        try {
          const full = await worker(this.context).inspect({ path: p, stats: true }, mine.token);
          if (!disposed && mine === cts) post({ type: 'summary', path: p, fileName, result: full, withStats: true });
        } catch (e) {
          if (!disposed && mine === cts && !isCancelled(e)) post({ type: 'summary', path: p, fileName, result: headers, withStats: false, statsError: (e as Error).message });
        }
      } catch (e) {
        if (disposed || isCancelled(e)) return;
        log().warn(`summary of ${p}: ${(e as Error).message}`);
        post({ type: 'error', path: p, fileName, message: (e as Error).message });
      } finally {
        if (mine === cts) inFlight = false;
      }
    };

    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
    let reloadTimer: NodeJS.Timeout | undefined;
    const reloadSoon = () => { if (reloadTimer) clearTimeout(reloadTimer); reloadTimer = setTimeout(() => void load(), 500); };
    watcher.onDidChange(reloadSoon);
    watcher.onDidCreate(reloadSoon);
    watcher.onDidDelete(() => post({ type: 'error', path: uri.fsPath, fileName, message: `${uri.fsPath} was deleted.` }));

    const sub = webview.onDidReceiveMessage((raw) => {
      const m = parseSummaryMessage(raw);
      if (!m) { log().warn(`summary webview sent an unknown message; ignored`); return; }
      switch (m.type) {
        case 'ready': void showAgainOrLoad(); break;
        case 'reload': void load(); break;
        case 'analyze': void vscode.commands.executeCommand('reuseLens.analyze', uri); break;
        case 'selectSource': void vscode.commands.executeCommand('reuseLens.selectSource', uri); break;
        case 'compareWithSource': void vscode.commands.executeCommand('reuseLens.compareWithSource', uri); break;
      }
    });
    panel.onDidDispose(() => {
      disposed = true;
      cts?.cancel();
      if (reloadTimer) clearTimeout(reloadTimer);
      watcher.dispose();
      sub.dispose();
    });
  }
}
