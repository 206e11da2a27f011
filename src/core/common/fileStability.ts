// Detects a checkpoint rewritten while we read it (a training loop saving every epoch): the
// size and modification time of every file it is made of are taken when it is opened and
// compared after its tensors have been read. Numbers from a file that changed underneath us
// may mix two epochs, so they are not shown; the user is told to run again.
import { stat } from 'node:fs/promises';
import { CheckpointError, CHANGED_WHILE_READING } from './errors';
import { describeFsError } from './fileio';

export interface FileSignature {
  path: string;
  size: number;
  mtimeMs: number;
  /** Also compared when both sides have them: an atomic save (write + rename) gives a new inode. */
  ino?: number;
  ctimeMs?: number;
}

export { CHANGED_WHILE_READING };

export async function captureSignature(path: string): Promise<FileSignature> {
  try {
    const st = await stat(path);
    return { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ctimeMs: st.ctimeMs };
  } catch (e) {
    throw new CheckpointError(path, describeFsError(e));
  }
}

/** Signatures of `files` now. Takes paths, or signatures (e.g. Checkpoint.files) to re-take. */
export async function captureSignatures(files: readonly (string | { path: string })[]): Promise<FileSignature[]> {
  return Promise.all(files.map((f) => captureSignature(typeof f === 'string' ? f : f.path)));
}

/** Why `now` differs from `before`, or undefined when it does not. */
export function difference(before: FileSignature, now: FileSignature): string | undefined {
  if (now.size !== before.size) return `size ${before.size} → ${now.size} bytes`;
  if (now.mtimeMs !== before.mtimeMs) return 'modification time changed';
  if (before.ino !== undefined && now.ino !== undefined && before.ino !== now.ino) return 'replaced by another file';
  if (before.ctimeMs !== undefined && now.ctimeMs !== undefined && before.ctimeMs !== now.ctimeMs) return 'status change time changed';
  return undefined;
}

/**
 * Throws CheckpointError(`file`, 'changed while reading, run again') when any file of `before`
 * is no longer the same (size, modification time; inode and ctime when captured) or is gone.
 * `file` names the checkpoint the user asked for (a folder or index, for multi-file ones).
 */
export async function assertUnchanged(before: FileSignature | readonly FileSignature[], file?: string): Promise<void> {
  const list = Array.isArray(before) ? before as readonly FileSignature[] : [before as FileSignature];
  for (const b of list) {
    let now: FileSignature | undefined;
    try { now = await captureSignature(b.path); } catch { now = undefined; }
    const why = now ? difference(b, now) : 'it is gone';
    if (why === undefined) continue;
    const name = file ?? b.path;
    const which = name === b.path ? ` (${why})` : ` (${b.path}: ${why})`;
    throw new CheckpointError(name, `${CHANGED_WHILE_READING}${which}`);
  }
}
