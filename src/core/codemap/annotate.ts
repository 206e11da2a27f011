// A code map joined with analyses: which network of the file the checkpoint is, which analysis
// the file belongs to, and for each line that creates or loads layers, those layers and what to
// show. Pure (no parser, no I/O): the extension host runs it on every CodeLens pass, the CLI
// once; `reuse-lens annotate --json` prints its result.
import type { LayerReport, Report } from '../shared/reportTypes';
import { fmt } from '../shared/verdicts';
import { planKeras, planPytorch } from '../shared/exports';
import type { Candidate, CodeMap, CodeMapNode } from './codeMap';

export interface AnalysisRef { id: string; report: Report }

export interface LineHint {
  /** 0-based line and column (the CLI prints lines 1-based). */
  line: number;
  column: number;
  kind: 'layers' | 'load';
  /** Layers of the report the line creates (names as in the report); none on a load line. */
  layers: string[];
  /** The layers' common verdict, `mixed`, or on a load line the network's verdict. */
  verdict: string;
  /** The one-line summary (the CodeLens title). */
  text: string;
  /** Load lines: the reuse plan as code for the file's framework. */
  planCode?: string;
  /** Load lines of a file that already holds a reuse plan (one was inserted): not offered to insert another. */
  planInFile?: boolean;
}

export interface Annotation {
  /** The analysis the file belongs to (undefined: none matches). */
  analysisId?: string;
  /** How the matched network is built (`resnet18()`, `class VGG`) and how well its names match (F1, 0..1). */
  candidate?: string;
  score: number;
  /** Why this analysis: its layer names match the code, or the file names its checkpoint. */
  matchedBy?: 'layers' | 'checkpoint-name';
  lines: LineHint[];
}

/** F1 of a candidate's names against a report's below this: not the same network. */
export const MIN_SCORE = 0.4;

/** Verdicts in the order a summary lists them; others (added later) follow in order met. */
const VERDICT_ORDER = ['reuse', 'fine-tune', 'recalibrate', 'retrain', 'incompatible', 'source-only', 'target-only'];

// ---- names ----------------------------------------------------------------------------------

interface NameIndex { sorted: { name: string; layer: number }[]; layers: readonly LayerReport[] }

/** Module paths are dotted; TF.js and Keras layers are named as their files spell them (`backbone/conv2d`). */
const dotted = (name: string) => name.replace(/\//g, '.');

function indexNames(report: Report): NameIndex {
  const sorted: { name: string; layer: number }[] = [];
  report.layers.forEach((l, i) => {
    sorted.push({ name: dotted(l.name), layer: i });
    if (l.targetName && l.targetName !== l.name) sorted.push({ name: dotted(l.targetName), layer: i });
  });
  sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { sorted, layers: report.layers };
}

function lowerBound(arr: { name: string }[], key: string): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid].name < key) lo = mid + 1; else hi = mid; }
  return lo;
}

