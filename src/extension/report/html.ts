// The report panel's HTML: the shared webview shell (../webviewHtml.ts), and the page shown when
// a restored panel's report is gone.
import { attr, makeNonce, webviewCsp, webviewPage, WebviewPageInput } from '../webviewHtml';

export { makeNonce };
export const reportCsp = webviewCsp;
export type ReportHtmlInput = Omit<WebviewPageInput, 'body'>;
export const reportHtml = (i: ReportHtmlInput): string => webviewPage(i);

/** Shown when a restored panel's report is gone (cache cleared): says what to do instead of a blank page. */
export function missingReportHtml(cspSource: string, styleUri: string, text: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(`default-src 'none'; style-src ${cspSource}`)}">
<link rel="stylesheet" href="${attr(styleUri)}">
</head>
<body><p class="loading">${attr(text)}</p></body>
</html>`;
}
