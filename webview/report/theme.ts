// Verdict colours from the VS Code theme (charts.* colours exist in every theme, including
// high contrast), read at run time so a theme switch repaints in the new colours.
import type { Verdict } from '../../src/protocol';
import { cssVar } from './dom';

/** CSS variable (and fallback) per verdict; the stylesheet uses the same variables. */
export const VERDICT_VAR: Record<Verdict, [string, string]> = {
  reuse: ['--vscode-charts-green', '#89d185'],
  'fine-tune': ['--vscode-charts-yellow', '#cca700'],
  // The six chart colours are taken; every theme (high contrast included) defines the terminal's cyan.
  recalibrate: ['--vscode-terminal-ansiCyan', '#11a8cd'],
  retrain: ['--vscode-charts-red', '#f14c4c'],
  incompatible: ['--vscode-charts-purple', '#b180d7'],
  'source-only': ['--vscode-charts-blue', '#3794ff'],
  'target-only': ['--vscode-charts-orange', '#d18616'],
};

export const VERDICT_LABEL: Record<Verdict, string> = {
  reuse: 'reuse', 'fine-tune': 'fine-tune', recalibrate: 'recalibrate', retrain: 'retrain', incompatible: 'incompatible',
  'source-only': 'source only', 'target-only': 'target only',
};

export interface ThemeColors {
  verdict: Record<Verdict, string>;
  foreground: string;
  muted: string;
  grid: string;
  font: string;
  fontSize: number;
  selection: string;
  tooltipBg: string;
  tooltipFg: string;
  tooltipBorder: string;
  highContrast: boolean;
}

export function readTheme(): ThemeColors {
  const verdict = {} as Record<Verdict, string>;
  for (const [v, [name, fb]] of Object.entries(VERDICT_VAR) as [Verdict, [string, string]][]) verdict[v] = cssVar(name, fb);
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const hc = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  return {
    verdict,
    foreground: cssVar('--vscode-charts-foreground', fg),
    muted: cssVar('--vscode-descriptionForeground', fg),
    grid: cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.35)'),
    font: cssVar('--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: parseFloat(cssVar('--vscode-font-size', '13')) || 13,
    selection: cssVar('--vscode-focusBorder', '#007fd4'),
    tooltipBg: cssVar('--vscode-editorHoverWidget-background', '#252526'),
    tooltipFg: cssVar('--vscode-editorHoverWidget-foreground', fg),
    tooltipBorder: cssVar('--vscode-editorHoverWidget-border', '#454545'),
    highContrast: hc,
  };
}
