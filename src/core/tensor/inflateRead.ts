// Bytes inside a raw-deflate stream of a file (a deflated .npz member, a deflated .keras member),
// in bounded memory: compressed bytes are read a megabyte at a time with positioned reads,
// inflated by node:zlib, and handed out in order. Nothing the size of the member is ever held.
// Where a reader needs the inflated bytes in another order (a Fortran-order array, an HDF5 file
// to open by name) they are spilled to a temporary file first (inflateToFile), after checking
// that the disk has room; the stream never inflates past the size the archive declares.
import { createInflateRaw } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFsError, RandomAccessFile } from '../common/fileio';
import { CheckpointError } from '../common/errors';

/** Compressed bytes per read, and the inflater's output chunk. */
const STEP = 1 << 20;
/**
 * Deflate cannot expand by more than about 1032:1 (a 258-byte match costs at least two bits):
 * a stream declaring more lies, and is refused before anything is inflated.
 */
export const MAX_DEFLATE_RATIO = 1032;

export interface DeflatedRegion {
  /** The archive, named in errors. */
  file: string;
  /** Where the raw-deflate stream starts, and its length. */
  offset: number;
  compressedSize: number;
  /** What the archive declares the stream inflates to: never inflated past. */
  inflatedSize: number;
  /** What the bytes are, for errors: `zip entry weights.npy`. */
  what: string;
}

/** Forward-only reads of the inflated bytes of one deflate stream. `close()` it when done. */
export class InflateReader {
  private readonly out: AsyncIterator<Buffer>;
  private readonly destroy: () => void;
  private cur: Buffer | undefined;
  private curPos = 0;
  /** Inflated bytes handed out (or skipped) so far. */
  position = 0;

  constructor(private readonly region: DeflatedRegion, file: RandomAccessFile) {
    if (region.offset + region.compressedSize > file.size) {
      throw new CheckpointError(region.file, `${region.what} runs past the end of the file (truncated?)`);
    }
    if (region.inflatedSize > region.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      throw new CheckpointError(region.file, `${region.what} declares ${region.inflatedSize} bytes from ${region.compressedSize} compressed bytes, more than deflate can produce (zip bomb or damaged archive)`);
    }
    const compressed = Readable.from((async function* () {
      for (let p = 0; p < region.compressedSize; p += STEP) {
        const b = await file.read(region.offset + p, Math.min(STEP, region.compressedSize - p));
        yield Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      }
    })());
    const inflate = createInflateRaw({ chunkSize: STEP });
    // An error on either side destroys the inflater with it: the next read rejects with it.
    pipeline(compressed, inflate, () => undefined);
    this.out = inflate[Symbol.asyncIterator]();
    this.destroy = () => { compressed.destroy(); inflate.destroy(); };
  }

  /** The next `length` inflated bytes into `into` (from its start). */
  async read(into: Uint8Array, length: number): Promise<void> {
    if (this.position + length > this.region.inflatedSize) throw this.pastDeclared();
    let filled = 0;
    while (filled < length) {
      if (!this.cur || this.curPos >= this.cur.length) {
        let r: IteratorResult<Buffer>;
        try { r = await this.out.next(); } catch (e) {
          throw new CheckpointError(this.region.file, `${this.region.what} is damaged (${(e as Error).message})`);
        }
        if (r.done) throw new CheckpointError(this.region.file, `${this.region.what} inflates to ${this.position + filled} bytes but declares ${this.region.inflatedSize} (damaged archive)`);
        this.cur = r.value; this.curPos = 0;
      }
      const k = Math.min(length - filled, this.cur.length - this.curPos);
      into.set(this.cur.subarray(this.curPos, this.curPos + k), filled);
      this.curPos += k; filled += k;
    }
    this.position += length;
  }

  /** Passes over the next `length` inflated bytes. */
  async skip(length: number): Promise<void> {
    const scratch = new Uint8Array(Math.min(length, STEP));
    for (let left = length; left > 0; left -= scratch.length) await this.read(scratch, Math.min(left, scratch.length));
  }

