// A folder given where a checkpoint is expected. A folder holding one model (a TF.js folder with
// model.json, a sharded safetensors model with its index, a SavedModel-like tree whose weights are
// one checkpoint file, or just one checkpoint file) is that checkpoint; a folder holding several
// is listed, and opening it asks the user to name one.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { Checkpoint } from '../common/types';
import { CheckpointError } from '../common/errors';
import { describeFsError } from '../common/fileio';
import { detectReader, openCheckpointFile, readHead } from './index';
import { LIMITS } from './reader';
import { isManifestName } from './tf/tfjs';

export interface FolderEntry {
  /** What to open: a checkpoint file, or a folder that is one model (TF.js, sharded safetensors). */
  path: string;
  /** Path relative to the listed folder, with a trailing `/` for model folders. */
  name: string;
  /** The file that holds the model's index when `path` is a folder (model.json, *.index.json). */
  main: string;
}

/** File names worth sniffing; anything else (README, tokenizer, images) is not a checkpoint. */
const CANDIDATE = /\.(safetensors|pt|pth|bin|ckpt|h5|hdf5|keras|onnx|tflite|npy|npz|pkl|pickle|json)$/i;
const MAX_SCANNED = 10_000;
const MAX_DEPTH = 3;

/** Checkpoints in a folder, each once (shards and external data belong to their model). Never throws CheckpointError for a file it cannot read: such files are simply not listed. */
export async function listCheckpointsInFolder(dir: string): Promise<FolderEntry[]> {
  const out: FolderEntry[] = [];
  const budget = { left: MAX_SCANNED };
  const self = await modelOfFolder(dir);
  if (self) return [{ path: dir, name: basename(dir) + '/', main: self }];
  await scan(dir, dir, MAX_DEPTH, out, budget);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function scan(root: string, dir: string, depth: number, out: FolderEntry[], budget: { left: number }): Promise<void> {
  let items;
  try { items = await readdir(dir, { withFileTypes: true }); } catch { return; }
  const covered = await coveredFiles(dir, items.filter((i) => i.isFile()).map((i) => i.name));
  for (const it of items.sort((a, b) => a.name.localeCompare(b.name))) {
    if (budget.left-- <= 0) return;
    if (it.name.startsWith('.') || it.name === 'node_modules' || it.name === '__pycache__') continue;
    const full = join(dir, it.name);
    if (it.isDirectory()) {
      if (depth <= 0) continue;
      const main = await modelOfFolder(full);
      if (main) out.push({ path: full, name: relative(root, full) + '/', main });
      else await scan(root, full, depth - 1, out, budget);
      continue;
    }
    if (!it.isFile() || covered.has(it.name) || !CANDIDATE.test(it.name)) continue;
    if (await isCheckpointFile(full)) out.push({ path: full, name: relative(root, full), main: full });
  }
}

async function isCheckpointFile(path: string): Promise<boolean> {
  try { await detectReader(path); return true; } catch { return false; }
}

/** The index file when `dir` is itself one model: a TF.js model.json or a single safetensors index. */
async function modelOfFolder(dir: string): Promise<string | undefined> {
  let names: string[];
  try { names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name); } catch { return undefined; }
  if (names.includes('model.json') && await sniffsAs(join(dir, 'model.json'), 'tfjs')) return join(dir, 'model.json');
  const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
  if (indexes.length === 1) {
    // The folder is that model unless it also holds checkpoints the index does not cover.
    const covered = await coveredFiles(dir, names);
    const others = [];
    for (const n of names) if (!covered.has(n) && n !== indexes[0] && CANDIDATE.test(n) && await isCheckpointFile(join(dir, n))) others.push(n);
    if (others.length === 0) return join(dir, indexes[0]);
  }
  return undefined;
}

async function sniffsAs(path: string, format: string): Promise<boolean> {
  try { return (await detectReader(path)).format === format; } catch { return false; }
}

/** Files of a folder that belong to a model listed there: TF.js shards (model.json or a bare weights manifest), safetensors shards. */
async function coveredFiles(dir: string, names: string[]): Promise<Set<string>> {
  const covered = new Set<string>();
  for (const n of names) {
    if (n !== 'model.json' && !n.endsWith('.index.json') && !isManifestName(n)) continue;
    const json = await readSmallJson(join(dir, n));
    if (!json || typeof json !== 'object') continue;
    const j = json as Record<string, unknown>;
    const groups = Array.isArray(json) ? json : j.weightsManifest;
    if (Array.isArray(groups)) {
      for (const g of groups as { paths?: unknown }[]) if (Array.isArray(g?.paths)) for (const p of g.paths) if (typeof p === 'string') covered.add(p);
    }
    if (j.weight_map && typeof j.weight_map === 'object') for (const v of Object.values(j.weight_map as Record<string, unknown>)) if (typeof v === 'string') covered.add(v);
  }
  return covered;
}

async function readSmallJson(path: string): Promise<unknown> {
  try {
    const st = await stat(path);
    if (st.size > Math.min(LIMITS.maxHeaderBytes, 64 * 1024 * 1024)) return undefined;
    return JSON.parse(Buffer.from(await readHead(path, st.size)).toString('utf8'));
  } catch { return undefined; }
}

/** The file to open for a folder given as a checkpoint, or a CheckpointError saying why there is none. */
export async function resolveFolder(dir: string): Promise<string> {
  const list = await listCheckpointsInFolder(dir);
  if (list.length === 1) return list[0].main;
  if (list.length > 1) {
    throw new CheckpointError(dir, `folder holds ${list.length} checkpoints: ${list.map((e) => e.name).join(', ')}; name one`);
  }
  if (await isTensorBundleSavedModel(dir)) {
    throw new CheckpointError(dir, 'is a TensorFlow SavedModel whose variables are a TF tensor bundle (variables.index), which Reuse Lens does not read; save the Keras model with model.save("model.keras") or model.save_weights("model.weights.h5")');
  }
  throw new CheckpointError(dir, 'folder holds no checkpoint Reuse Lens reads (safetensors, PyTorch, NumPy, Keras, TF.js, ONNX, TFLite)');
}

async function isTensorBundleSavedModel(dir: string): Promise<boolean> {
  try {
    const names = await readdir(dir);
    if (!names.includes('saved_model.pb')) return false;
    return (await readdir(join(dir, 'variables'))).some((n) => n.endsWith('.index'));
  } catch { return false; }
}

export async function openFolder(dir: string): Promise<Checkpoint> {
  return openCheckpointFile(await resolveFolder(dir));
}

/** True when `path` is a folder (false for files and for paths that do not exist). */
export async function isFolder(path: string): Promise<boolean> {
  try { return (await stat(path)).isDirectory(); } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ENOENT') return false;
    throw new CheckpointError(path, describeFsError(e));
  }
}
