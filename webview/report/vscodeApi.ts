// The webview's only channel to the host, typed with the protocol's messages.
import type { FromReportWebview, ReportWebviewState } from '../../src/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function post(message: FromReportWebview): void { api.postMessage(message); }
export function saveState(state: ReportWebviewState): void { api.setState(state); }
export function loadState(): unknown { return api.getState(); }
