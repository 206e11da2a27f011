// `reuse-lens annotate`: the inline hints of the editor, for CI and code review. Each line of
// model code that creates (or loads) layers of the analysed checkpoints, with its layers and hint.
import { readFile } from 'node:fs/promises';
import { analyzePaths } from '../core/analysis/engine';
import { annotate, type Annotation } from '../core/codemap/annotate';
import { nameTokens } from '../core/codemap/nameTokens';
import { CheckpointError } from '../core/common/errors';
import type { Report } from '../core/shared/reportTypes';
import { isReport } from '../protocol';

export interface AnnotationsJson {
  schema: 'reuse-lens/annotations@1';
  file: string;
  source: string;
  target: string;
  /** How the code builds the network the checkpoint is (`resnet18()`), or null when nothing matches. */
  model: string | null;
  /** F1 of the code's module paths against the checkpoint's layer names (0..1). */
  score: number;
  /** 1-based line and column. */
  lines: { line: number; column: number; kind: 'layers' | 'load'; layers: string[]; verdict: string; text: string }[];
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(file, code === 'ENOENT' ? `no such ${what}` : code === 'EISDIR' ? `is a folder, not a ${what}` : `cannot read: ${(e as Error).message}`);
  }
}

async function reportFrom(file: string): Promise<Report> {
  let v: unknown;
  try {
    v = JSON.parse(await readText(file, 'report'));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(file, `not JSON: ${(e as Error).message}`);
  }
  if (!isReport(v)) throw new CheckpointError(file, 'not a Reuse Lens report (schema reuse-lens/report@1, as `compare --json` prints)');
  return v;
}

export async function runAnnotate(cmd: { code: string; source?: string; target?: string; report?: string }): Promise<{ report: Report; annotation: Annotation; json: AnnotationsJson }> {
  const [text, report] = await Promise.all([
    readText(cmd.code, 'Python file'),
    cmd.report ? reportFrom(cmd.report) : analyzePaths(cmd.source!, cmd.target!, {}),
  ]);
  const tokens = nameTokens(report.layers.flatMap((l) => (l.targetName && l.targetName !== l.name ? [l.name, l.targetName] : [l.name])));
  // The parser and interpreter are a bundle of their own (dist/codemap.js): compare and inspect never load them.
  const { codeMapOf } = require('../core/codemap/service') as typeof import('../core/codemap/service');
  const annotation = annotate(await codeMapOf(text, undefined, tokens), [{ id: 'cli', report }]);
  const json: AnnotationsJson = {
    schema: 'reuse-lens/annotations@1', file: cmd.code, source: report.source.path, target: report.target.path,
    model: annotation.candidate ?? null, score: Number(annotation.score.toFixed(4)),
    lines: annotation.lines.map((l) => ({ line: l.line + 1, column: l.column + 1, kind: l.kind, layers: l.layers, verdict: l.verdict, text: l.text })),
  };
  return { report, annotation, json };
}

/** One line per mapped line of code: number, hint, then its layers (the first few). */
export function formatAnnotations(j: AnnotationsJson): string {
  const head = j.model
    ? `${j.file}: read as ${j.model} (${Math.round(j.score * 100)}% of names match) against ${j.source} → ${j.target}`
    : `${j.file}: no network in this file matches the layers of ${j.source} → ${j.target}`;
  const width = String(Math.max(1, ...j.lines.map((l) => l.line))).length;
  const rows = j.lines.map((l) => {
    const shown = l.layers.slice(0, 6).join(', ') + (l.layers.length > 6 ? `, … (${l.layers.length} layers)` : '');
    return `${String(l.line).padStart(width)}  ${l.text}${shown ? `  [${shown}]` : ''}`;
  });
  return [head, ...rows].join('\n') + '\n';
}
