// Our one module around the zip library (yauzl). PyTorch `.pt`, NumPy `.npz` and Keras `.keras`
// are zip archives. We take the central directory from yauzl; stored entries are then read with
// positioned reads (data offset from the local header), deflated ones are inflated with a cap.
// Archives come from strangers, so every size and offset in them is checked against the file
// before it is used: nothing is allocated or read because a header says so alone.
import { reserveMemory } from '../common/limits';
import * as yauzl from 'yauzl';
import { Readable } from 'node:stream';
import { RandomAccessFile } from '../common/fileio';
import { CheckpointError } from '../common/errors';
// An entry declaring more than this ratio from its compressed size lies: refused up front, a zip bomb costs nothing.
import { MAX_DEFLATE_RATIO } from '../tensor/inflateRead';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  /** 0 stored, 8 deflated. */
  compression: number;
  localHeaderOffset: number;
  raw: yauzl.Entry;
}

export const MAX_ZIP_ENTRIES = 1_000_000;
/** Largest entry we ever inflate or read whole, whatever the caller allows (a Node buffer's practical limit). */
export const MAX_ENTRY_BYTES = 2 ** 31 - 1;

/** Smallest central directory record: a directory claiming more entries than fit is lying. */
const CD_RECORD_BYTES = 46;
const LOCAL_HEADER_BYTES = 30;

/** yauzl's messages about entry names, reworded: we never extract, but such names mean a crafted archive. */
function describeZipError(e: Error): string {
  const m = e.message;
  const name = m.replace(/^[^:]*: /, '');
  if (m.startsWith('absolute path')) return `zip entry ${JSON.stringify(name)} has an absolute path; refused`;
  if (m.startsWith('invalid relative path')) return `zip entry ${JSON.stringify(name)} climbs out of the archive with ".."; refused`;
  if (m.startsWith('invalid characters in fileName')) return `zip entry ${JSON.stringify(name)} has a backslash in its name; refused`;
  return `zip directory is damaged (${m})`;
}

export class ZipArchive {
  private readonly byName = new Map<string, ZipEntryInfo>();
  private closed = false;

  private constructor(readonly path: string, private readonly zip: yauzl.ZipFile, readonly entries: ZipEntryInfo[], private readonly file: RandomAccessFile) {
    for (const e of entries) this.byName.set(e.name, e);
  }

  static async open(path: string, file?: RandomAccessFile): Promise<ZipArchive> {
    const raf = file ?? await RandomAccessFile.open(path);
    try {
      return await ZipArchive.openOn(path, raf);
    } catch (e) {
      // We opened it, so we close it; a caller's file stays the caller's to close.
      if (!file) await raf.close().catch(() => undefined);
      throw e;
    }
  }

