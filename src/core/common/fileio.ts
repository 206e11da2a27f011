import { open, FileHandle, stat } from 'node:fs/promises';
import { CheckpointError } from './errors';

/**
 * Positioned reads of one file. Every byte the engine reads goes through here, so the
 * amount read can be counted (tests check that `inspect` of a large file reads little).
 */
export class RandomAccessFile {
  private constructor(readonly path: string, private readonly fh: FileHandle, readonly size: number, readonly mtimeMs: number) {}

  /** Bytes read through all instances since the process started (for tests and bench). */
  static bytesRead = 0;

  static async open(path: string): Promise<RandomAccessFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new CheckpointError(path, describeFsError(e));
    }
    let st;
    try { st = await fh.stat(); } catch (e) { await fh.close(); throw new CheckpointError(path, describeFsError(e)); }
    if (st.isDirectory()) { await fh.close(); throw new CheckpointError(path, 'is a folder, not a file'); }
    return new RandomAccessFile(path, fh, st.size, st.mtimeMs);
  }

  /** Reads exactly `length` bytes at `position`, or throws naming the file if it is shorter. */
  async read(position: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    if (position < 0 || length < 0 || position + length > this.size) {
      throw new CheckpointError(this.path, `truncated: needs bytes ${position}..${position + length} but the file has ${this.size}`);
    }
    const buf = into && into.byteLength >= length ? into.subarray(0, length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) throw new CheckpointError(this.path, `truncated while reading at byte ${position + done}`);
      done += bytesRead;
    }
    RandomAccessFile.bytesRead += length;
    return buf;
  }

  /** The descriptor, for synchronous positioned reads (tensor/viewRead.ts); valid until close. */
  get fd(): number { return this.fh.fd; }

  async close(): Promise<void> { await this.fh.close(); }
}

export async function fileSignature(path: string): Promise<{ path: string; size: number; mtimeMs: number }> {
  const st = await stat(path);
  return { path, size: st.size, mtimeMs: st.mtimeMs };
}

export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return (e as Error)?.message ?? String(e);
}
