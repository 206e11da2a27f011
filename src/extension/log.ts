// The "Reuse Lens" output channel: worker starts/stops, requests and their durations, errors.
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function log(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('Reuse Lens', { log: true });
  return channel;
}

export function disposeLog(): void { channel?.dispose(); channel = undefined; }
