// The extension's settings (contributes.configuration in package.json), read in one place.
import * as vscode from 'vscode';
import { DEFAULT_OPTIONS, type AnalyzeOptions } from '../protocol';

export const DEFAULT_INCLUDE = ['**/*.{pt,pth,bin,ckpt,safetensors,npz,npy,h5,keras,onnx,tflite}', '**/model.json', '**/*weights_manifest.json', '**/*.safetensors.index.json'];
export const DEFAULT_EXCLUDE = ['**/{node_modules,.git,.venv,venv}/**'];

export interface Settings {
  include: string[];
  exclude: string[];
  options: AnalyzeOptions;
  memoryLimitMb: number;
  timeLimitSeconds: number;
  followSymlinks: boolean;
  hints: boolean;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('reuseLens');
  const metric = c.get<string>('thresholds.metric') === 'rmse' ? 'rmse' : 'relRmse';
  const reuseBelow = num(c.get('thresholds.reuseBelow'), DEFAULT_OPTIONS.reuseBelow);
  return {
    include: strings(c.get('include'), DEFAULT_INCLUDE),
    exclude: strings(c.get('exclude'), DEFAULT_EXCLUDE),
    options: {
      metric,
      reuseBelow,
      // The settings schema cannot tie the two together: a reuse threshold above the fine-tune
      // one means "no fine-tune band", not an invalid report.
      fineTuneBelow: Math.max(reuseBelow, num(c.get('thresholds.fineTuneBelow'), DEFAULT_OPTIONS.fineTuneBelow)),
      prefixRules: strings(c.get('prefixRules'), DEFAULT_OPTIONS.prefixRules),
    },
    memoryLimitMb: Math.max(256, Math.floor(num(c.get('worker.memoryLimitMb'), 4096))),
    timeLimitSeconds: Math.max(0, num(c.get('worker.timeLimitSeconds'), 1800)),
    followSymlinks: c.get<boolean>('followSymlinks') === true,
    hints: c.get<boolean>('hints.enabled') !== false,
  };
}

function strings(v: unknown, dflt: string[]): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : dflt;
}
function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}
