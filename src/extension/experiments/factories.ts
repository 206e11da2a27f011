// Offers the workspace's Python functions as model and data factories (`FILE.py:CALLABLE`),
// found by a simple parse: top-level `def NAME(` lines. Nothing is imported or run here.

/** Top-level function names of a Python file (no indentation before `def`; `async def` too). */
export function topLevelDefs(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/gm)) if (!m[1].startsWith('_')) out.push(m[1]);
  return out;
}

const MODEL_HINT = /model|net|build|create|make/i;
const DATA_HINT = /data|loader|batch|val|test|eval/i;

export interface FactoryCandidate { spec: string; file: string; name: string }

/** Candidates for one role, the likely ones (by name) first, then by file and line order. */
export function rankFactories(candidates: FactoryCandidate[], role: 'model' | 'data'): FactoryCandidate[] {
  const hint = role === 'model' ? MODEL_HINT : DATA_HINT;
  const other = role === 'model' ? DATA_HINT : MODEL_HINT;
  const score = (c: FactoryCandidate) => (hint.test(c.name) ? 0 : other.test(c.name) ? 2 : 1);
  return candidates.map((c, i) => ({ c, i })).sort((a, b) => score(a.c) - score(b.c) || a.i - b.i).map((x) => x.c);
}

/** `FILE.py:CALLABLE` as the driver takes it (a dotted callable is allowed: `module_level.attr`). */
export function isFactorySpec(v: string): boolean {
  return /^.+\.py:[A-Za-z_][\w.]*$/.test(v.trim());
}