  private static async openOn(path: string, raf: RandomAccessFile): Promise<ZipArchive> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
      try {
        yauzl.fromRandomAccessReader(new Reader(raf), raf.size, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, z) => err ? reject(err) : resolve(z!));
      } catch (e) { reject(e); }
    }).catch((e) => { throw e instanceof CheckpointError ? e : new CheckpointError(path, `not a readable zip archive (${(e as Error).message})`); });
    // Errors after we stop listening (a read still in flight) must not become uncaught 'error' events.
    zip.on('error', () => undefined);
    const cdOffset = (zip as unknown as { readEntryCursor: number }).readEntryCursor;
    if (zip.entryCount > MAX_ZIP_ENTRIES) { zip.close(); throw new CheckpointError(path, `zip directory claims ${zip.entryCount} entries, more than the limit of ${MAX_ZIP_ENTRIES}`); }
    const room = Math.floor(Math.max(0, raf.size - cdOffset) / CD_RECORD_BYTES);
    if (zip.entryCount > room) { zip.close(); throw new CheckpointError(path, `zip directory claims ${zip.entryCount} entries but the file has room for at most ${room} (damaged or crafted archive)`); }
    const entries: ZipEntryInfo[] = [];
    const seen = new Set<string>();
    try {
      await new Promise<void>((resolve, reject) => {
        zip.on('entry', (e: yauzl.Entry) => {
          try {
            if (seen.has(e.fileName)) { reject(new CheckpointError(path, `zip has two entries named ${e.fileName}`)); return; }
            seen.add(e.fileName);
            entries.push({ name: e.fileName, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize, compression: e.compressionMethod, localHeaderOffset: e.relativeOffsetOfLocalHeader, raw: e });
            zip.readEntry();
          } catch (err) { reject(err); }
        });
        zip.on('end', () => resolve());
        zip.on('error', (e: Error) => reject(e instanceof CheckpointError ? e : new CheckpointError(path, describeZipError(e))));
        zip.readEntry();
      });
    } catch (e) {
      zip.close();
      throw e;
    }
    return new ZipArchive(path, zip, entries, raf);
  }

  find(name: string): ZipEntryInfo | undefined { return this.byName.get(name); }

  /** Byte offset in the archive file of a stored entry's data. */
  async dataOffset(e: ZipEntryInfo): Promise<number> {
    if (e.localHeaderOffset + LOCAL_HEADER_BYTES > this.file.size) throw new CheckpointError(this.path, `zip entry ${e.name}: local header at byte ${e.localHeaderOffset} is past the end of the file (truncated?)`);
    const h = await this.file.read(e.localHeaderOffset, LOCAL_HEADER_BYTES);
    const dv = new DataView(h.buffer, h.byteOffset, LOCAL_HEADER_BYTES);
    if (dv.getUint32(0, true) !== 0x04034b50) throw new CheckpointError(this.path, `zip entry ${e.name}: local header missing`);
    const off = e.localHeaderOffset + LOCAL_HEADER_BYTES + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (off + e.compressedSize > this.file.size) throw new CheckpointError(this.path, `zip entry ${e.name} runs past the end of the file (truncated?)`);
    return off;
  }

  /** Reads a whole entry, inflating it; refuses entries over `maxBytes` (zip bombs, lying sizes). */
  async readEntry(e: ZipEntryInfo, maxBytes: number): Promise<Uint8Array> {
    const cap = Math.min(maxBytes, MAX_ENTRY_BYTES);
    reserveMemory(Math.min(cap, e.uncompressedSize));
    if (e.uncompressedSize > cap) throw new CheckpointError(this.path, `zip entry ${e.name} is ${e.uncompressedSize} bytes, over the limit of ${cap}`);
    if (e.compressedSize > this.file.size) throw new CheckpointError(this.path, `zip entry ${e.name} claims ${e.compressedSize} compressed bytes but the file has ${this.file.size} (truncated or damaged)`);
    if (e.compression === 0) {
      if (e.compressedSize !== e.uncompressedSize) throw new CheckpointError(this.path, `zip entry ${e.name} is stored (not compressed) but declares ${e.compressedSize} stored bytes and a size of ${e.uncompressedSize}`);
      return this.file.read(await this.dataOffset(e), e.compressedSize);
    }
    if (e.compression !== 8) throw new CheckpointError(this.path, `zip entry ${e.name} uses compression method ${e.compression}, which is not supported`);
    if (e.uncompressedSize > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      throw new CheckpointError(this.path, `zip entry ${e.name} declares ${e.uncompressedSize} bytes from ${e.compressedSize} compressed bytes, more than deflate can produce (zip bomb or damaged archive)`);
    }
    await this.dataOffset(e);
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
      try { this.zip.openReadStream(e.raw, (err, s) => err ? reject(err) : resolve(s!)); } catch (err) { reject(err); }
    }).catch((err) => { throw err instanceof CheckpointError ? err : new CheckpointError(this.path, `zip entry ${e.name}: ${(err as Error).message}`); });
    // One buffer of the declared size (bounded above by the cap and by the deflate ratio);
    // bytes beyond it are refused, so a stream that lies about its size cannot grow it.
    const out = new Uint8Array(e.uncompressedSize);
    let total = 0;
    try {
      for await (const part of stream as AsyncIterable<Buffer>) {
        if (total + part.length > e.uncompressedSize) throw new CheckpointError(this.path, `zip entry ${e.name} inflates past its declared size of ${e.uncompressedSize} bytes (zip bomb or damaged archive)`);
        out.set(part, total);
        total += part.length;
      }
    } catch (err) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      if (err instanceof CheckpointError) throw err;
      const m = (err as Error).message ?? String(err);
      if (/too many bytes/.test(m)) throw new CheckpointError(this.path, `zip entry ${e.name} inflates past its declared size of ${e.uncompressedSize} bytes (zip bomb or damaged archive)`);
      throw new CheckpointError(this.path, `zip entry ${e.name} is damaged (${m})`);
    }
    if (total !== e.uncompressedSize) throw new CheckpointError(this.path, `zip entry ${e.name} inflates to ${total} bytes but declares ${e.uncompressedSize} (damaged archive)`);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.zip.close();
    await this.file.close();
  }
}

/** yauzl reads through our RandomAccessFile so reads are counted and bounded the same way. */
class Reader extends yauzl.RandomAccessReader {
  constructor(private readonly raf: RandomAccessFile) { super(); }
  /**
   * yauzl walks the central directory with about three small reads per entry; a torch.save of a
   * large model has thousands of entries. Small reads are served from a read-ahead window, so a
   * directory costs a few positioned reads instead of one per field.
   */
  private window: { start: number; bytes: Uint8Array } | undefined;
  private static readonly WINDOW = 64 * 1024;

  override _readStreamForRange(start: number, end: number): Readable {
    const raf = this.raf;
    if (end - start <= Reader.WINDOW / 4) {
      const self = this;
      return Readable.from((async function* () {
        const w = self.window;
        if (!w || start < w.start || end > w.start + w.bytes.byteLength) {
          self.window = { start, bytes: await raf.read(start, Math.min(Reader.WINDOW, raf.size - start)) };
        }
        const { start: ws, bytes } = self.window!;
        // A copy: yauzl may keep the buffer while the window moves on.
        yield Buffer.from(bytes.subarray(start - ws, end - ws));
      })());
    }
    return Readable.from((async function* () {
      const step = 1 << 20;
      for (let p = start; p < end; p += step) yield Buffer.from(await raf.read(p, Math.min(step, end - p)));
    })());
  }
  override close(cb: (err: Error | null) => void): void { cb(null); }
}
