// Which top-level statements of a Python file can build the analysed layers, decided from their
// words alone (no parse, no tree walk): a class or function whose text holds a layer-name token,
// or that names such a definition (a factory calling the model class); the module's own
// statements when they do. `topLevelStatements` finds the statements in the text itself, so the
// parser can be given only those that matter (parseRanges), and a long file of training
// utilities costs what its few model definitions cost.
import { normalizeName } from './nameTokens';

/** A top-level statement: its text is `text.slice(start, end)`. */
export interface Statement {
  start: number;
  end: number;
  /** A class or function definition (decorated or not), with its name as written. */
  def: boolean;
  name?: string;
}

/** A definition's name, read from the source where it starts (`def name`, `async def name`, `class name`, after decorators). */
const DEF_NAME = /(?:@[^\n]*\n[ \t]*)*(?:async[ \t]+)?(?:def|class)[ \t]+([\p{ID_Start}_][\p{ID_Continue}]*)/uy;
export function defNameAt(text: string, start: number): string | undefined {
  DEF_NAME.lastIndex = start;
  return DEF_NAME.exec(text)?.[1];
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/g;
/** normalizeName of the words met, kept: a file repeats its words, and a pass runs per edit. */
const normalized = new Map<string, string>();
function norm(word: string): string {
  let n = normalized.get(word);
  if (n === undefined) {
    if (normalized.size > 100_000) normalized.clear();
    normalized.set(word, (n = normalizeName(word)));
  }
  return n;
}

export interface Relevance {
  /** Indices of the definitions that can build the layers. */
  defs: Set<number>;
  /** Whether the module's own statements can. */
  module: boolean;
  /** Per statement: the (normalized) names of the file's definitions it mentions. */
  mentions: Set<string>[];
  /** Per statement: its definition's normalized name. */
  names: (string | undefined)[];
}

/** `tokens`: nameTokens of the analyses' layer names; undefined: everything is relevant. */
export function relevanceOf(statements: readonly Statement[], text: string, tokens: readonly string[] | undefined): Relevance {
  const names = statements.map((s) => (s.def ? normalizeName(s.name ?? '') : undefined));
  const defNames = new Set(names.filter((n): n is string => !!n));
  const want = new Set(tokens ?? []);
  const hits: boolean[] = [];
  const mentions = statements.map((s) => {
    let hit = false;
    const out = new Set<string>();
    WORD.lastIndex = s.start;
    for (let m = WORD.exec(text); m && m.index < s.end; m = WORD.exec(text)) {
      const n = norm(m[0]);
      if (want.has(n)) hit = true;
      if (defNames.has(n)) out.add(n);
    }
    hits.push(hit);
    return out;
  });
  const all = statements.map((_, i) => i).filter((i) => statements[i].def);
  if (!tokens) return { defs: new Set(all), module: true, mentions, names };
  const relevant = new Set(all.filter((i) => hits[i]));
  for (let grew = true; grew;) {
    grew = false;
    const named = new Set([...relevant].map((i) => names[i]));
    for (const i of all) {
      if (relevant.has(i)) continue;
      for (const w of mentions[i]) if (named.has(w) && w !== names[i]) { relevant.add(i); grew = true; break; }
    }
  }
  const named = new Set([...relevant].map((i) => names[i]));
  const module = statements.some((s, i) => !s.def && (hits[i] || [...mentions[i]].some((x) => named.has(x))));
  return { defs: relevant, module, mentions, names };
}

// ---- statements from the text ---------------------------------------------------------------

const isBlank = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
/** Lines at column 0 that continue the statement above: clauses of if/try/for/while, and a decorated definition. */
const CONTINUES = /(?:else|elif|except|finally)\b/y;

/**
 * The top-level statements of Python source, found lexically: a statement starts on a line that
 * begins at column 0 outside brackets, strings and line continuations, and is no `else:`,
 * `except:`... clause of the one above; decorators go with their definition.
 */
export function topLevelStatements(text: string): Statement[] {
  const starts: number[] = [];
  const n = text.length;
  let depth = 0, atLineStart = true, continued = false, decorated = false;
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0 && !continued && !isBlank(c) && c !== 35 /* # */) {
        CONTINUES.lastIndex = i;
        if (!(starts.length && CONTINUES.test(text)) && !decorated) starts.push(i);
        decorated = c === 64; /* @ */
      }
      continued = false;
    }
    if (c === 35) { const e = text.indexOf('\n', i); i = e < 0 ? n : e; continue; }
    if (c === 92 /* \ */) {
      if (text.charCodeAt(i + 1) === 10 || (text.charCodeAt(i + 1) === 13 && text.charCodeAt(i + 2) === 10)) continued = true;
      i += 2;
      continue;
    }
    if (c === 34 || c === 39) { i = endOfString(text, i); continue; }
    if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) depth = Math.max(0, depth - 1);
    else if (c === 10) atLineStart = true;
    i++;
  }
  return starts.map((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1] : n;
    const name = defNameAt(text, start);
    return { start, end, def: name !== undefined, name };
  });
}

/** The offset after a string literal that starts at `i` (a quote); an unterminated one ends its line. */
function endOfString(text: string, i: number): number {
  const q = text.charCodeAt(i);
  const triple = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q;
  const n = text.length;
  let j = i + (triple ? 3 : 1);
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 92) { j += 2; continue; }
    if (c === q && (!triple || (text.charCodeAt(j + 1) === q && text.charCodeAt(j + 2) === q))) return j + (triple ? 3 : 1);
    if (c === 10 && !triple) return j;
    j++;
  }
  return n;
}

const IMPORT = /(?:import|from)\b/y;
const MENTIONS_IMPORT = /\bimport\b/;

/**
 * The parts of the text a code map needs parsed, as offsets: the definitions that can build the
 * layers and every definition they name (helpers, block classes), the module's statements when
 * they can build some, the imports, and statements holding `extra` offsets (load calls,
 * checkpoint names). Adjacent statements are merged.
 */
export function neededRanges(text: string, tokens: readonly string[], extra: readonly number[]): [number, number][] {
  const statements = topLevelStatements(text);
  const r = relevanceOf(statements, text, tokens);
  const need = new Set<number>(r.defs);
  const byName = new Map<string, number[]>();
  statements.forEach((s, i) => {
    const name = r.names[i];
    if (name) byName.set(name, [...(byName.get(name) ?? []), i]);
    if (!s.def) {
      if (r.module) need.add(i);
      IMPORT.lastIndex = s.start;
      if (IMPORT.test(text) || MENTIONS_IMPORT.test(text.slice(s.start, s.end))) need.add(i);
    }
  });
  let e = 0;
  for (const x of [...extra].sort((a, b) => a - b)) {
    while (e < statements.length && statements[e].end <= x) e++;
    if (e < statements.length && statements[e].start <= x) need.add(e);
  }
  // What the needed statements name, transitively: a block class, a conv3x3 helper.
  const queue = [...need];
  while (queue.length) {
    const i = queue.pop()!;
    for (const w of r.mentions[i]) for (const j of byName.get(w) ?? []) if (!need.has(j)) { need.add(j); queue.push(j); }
  }
  const out: [number, number][] = [];
  for (let i = 0; i < statements.length; i++) {
    if (!need.has(i)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === statements[i].start) last[1] = statements[i].end;
    else out.push([statements[i].start, statements[i].end]);
  }
  return out;
}
