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
