// The one exclude glob of the search for checkpoints: `files.exclude` and `reuseLens.exclude`
// together. Pure (no vscode here): tested in Node.
//
// Why: `workspace.findFiles(include, exclude)` applies the user's `files.exclude` only when
// `exclude` is undefined; any other value REPLACES it. Passing `reuseLens.exclude` alone made
// files the user hid with `files.exclude` (hidden in the Explorer too) show up in the Checkpoints
// view. A VS Code user expects both to apply, so both go into the one glob findFiles takes: `{a,b,c}`.
//
// VS Code's glob reads one level of braces only: in `{a,**/{b,c}/**}` its parser ends the group
// at the first `}` (and ripgrep's globset refuses nested groups). So each pattern's own braces
// are expanded first (`**/{b,c}/**` -> `**/b/**`, `**/c/**`) and the brace-free alternatives
// are joined into one group.

/** Above this many alternatives one pattern is skipped: `{a,b}{c,d}...` grows as 2^n, and a
 * workspace's settings (which may come from an untrusted repository) must not stall the host. */
export const MAX_ALTERNATIVES = 256;

/**
 * The patterns of a `files.exclude`-shaped setting that are on: entries whose value is `true`.
 * `false` turns a default entry off. An entry whose value is a `{ "when": "$(basename).ts" }`
 * sibling clause is treated as NOT excluded: a glob cannot say "only if a sibling file exists",
 * and listing a checkpoint the Explorer hides is a smaller harm than hiding one it shows.
 */
export function enabledPatterns(setting: unknown): string[] {
  if (typeof setting !== 'object' || setting === null || Array.isArray(setting)) return [];
  return Object.entries(setting as Record<string, unknown>).filter(([k, v]) => v === true && k.trim() !== '').map(([k]) => k);
}

/**
 * `a{b,c{d,e}}f` -> `abf`, `acdf`, `acef`. Undefined when the braces do not balance (VS Code's
 * parser would then swallow the rest of the combined glob) or there would be more than `limit`.
 */
export function expandBraces(glob: string, limit = MAX_ALTERNATIVES): string[] | undefined {
  // `[{]` would read as a group here, and as one in VS Code's parser: not worth guessing.
  if (/\[[^\]]*[{}]/.test(glob)) return undefined;
  const open = firstGroup(glob);
  if (open === undefined) return undefined;
  if (open === null) return glob.includes('}') ? undefined : [glob];
  const { start, end, choices } = open;
  const head = glob.slice(0, start);
  const tails = expandBraces(glob.slice(end + 1), limit);
  if (!tails) return undefined;
  const out = new Set<string>();
  for (const c of choices) {
    const mids = expandBraces(c, limit);
    if (!mids) return undefined;
    for (const m of mids) for (const t of tails) {
      out.add(head + m + t);
      if (out.size > limit) return undefined;
    }
  }
  return [...out];
}

/** The first top-level `{...}` of a glob and its comma-separated choices; null if none, undefined if unbalanced. */
function firstGroup(glob: string): { start: number; end: number; choices: string[] } | null | undefined {
  const start = glob.indexOf('{');
  if (start < 0) return null;
  if (glob.slice(0, start).includes('}')) return undefined;
  let depth = 0;
  let from = start + 1;
  const choices: string[] = [];
  for (let i = start; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) { choices.push(glob.slice(from, i)); return { start, end: i, choices }; }
    else if (ch === ',' && depth === 1) { choices.push(glob.slice(from, i)); from = i + 1; }
  }
  return undefined;
}

/** A literal comma outside `[...]` would split the combined group: as `[,]` it still means a comma. */
function commasAsClasses(glob: string): string {
  let out = '';
  let inBrackets = false;
  for (const ch of glob) {
    if (ch === '[') inBrackets = true;
    else if (ch === ']') inBrackets = false;
    out += ch === ',' && !inBrackets ? '[,]' : ch;
  }
  return out;
}

export interface SearchExclude {
  /** What findFiles takes as `exclude`: one glob, or null when nothing is excluded (null, not
   * undefined: undefined would bring `files.exclude` back on its own terms). */
  glob: string | null;
  /** Patterns left out (unbalanced braces, or too many alternatives), for the log. */
  skipped: string[];
}

/** One exclude glob from several lists of patterns (`reuseLens.exclude`, the enabled `files.exclude` entries). */
export function combineExcludes(...lists: readonly string[][]): SearchExclude {
  const alternatives = new Set<string>();
  const skipped: string[] = [];
  for (const pattern of lists.flat()) {
    const expanded = expandBraces(pattern);
    if (!expanded) { skipped.push(pattern); continue; }
    for (let alt of expanded) {
      // A folder pattern written with a trailing slash (`build/`) means the folder (VS Code trims it too).
      if (alt.length > 1 && alt.endsWith('/')) alt = alt.slice(0, -1);
      alt = commasAsClasses(alt);
      if (alt) alternatives.add(alt);
    }
  }
  const all = [...alternatives];
  return { glob: all.length === 0 ? null : all.length === 1 ? all[0] : `{${all.join(',')}}`, skipped };
}
