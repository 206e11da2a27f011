// The cache key of an analysis and the stamp that keeps a cached report honest.
// Key: which checkpoints (paths as the user named them) with which options. Stamp: the files the
// worker read them from (the model, its shards, its external data: AnalyzeResponse.files), each
// with its size and modification time. A cached report is served only while every one of those
// files is unchanged; a file written beside them (a training log, a new epoch's checkpoint) is
// not part of the stamp and costs nothing.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { AnalyzeOptions, AnalyzeResponse, FileStamp } from '../../protocol';

export type { FileStamp };

export function cacheKey(source: string, target: string, options: AnalyzeOptions): string {
  const canon = {
    // 2: BN statistics, scale-invariant kernels and the weighted network verdict;
    // 3: keyed by paths, the files read stamped in the cached response (AnalyzeResponse.files).
    v: 3,
    source,
    target,
    options: { metric: options.metric, reuseBelow: options.reuseBelow, fineTuneBelow: options.fineTuneBelow, prefixRules: [...options.prefixRules] },
  };
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex').slice(0, 32);
}

/** The files now, as stamps; a file that is gone has size -1. */
export async function stampFiles(paths: readonly string[]): Promise<FileStamp[]> {
  return Promise.all(paths.map(async (p) => {
    try {
      const st = await fs.stat(p);
      return { path: p, size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      return { path: p, size: -1, mtimeMs: 0 };
    }
  }));
}

/**
 * The checkpoints named as folders, stamped by the folder's own modification time (it changes
 * when an entry is added, removed or renamed). What a folder opens as depends on what it holds:
 * one model, or a choice among several; a checkpoint added beside the one read makes a cached
 * report of the folder stale, though every file it was read from is unchanged. Files are not
 * listed here: `filesRead` stamps them.
 */
export async function stampFolders(paths: readonly string[]): Promise<FileStamp[]> {
  const out: FileStamp[] = [];
  for (const p of paths) {
    const st = await fs.stat(p).catch(() => undefined);
    if (st?.isDirectory()) out.push({ path: p, size: 0, mtimeMs: st.mtimeMs });
  }
  return out;
}

/** True when the folders among `paths` are as `recorded` has them (none added, none changed). */
export async function foldersUnchanged(recorded: readonly FileStamp[] | undefined, paths: readonly string[]): Promise<boolean> {
  const now = await stampFolders(paths);
  const before = recorded ?? [];
  return now.length === before.length && now.every((f) => before.some((b) => b.path === f.path && b.mtimeMs === f.mtimeMs));
}

/** Every file the analysis read, as the worker read them (source's first). */
export function filesRead(response: Pick<AnalyzeResponse, 'files'>): FileStamp[] {
  return [...(response.files?.source ?? []), ...(response.files?.target ?? [])];
}

/**
 * True when every file the analysis read is still as the worker read it. A response without the
 * list (stored by an older version) is never taken as current.
 */
export async function stillCurrent(response: Pick<AnalyzeResponse, 'files'>): Promise<boolean> {
  const read = filesRead(response);
  if (!response.files || read.length === 0) return false;
  const now = await stampFiles(read.map((f) => f.path));
  return read.every((f, i) => now[i].size === f.size && now[i].mtimeMs === f.mtimeMs);
}