  /**
   * Reads on to the declared size and checks that the stream ends there: a member that inflates
   * past what it declares (a zip bomb) is refused, as a whole read of it would be.
   */
  async finish(): Promise<void> {
    await this.skip(this.region.inflatedSize - this.position);
    if (this.cur && this.curPos < this.cur.length) throw this.pastDeclared();
    let r: IteratorResult<Buffer>;
    do {
      try { r = await this.out.next(); } catch (e) {
        throw new CheckpointError(this.region.file, `${this.region.what} is damaged (${(e as Error).message})`);
      }
      if (!r.done && r.value.length > 0) throw this.pastDeclared();
    } while (!r.done);
  }

  private pastDeclared(): CheckpointError {
    return new CheckpointError(this.region.file, `${this.region.what} inflates past its declared size of ${this.region.inflatedSize} bytes (zip bomb or damaged archive)`);
  }

  close(): void { this.destroy(); }
}

/** Free bytes on the file system holding `dir` (undefined when the platform cannot say). */
function freeBytes(dir: string): number | undefined {
  try { const s = statfsSync(dir); return s.bavail * s.bsize; } catch { return undefined; }
}

/** Room left on the disk beyond a spilled file, so that spilling never fills it. */
const SPARE_DISK_BYTES = 256 << 20;

let spillRoot: string | undefined;
const SPILL_PREFIX = 'reuse-lens-spill-';

/**
 * A private folder for spilled files, removed when the process exits. Its name carries the pid:
 * a process killed outright (the extension ends a hung or over-limit worker with SIGKILL, and no
 * exit handler runs then) leaves its folder behind, and the next process to spill removes the
 * folders of processes that are gone.
 */
export function spillFolder(): string {
  if (!spillRoot || !existsSync(spillRoot)) {
    sweepOrphanedSpills(tmpdir());
    spillRoot = mkdtempSync(join(tmpdir(), `${SPILL_PREFIX}${process.pid}-`));
    const dir = spillRoot;
    process.once('exit', () => { try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ } });
  }
  return spillRoot;
}

/** Removes spill folders in `dir` whose process no longer runs. Best effort: errors are ignored. */
export function sweepOrphanedSpills(dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const name of names) {
    const m = name.startsWith(SPILL_PREFIX) ? /^(\d+)-/.exec(name.slice(SPILL_PREFIX.length)) : null;
    if (!m || Number(m[1]) === process.pid || processRuns(Number(m[1]))) continue;
    try { rmSync(join(dir, name), { recursive: true, force: true }); } catch { /* another user's, or in use */ }
  }
}

function processRuns(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuses, naming `file`, to write `bytes` bytes of `what` into `dir` when its disk lacks the room. */
export function checkRoom(dir: string, bytes: number, file: string, what: string): void {
  const free = freeBytes(dir);
  if (free !== undefined && bytes + SPARE_DISK_BYTES > free) {
    throw new CheckpointError(file, `reading ${what} needs ${mb(bytes)} MB of temporary disk space in ${dir}, and only ${mb(free)} MB are free`);
  }
}

let spilled = 0;

/**
 * Inflates `bytes` bytes of the stream (the archive's declared size: the stream is never inflated
 * past it) into a new file in the spill folder, and gives its path. Refused, naming the archive,
 * when the disk does not have the room.
 */
export async function inflateToFile(region: DeflatedRegion, bytes: number, name?: string): Promise<string> {
  bytes = Math.min(bytes, region.inflatedSize);
  let dir: string;
  try { dir = spillFolder(); } catch (e) {
    throw new CheckpointError(region.file, `reading ${region.what} needs a temporary file, and the temp folder ${tmpdir()} cannot be written (${describeFsError(e)})`);
  }
  checkRoom(dir, bytes, region.file, region.what);
  const target = join(dir, name ?? `${process.pid}-${++spilled}.bin`);
  const raf = await RandomAccessFile.open(region.file);
  const reader = new InflateReader(region, raf);
  try {
    const out = await openFile(target, 'w', 0o600);
    try {
      const buf = new Uint8Array(Math.min(STEP * 4, Math.max(bytes, 1)));
      for (let done = 0; done < bytes; done += buf.length) {
        const k = Math.min(buf.length, bytes - done);
        await reader.read(buf, k);
        await out.write(buf, 0, k);
      }
      await reader.finish();
    } finally { await out.close(); }
  } catch (e) {
    rmSync(target, { force: true });
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(region.file, `reading ${region.what}: writing the temporary file ${target} failed (${describeFsError(e)})`);
  } finally {
    reader.close();
    await raf.close();
  }
  return target;
}

function mb(n: number): string { return (n / 1e6).toFixed(0); }
