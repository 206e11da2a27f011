// Finished analyses by cache key: in memory for this session, and as files under the
// extension's global storage so a reload (or reopening the workspace) costs nothing.
// Plain Node so it is tested without VS Code.
//
// A file is JSON lines: the entry without its report's layers first, then one layer per line. A
// 100,000-layer report is ~125 MB of JSON: written as one string (and read back as one), it took
// the extension host from 200 to 470 MB for a moment. Written and read a line at a time, the
// host holds the report's objects and a piece of text.
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
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
      const parsed = await readEntry(this.file(key));
      if (parsed?.key !== key || parsed.response?.report?.schema !== 'reuse-lens/report@1') return undefined;
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
        await writeEntry(tmp, entry);
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

/** The first line: the entry, its report's layers left out and counted. */
interface FileHead extends CachedAnalysis { layerLines: number }

/** Lines are written in pieces of about this many characters. */
const PIECE_CHARS = 1 << 20;

async function writeEntry(file: string, entry: CachedAnalysis): Promise<void> {
  const { layers } = entry.response.report;
  const head: FileHead = { ...entry, response: { ...entry.response, report: { ...entry.response.report, layers: [] } }, layerLines: layers.length };
  const out = await fs.open(file, 'w');
  try {
    let piece = JSON.stringify(head);
    for (const l of layers) {
      piece += '\n' + JSON.stringify(l);
      // writeFile, not write: it writes the whole piece (write may write part of it).
      if (piece.length >= PIECE_CHARS) { await out.writeFile(piece); piece = ''; }
    }
    await out.writeFile(piece + '\n');
  } finally { await out.close(); }
}

/** An entry as writeEntry wrote it; undefined when the file is cut short or not ours. */
async function readEntry(file: string): Promise<CachedAnalysis | undefined> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let head: FileHead | undefined;
  const layers: CachedAnalysis['response']['report']['layers'] = [];
  try {
    for await (const line of lines) {
      if (!head) head = JSON.parse(line) as FileHead;
      else layers.push(JSON.parse(line));
    }
  } finally {
    lines.close();
    // Closing the lines only pauses the stream: a file that failed to parse would stay open.
    input.destroy();
  }
  if (!head?.response?.report) return undefined;
  // Written before the layers had lines of their own: the whole entry on one line.
  if (head.layerLines === undefined) return layers.length === 0 ? head : undefined;
  if (layers.length !== head.layerLines) return undefined;
  const { layerLines: _n, ...entry } = head;
  entry.response.report.layers = layers;
  return entry;
}
