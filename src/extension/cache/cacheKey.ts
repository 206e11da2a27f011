// The cache key of an analysis: the files it read (path, size, modification time) and the
// options. Any rewrite of a checkpoint changes its size or mtime, so a stale report is never
// served; the same files with the same options cost nothing the second time.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AnalyzeOptions } from '../../protocol';

export interface FileStamp { path: string; size: number; mtimeMs: number }

export function cacheKey(source: FileStamp[], target: FileStamp[], options: AnalyzeOptions): string {
  const canon = {
    v: 2, // 2: BN statistics, scale-invariant kernels and the weighted network verdict
    source: [...source].sort((a, b) => a.path.localeCompare(b.path)).map((s) => [s.path, s.size, Math.round(s.mtimeMs)]),
    target: [...target].sort((a, b) => a.path.localeCompare(b.path)).map((s) => [s.path, s.size, Math.round(s.mtimeMs)]),
    options: { metric: options.metric, reuseBelow: options.reuseBelow, fineTuneBelow: options.fineTuneBelow, prefixRules: [...options.prefixRules] },
  };
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex').slice(0, 32);
}

/** Formats whose data lives in other files next to the one the user picked. */
function hasCompanionFiles(p: string): boolean {
  const b = path.basename(p);
  return b.endsWith('.index.json') || b === 'model.json' || b.endsWith('.onnx');
}

/**
 * The files one checkpoint is made of, stamped. A folder: every file in it (two levels deep,
 * at most `limit`); an index / model.json / .onnx: itself and its siblings (shards, external data).
 */
export async function stampCheckpoint(p: string, limit = 2000): Promise<FileStamp[]> {
  const st = await fs.stat(p);
  if (st.isDirectory()) return stampDir(p, 2, limit);
  const own = { path: p, size: st.size, mtimeMs: st.mtimeMs };
  if (!hasCompanionFiles(p)) return [own];
  const siblings = await stampDir(path.dirname(p), 0, limit);
  return siblings.some((s) => s.path === p) ? siblings : [own, ...siblings];
}

async function stampDir(dir: string, depth: number, limit: number): Promise<FileStamp[]> {
  const out: FileStamp[] = [];
  const walk = async (d: string, left: number): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (out.length >= limit) return;
      const full = path.join(d, e.name);
      if (e.isDirectory()) { if (left > 0 && !e.name.startsWith('.')) await walk(full, left - 1); continue; }
      try {
        const st = await fs.stat(full);
        if (st.isFile()) out.push({ path: full, size: st.size, mtimeMs: st.mtimeMs });
      } catch { /* vanished while listing: not part of the key */ }
    }
  };
  await walk(dir, depth);
  return out;
}
