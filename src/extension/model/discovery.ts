// Which of the files the globs found are checkpoints a user thinks of as one model, and how
// they group by folder. Pure: paths in, structure out (tested without VS Code).
import * as path from 'node:path';

/** Shards of a sharded checkpoint are opened through their index, not listed on their own. */
const SHARD_PATTERNS = [
  /-\d{5}-of-\d{5}\.(safetensors|bin)$/, // Hugging Face: model-00001-of-00002.safetensors
  /^group\d+-shard\d+of\d+(\.bin)?$/, // TF.js: group1-shard1of2.bin
];

/** A bare TF.js weights manifest (`face_landmark_68_model-weights_manifest.json`): its model's name prefix. */
const MANIFEST = /^(.*?)-?weights_manifest\.json$/i;

/**
 * Drops shard files whose folder holds the index (model.json, a TF.js weights manifest) that
 * names them. A manifest's own shards are often named after it (`face_landmark_68_model.bin`,
 * `..._model-shard1` beside `face_landmark_68_model-weights_manifest.json`).
 */
export function hideShards(files: string[]): string[] {
  const dirsWithIndex = new Set<string>();
  const manifestPrefixes = new Map<string, string[]>();
  for (const f of files) {
    const b = path.basename(f);
    const m = MANIFEST.exec(b);
    if (b.endsWith('.index.json') || b === 'model.json' || m) dirsWithIndex.add(path.dirname(f));
    if (m?.[1]) manifestPrefixes.set(path.dirname(f), [...(manifestPrefixes.get(path.dirname(f)) ?? []), m[1]]);
  }
  const namedAfterManifest = (f: string) => (manifestPrefixes.get(path.dirname(f)) ?? [])
    .some((p) => path.basename(f).startsWith(p) && /^(\.bin|-shard\d+)$/.test(path.basename(f).slice(p.length)));
  return files.filter((f) => !(dirsWithIndex.has(path.dirname(f)) && (SHARD_PATTERNS.some((re) => re.test(path.basename(f))) || namedAfterManifest(f))));
}

export interface FolderGroup {
  /** Absolute folder path. */
  dir: string;
  /** Label: the folder relative to its workspace root (`.` for the root itself). */
  label: string;
  files: string[];
}

/** Groups files by their folder, folders sorted by label, files by name. */
export function groupByFolder(files: string[], roots: string[]): FolderGroup[] {
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const d = path.dirname(f);
    const list = byDir.get(d) ?? [];
    list.push(f);
    byDir.set(d, list);
  }
  const groups = [...byDir].map(([dir, fs]) => ({
    dir,
    label: relativeLabel(dir, roots),
    files: fs.sort((a, b) => path.basename(a).localeCompare(path.basename(b))),
  }));
  return groups.sort((a, b) => a.label.localeCompare(b.label));
}

export function relativeLabel(p: string, roots: string[]): string {
  const root = roots.filter((r) => p === r || p.startsWith(r + path.sep)).sort((a, b) => b.length - a.length)[0];
  if (!root) return p;
  const rel = path.relative(root, p);
  const label = rel === '' ? '.' : rel.split(path.sep).join('/');
  return roots.length > 1 ? `${path.basename(root)}/${label === '.' ? '' : label}`.replace(/\/$/, '') : label;
}

/**
 * Folders for which the Explorer shows "Analyze Reusability": each folder that holds a
 * checkpoint, and its ancestors up to the workspace root (a project folder holds its runs).
 */
export function foldersHoldingCheckpoints(files: string[], roots: string[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    const root = roots.find((r) => f.startsWith(r + path.sep));
    let d = path.dirname(f);
    for (;;) {
      out.add(d);
      if (!root || d === root || d === path.dirname(d)) break;
      d = path.dirname(d);
    }
  }
  return [...out].sort();
}

/** Files under `dir` (at any depth), from a list of discovered checkpoints. */
export function checkpointsUnder(dir: string, files: string[]): string[] {
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  return files.filter((f) => f.startsWith(prefix));
}

/**
 * The files without each folder's evaluation set (`reuseLens.experiments.evaluationSet`, relative
 * to its folder or absolute): an .npz the user chose as the target task's data is not a
 * checkpoint, and is not offered as one.
 */
export function withoutEvaluationSets(files: string[], sets: readonly { folder: string; value: string | undefined }[]): string[] {
  const data = new Set(sets.filter((s) => s.value?.trim()).map((s) => path.resolve(s.folder, s.value!.trim())));
  return data.size ? files.filter((f) => !data.has(path.resolve(f))) : files;
}
