// Our one module around the zip library (yauzl). PyTorch `.pt`, NumPy `.npz` and Keras `.keras`
// are zip archives. We take the central directory from yauzl; stored entries are then read with
// positioned reads (data offset from the local header), deflated ones are inflated with a cap.
import * as yauzl from 'yauzl';
import { Readable } from 'node:stream';
import { RandomAccessFile } from '../fileio';
import { CheckpointError } from '../errors';

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

export class ZipArchive {
  private constructor(readonly path: string, private readonly zip: yauzl.ZipFile, readonly entries: ZipEntryInfo[], private readonly file: RandomAccessFile) {}

  static async open(path: string, file?: RandomAccessFile): Promise<ZipArchive> {
    const raf = file ?? await RandomAccessFile.open(path);
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
      yauzl.fromRandomAccessReader(new Reader(raf), raf.size, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, z) => err ? reject(err) : resolve(z!));
    }).catch((e) => { throw new CheckpointError(path, `not a readable zip archive (${(e as Error).message})`); });
    if (zip.entryCount > MAX_ZIP_ENTRIES) throw new CheckpointError(path, `zip directory claims ${zip.entryCount} entries`);
    const entries: ZipEntryInfo[] = [];
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (e: yauzl.Entry) => {
        if (seen.has(e.fileName)) { reject(new CheckpointError(path, `zip has two entries named ${e.fileName}`)); return; }
        seen.add(e.fileName);
        entries.push({ name: e.fileName, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize, compression: e.compressionMethod, localHeaderOffset: e.relativeOffsetOfLocalHeader, raw: e });
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', (e: Error) => reject(new CheckpointError(path, `zip directory is damaged (${e.message})`)));
      zip.readEntry();
    });
    return new ZipArchive(path, zip, entries, raf);
  }

  find(name: string): ZipEntryInfo | undefined { return this.entries.find((e) => e.name === name); }

  /** Byte offset in the archive file of a stored entry's data. */
  async dataOffset(e: ZipEntryInfo): Promise<number> {
    const h = await this.file.read(e.localHeaderOffset, 30);
    const dv = new DataView(h.buffer, h.byteOffset, 30);
    if (dv.getUint32(0, true) !== 0x04034b50) throw new CheckpointError(this.path, `zip entry ${e.name}: local header missing`);
    const off = e.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (off + e.compressedSize > this.file.size) throw new CheckpointError(this.path, `zip entry ${e.name} runs past the end of the file (truncated?)`);
    return off;
  }

  /** Reads a whole entry, inflating it; refuses entries over `maxBytes` (zip bombs, lying sizes). */
  async readEntry(e: ZipEntryInfo, maxBytes: number): Promise<Uint8Array> {
    if (e.uncompressedSize > maxBytes) throw new CheckpointError(this.path, `zip entry ${e.name} is ${e.uncompressedSize} bytes, over the limit of ${maxBytes}`);
    if (e.compression === 0) return this.file.read(await this.dataOffset(e), e.compressedSize);
    if (e.compression !== 8) throw new CheckpointError(this.path, `zip entry ${e.name} uses compression method ${e.compression}, which is not supported`);
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => this.zip.openReadStream(e.raw, (err, s) => err ? reject(err) : resolve(s!)))
      .catch((err) => { throw new CheckpointError(this.path, `zip entry ${e.name}: ${(err as Error).message}`); });
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for await (const part of stream as AsyncIterable<Buffer>) {
        total += part.length;
        if (total > maxBytes || total > e.uncompressedSize) throw new CheckpointError(this.path, `zip entry ${e.name} inflates past its declared size`);
        parts.push(part);
      }
    } catch (err) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      if (err instanceof CheckpointError) throw err;
      throw new CheckpointError(this.path, `zip entry ${e.name} is damaged (${(err as Error).message})`);
    }
    return new Uint8Array(Buffer.concat(parts, total));
  }

  async close(): Promise<void> { this.zip.close(); await this.file.close(); }
}

/** yauzl reads through our RandomAccessFile so reads are counted and bounded the same way. */
class Reader extends yauzl.RandomAccessReader {
  constructor(private readonly raf: RandomAccessFile) { super(); }
  override _readStreamForRange(start: number, end: number): Readable {
    const raf = this.raf;
    return Readable.from((async function* () {
      const step = 1 << 20;
      for (let p = start; p < end; p += step) yield Buffer.from(await raf.read(p, Math.min(step, end - p)));
    })());
  }
  override close(cb: (err: Error | null) => void): void { cb(null); }
}