const patternCache = new Map<string, RegExp>();
function patternOf(path: string): RegExp {
  let re = patternCache.get(path);
  if (!re) {
    const body = path.split('.').map((s) => (s === '*' ? '[^.]+' : /^#\d+$/.test(s) ? '(\\d+)' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('\\.');
    re = new RegExp(`^${body}(?:\\.|$)`);
    if (patternCache.size > 10_000) patternCache.clear();
    patternCache.set(path, re);
  }
  return re;
}

/** Indices of the report layers at or under a module path (`#k` segments: an index from k on). */
function layersUnder(ix: NameIndex, path: string): number[] {
  const out: number[] = [];
  if (!path.includes('#') && !path.includes('*')) {
    for (let i = lowerBound(ix.sorted, path); i < ix.sorted.length; i++) {
      const n = ix.sorted[i].name;
      if (!n.startsWith(path)) break;
      if (n.length === path.length || n[path.length] === '.') out.push(ix.sorted[i].layer);
    }
    return out;
  }
  const mins = path.split('.').filter((s) => /^#\d+$/.test(s)).map((s) => Number(s.slice(1)));
  const re = patternOf(path);
  for (const e of ix.sorted) {
    const m = re.exec(e.name);
    if (m && mins.every((min, k) => Number(m[k + 1]) >= min)) out.push(e.layer);
  }
  return out;
}

// ---- which network, which analysis ----------------------------------------------------------

interface Match { candidate: Candidate; prefix: string; score: number; layersOf: Map<CodeMapNode, number[]> }

function scoreCandidate(c: Candidate, ix: NameIndex, prefix: string): Match {
  const layersOf = new Map<CodeMapNode, number[]>();
  const explained = new Set<number>();
  let leaves = 0, hit = 0;
  for (const n of c.nodes) {
    const ls = layersUnder(ix, prefix + n.path);
    layersOf.set(n, ls);
    if (!n.leaf) continue;
    leaves++;
    if (ls.length) hit++;
    for (const l of ls) explained.add(l);
  }
  const precision = leaves ? hit / leaves : 0;
  const recall = ix.layers.length ? explained.size / ix.layers.length : 0;
  const score = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { candidate: c, prefix, score, layersOf };
}

/** Name prefixes under which the checkpoint may hold the candidate (`backbone.`, `model.`). */
function prefixesFor(c: Candidate, ix: NameIndex): string[] {
  const out = new Set<string>(['']);
  const concrete = c.nodes.filter((n) => n.leaf && !/[#*]/.test(n.path)).slice(0, 3);
  for (const n of concrete) {
    for (const e of ix.sorted) {
      if (out.size > 4) break;
      const at = e.name.endsWith(`.${n.path}`) ? e.name.length - n.path.length : -1;
      if (at > 0) out.add(e.name.slice(0, at));
    }
  }
  return [...out];
}

function bestMatch(map: CodeMap, report: Report): Match | undefined {
  const ix = indexNames(report);
  let best: Match | undefined;
  for (const c of map.candidates) {
    for (const p of prefixesFor(c, ix)) {
      const m = scoreCandidate(c, ix, p);
      if (!best || m.score > best.score) best = m;
    }
  }
  return best;
}

const base = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** Does a string in the code name this report's source or target checkpoint? */
function namesCheckpointOf(map: CodeMap, report: Report): boolean {
  const files = [report.source.path, report.target.path].map((p) => p.replace(/\\/g, '/'));
  return map.checkpointNames.some((s) => {
    const n = s.replace(/\\/g, '/');
    return files.some((f) => f === n || f.endsWith(`/${n.replace(/^\.\//, '')}`) || base(f) === base(n));
  });
}

// ---- texts ----------------------------------------------------------------------------------

function verdictCounts(layers: readonly LayerReport[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const l of layers) counts.set(l.verdict, (counts.get(l.verdict) ?? 0) + 1);
  const known = VERDICT_ORDER.filter((v) => counts.has(v));
  const other = [...counts.keys()].filter((v) => !VERDICT_ORDER.includes(v));
  return [...known, ...other].map((v) => [v, counts.get(v)!]);
}

/** "reuse ×8 · rel. RMSE 0.002–0.016": the verdicts of a line's layers and the range of their kernel metric. */
export function summariseLayers(layers: readonly LayerReport[], metric: 'relRmse' | 'rmse'): string {
  const parts = verdictCounts(layers).map(([v, n]) => (layers.length === 1 ? v : `${v} ×${n}`));
  const xs = layers.map((l) => (metric === 'rmse' ? l.kernelRmse : l.kernelRelRmse)).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (xs.length) {
    const lo = Math.min(...xs), hi = Math.max(...xs);
    parts.push(`${metric === 'rmse' ? 'RMSE' : 'rel. RMSE'} ${lo === hi ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`}`);
  }
  return parts.join(' · ');
}

/** The plan on a load line: what to copy, freeze and train, and the network's verdict. */
export function summarisePlan(report: Report): string {
  const counts = verdictCounts(report.layers).map(([v, n]) => `${v} ×${n}`).join(' · ');
  return `reuse plan: ${counts} — network ${report.summary.network.verdict}${report.summary.network.estimate ? ' (estimate)' : ''}`;
}

function planCodeFor(report: Report, framework: 'pytorch' | 'keras'): string {
  return framework === 'keras' ? planKeras(report) : planPytorch(report);
}

function frameworkOf(report: Report, m: Match | undefined): 'pytorch' | 'keras' {
  if (m) return m.candidate.framework;
  return /keras|tfjs/i.test(report.source.format) ? 'keras' : 'pytorch';
}

// ---- the join -------------------------------------------------------------------------------

/**
 * The analysis the file belongs to (best name match, not simply the latest; `analyses` newest
 * first breaks ties) and the hint of every line that creates its layers or loads weights.
 */
export function annotate(map: CodeMap, analyses: readonly AnalysisRef[]): Annotation {
  if (!analyses.length || (!map.candidates.length && !map.loads.length)) return { score: 0, lines: [] };
  let chosen: { a: AnalysisRef; m: Match } | undefined;
  for (const a of analyses) {
    if (!map.candidates.length) break;
    const m = bestMatch(map, a.report);
    if (m && m.score >= MIN_SCORE && (!chosen || m.score > chosen.m.score)) chosen = { a, m };
  }
  if (!chosen) {
    // No network of the file is the checkpoint's; a file that names the checkpoint still gets its load lines.
    const named = map.loads.length ? analyses.find((a) => namesCheckpointOf(map, a.report)) : undefined;
    if (!named) return { score: 0, lines: [] };
    return { analysisId: named.id, score: 0, matchedBy: 'checkpoint-name', lines: loadLines(map, named.report, undefined) };
  }
  const { a, m } = chosen;
  const report = a.report;
  const byLine = new Map<number, { column: number; layers: Set<number> }>();
  for (const n of m.candidate.nodes) {
    const ls = m.layersOf.get(n) ?? [];
    if (!ls.length) continue;
    for (const [line, column] of n.sites) {
      let e = byLine.get(line);
      if (!e) byLine.set(line, (e = { column, layers: new Set() }));
      e.column = Math.min(e.column, column);
      for (const l of ls) e.layers.add(l);
    }
  }
  const metric = report.options.metric;
  const lines: LineHint[] = [...byLine].map(([line, e]) => {
    const layers = [...e.layers].sort((x, y) => x - y).map((i) => report.layers[i]);
    const verdicts = new Set(layers.map((l) => l.verdict));
    return {
      line, column: e.column, kind: 'layers' as const, layers: layers.map((l) => l.name),
      verdict: verdicts.size === 1 ? layers[0].verdict : 'mixed', text: summariseLayers(layers, metric),
    };
  });
  lines.push(...loadLines(map, report, m));
  lines.sort((x, y) => x.line - y.line || x.column - y.column);
  return { analysisId: a.id, candidate: m.candidate.name + (m.prefix ? ` under ${m.prefix.replace(/\.$/, '')}` : ''), score: m.score, matchedBy: 'layers', lines };
}

function loadLines(map: CodeMap, report: Report, m: Match | undefined): LineHint[] {
  if (!map.loads.length) return [];
  const text = summarisePlan(report);
  const planCode = planCodeFor(report, frameworkOf(report, m));
  return map.loads.map((l) => ({
    line: l.line, column: l.column, kind: 'load' as const, layers: [], verdict: report.summary.network.verdict, text, planCode,
    ...(map.planInFile ? { planInFile: true } : {}),
  }));
}

/** The hover of a line: which analysis, then each layer's numbers and reason. */
export function hoverMarkdown(hint: LineHint, report: Report, candidate: string | undefined, max = 40): string {
  const name = (p: string) => base(p).replace(/[\\`*_[\]]/g, '\\$&');
  const head = `**Reuse Lens** — ${name(report.source.path)} → ${name(report.target.path)}${candidate ? ` (code read as \`${candidate}\`)` : ''}`;
  if (hint.kind === 'load') return `${head}\n\n${hint.text}\n\n${report.summary.text}`;
  const byName = new Map(report.layers.map((l) => [l.name, l]));
  const rows = hint.layers.slice(0, max).map((n) => {
    const l = byName.get(n);
    if (!l) return `- \`${n}\``;
    return `- \`${n}\` **${l.verdict}** — RMSE ${fmt(l.kernelRmse)}, rel. ${fmt(l.kernelRelRmse)}: ${l.reason}`;
  });
  if (hint.layers.length > max) rows.push(`- … and ${hint.layers.length - max} more`);
  return `${head}\n\n${hint.text}\n\n${rows.join('\n')}`;
}
