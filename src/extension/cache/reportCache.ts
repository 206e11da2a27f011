// Finished analyses by cache key: in memory for this session, and as JSON files under the
// extension's global storage so a reload (or reopening the workspace) costs nothing.
// Plain Node so it is tested without VS Code.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AnalyzeResponse, FileStamp } from '../../protocol';

export interface CachedAnalysis {
  key: string;
  savedAt: number;
  response: AnalyzeResponse;
  /** The checkpoints given as folders, stamped when the analysis finished (see stampFolders). */
  folders?: FileStamp[];
}

export class ReportCache {
  private readonly memory = new Map<string, CachedAnalysis>();

  /** `dir` undefined: memory only. */
  constructor(private readonly dir: string | undefined, private readonly onError: (m: string) => void = () => {}) {}

  async get(key: string): Promise<CachedAnalysis | undefined> {
    const hit = this.memory.get(key);
    if (hit) return hit;
    if (!this.dir) return undefined;
    try {
      const text = await fs.readFile(this.file(key), 'utf8');
      const parsed = JSON.parse(text) as CachedAnalysis;
      if (parsed.key !== key || parsed.response?.report?.schema !== 'reuse-lens/report@1') return undefined;
      this.memory.set(key, parsed);
      return parsed;
    } catch {
      return undefined;
    }
  }

  async put(key: string, response: AnalyzeResponse, folders: FileStamp[] = []): Promise<CachedAnalysis> {
    const entry: CachedAnalysis = { key, savedAt: Date.now(), response, folders };
    this.memory.set(key, entry);
    if (this.dir) {
      try {
        await fs.mkdir(this.dir, { recursive: true });
        // Write-then-rename: a half-written file from a crash never parses as a report.
        const tmp = `${this.file(key)}.${process.pid}.tmp`;
        await fs.writeFile(tmp, JSON.stringify(entry));
        await fs.rename(tmp, this.file(key));
      } catch (e) {
        this.onError(`could not save the analysis to ${this.dir}: ${(e as Error).message}`);
      }
    }
    return entry;
  }

  async delete(key: string): Promise<void> {
    this.memory.delete(key);
    if (this.dir) await fs.rm(this.file(key), { force: true }).catch(() => {});
  }

  async clear(): Promise<void> {
    this.memory.clear();
    if (this.dir) {
      const names = await fs.readdir(this.dir).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => fs.rm(path.join(this.dir!, n), { force: true })));
    }
  }

  private file(key: string): string {
    if (!/^[0-9a-f]+$/.test(key)) throw new Error(`bad cache key ${key}`);
    return path.join(this.dir!, `${key}.json`);
  }
}
