// Deciding which checkpoint is the source and which the target when the user points at a
// folder or a selection. Pure.
import * as path from 'node:path';

export interface Candidate { path: string; mtimeMs: number }

const SOURCE_HINT = /(source|src|pretrain|pre-train|pre_train|base|imagenet|teacher|original|upstream)/i;
const TARGET_HINT = /(target|tgt|finetun|fine-tun|fine_tun|ft\b|_ft|downstream|student|transfer|scratch)/i;

/**
 * Orders two checkpoints as [source, target]: by their names when they say it (pretrained,
 * source / finetuned, target), otherwise the older one is the source (a fine-tuned model is
 * saved after the model it started from).
 */
export function orderPair(a: Candidate, b: Candidate): [Candidate, Candidate] {
  const score = (c: Candidate) => {
    const rel = path.basename(c.path) + ' ' + path.basename(path.dirname(c.path));
    return (SOURCE_HINT.test(rel) ? 1 : 0) - (TARGET_HINT.test(rel) ? 1 : 0);
  };
  const sa = score(a), sb = score(b);
  if (sa !== sb) return sa > sb ? [a, b] : [b, a];
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs < b.mtimeMs ? [a, b] : [b, a];
  return a.path.localeCompare(b.path) <= 0 ? [a, b] : [b, a];
}

export type AnalyzePlan =
  | { kind: 'pair'; source: string; target: string }
  | { kind: 'pickBoth'; candidates: string[] }
  | { kind: 'pickTarget'; source: string; candidates: string[] }
  | { kind: 'none'; message: string };

/**
 * What "Analyze Reusability" does with what the user clicked:
 * - two or more files selected: the first two, ordered by orderPair;
 * - one file: ask for the other side among the workspace's checkpoints;
 * - a folder: two checkpoints inside -> compared at once; more -> ask for both; fewer -> say so.
 */
export function planAnalysis(
  selected: { path: string; isFolder: boolean }[],
  checkpointsIn: (folder: string) => Candidate[],
  allCheckpoints: string[],
  stat: (p: string) => Candidate,
): AnalyzePlan {
  const files = selected.filter((s) => !s.isFolder);
  const folders = selected.filter((s) => s.isFolder);
  if (files.length >= 2) {
    const [s, t] = orderPair(stat(files[0].path), stat(files[1].path));
    return { kind: 'pair', source: s.path, target: t.path };
  }
  if (files.length === 1 && folders.length === 0) {
    const others = allCheckpoints.filter((p) => p !== files[0].path);
    if (others.length === 0) return { kind: 'none', message: 'No other checkpoint in the workspace to compare with. Open a folder that holds a second one, or use "Select as Reuse Source".' };
    return { kind: 'pickTarget', source: files[0].path, candidates: others };
  }
  if (folders.length >= 1) {
    const inside = folders.flatMap((f) => checkpointsIn(f.path));
    if (inside.length === 2) {
      const [s, t] = orderPair(inside[0], inside[1]);
      return { kind: 'pair', source: s.path, target: t.path };
    }
    if (inside.length > 2) return { kind: 'pickBoth', candidates: inside.map((c) => c.path) };
    return { kind: 'none', message: `${folders.map((f) => path.basename(f.path)).join(', ')} holds ${inside.length === 0 ? 'no checkpoint' : 'only one checkpoint'}; Analyze Reusability needs two (a source and a target).` };
  }
  if (allCheckpoints.length < 2) return { kind: 'none', message: 'Reuse Lens found fewer than two checkpoints in this workspace (see the setting reuseLens.include).' };
  return { kind: 'pickBoth', candidates: allCheckpoints };
}
