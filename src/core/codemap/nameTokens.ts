// Which words of model code can build a checkpoint's layers: a pure helper of the host (which
// sends them with each code-map request) and the worker (which runs only code holding them).

/** A name as compared with code words: lower case, no underscores, no Keras `_1` suffix. */
export function normalizeName(s: string): string {
  const lower = s.toLowerCase();
  return lower.includes('_') ? lower.replace(/_\d+$/, '').replace(/_/g, '') : lower;
}

/**
 * The words model code must contain to build a checkpoint's layers: every non-numeric segment
 * of its layer names (`layer1`, `conv1`, `downsample`; Keras `conv2d`, `batchnormalization`).
 * A class or function whose code holds none of them, and uses no code that does, builds none
 * of those layers and is not interpreted at all.
 */
export function nameTokens(layerNames: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const n of layerNames) for (const seg of n.split(/[./]/)) if (seg && !/^\d+$/.test(seg)) out.add(normalizeName(seg));
  return [...out];
}

