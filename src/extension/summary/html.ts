// The summary webview's page: the shared shell (strict CSP with a nonce, theme colours via CSS
// variables) with a placeholder until the script has the inspect result.
import * as vscode from 'vscode';
import { attr, makeNonce, webviewPage } from '../webviewHtml';

export function summaryHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  return webviewPage({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'summary.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'summary.css')).toString(),
    title,
    body: `<main id="app" aria-live="polite"><p class="muted">Reading ${attr(title)}…</p></main>\n`,
  });
}
