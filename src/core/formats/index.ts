// Format detection and dispatch: by content (magic bytes) first, the extension only breaks ties.
import { Checkpoint } from '../types';
import { CheckpointError } from '../errors';
import { RandomAccessFile } from '../fileio';
import { FormatReader } from './reader';

const readers: FormatReader[] = [];

/** Each format module registers itself here (see src/core/formats/all.ts). */
export function registerReader(r: FormatReader): void { readers.push(r); }

export async function readHead(path: string, n = 4096): Promise<Uint8Array> {
  const f = await RandomAccessFile.open(path);
  try { return await f.read(0, Math.min(n, f.size)); } finally { await f.close(); }
}

export async function detectReader(path: string): Promise<FormatReader> {
  const head = await readHead(path);
  if (head.byteLength === 0) throw new CheckpointError(path, 'is empty');
  const r = readers.find((x) => x.sniff(head, path));
  if (!r) throw new CheckpointError(path, 'is not a checkpoint format Reuse Lens reads (safetensors, PyTorch, NumPy, Keras, TF.js, ONNX)');
  return r;
}

export async function openCheckpointFile(path: string): Promise<Checkpoint> {
  return (await detectReader(path)).open(path);
}
