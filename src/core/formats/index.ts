// Format detection and dispatch: by content (magic bytes) first, the extension only breaks ties.
import { basename } from 'node:path';
import { Checkpoint, FormatName } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile } from '../common/fileio';
import { FormatReader } from './reader';

const readers: FormatReader[] = [];

/** Each format module registers itself here (see src/core/formats/all.ts). */
export function registerReader(r: FormatReader): void { readers.push(r); }

export async function readHead(path: string, n = 4096): Promise<Uint8Array> {
  const f = await RandomAccessFile.open(path);
  try { return await f.read(0, Math.min(n, f.size)); } finally { await f.close(); }
}

/** Usual file name endings of each format: used to break ties and to word errors, never to decide alone. */
const EXTENSIONS: Partial<Record<FormatName, string[]>> = {
  'safetensors': ['.safetensors'],
  'safetensors-sharded': ['.safetensors.index.json'],
  'pytorch-zip': ['.pt', '.pth', '.bin', '.ckpt', '.tar'],
  'pytorch-legacy': ['.pt', '.pth', '.bin', '.ckpt', '.tar'],
  'npy': ['.npy'],
  'npz': ['.npz'],
  'keras-h5': ['.h5', '.hdf5', '.weights.h5'],
  'keras-v3': ['.keras'],
  'tfjs': ['.json'],
  'onnx': ['.onnx'],
  'tflite': ['.tflite'],
};

function formatsNamedBy(path: string): FormatName[] {
  const name = basename(path).toLowerCase();
  return (Object.keys(EXTENSIONS) as FormatName[]).filter((f) => EXTENSIONS[f]!.some((e) => name.endsWith(e)));
}

const KNOWN = 'safetensors, PyTorch, NumPy, Keras, TF.js, ONNX, TFLite';

export async function detectReader(path: string): Promise<FormatReader> {
  const head = await readHead(path);
  if (head.byteLength === 0) throw new CheckpointError(path, 'is empty');
  const matches = readers.filter((x) => x.sniff(head, path));
  if (matches.length === 0) throw new CheckpointError(path, whyNotRecognised(head, path));
  // Content decides: a reader that accepts the bytes without looking at the name beats one that
  // accepts only the name (ONNX has no magic, so `.onnx` alone is a claim); among readers that
  // both accept the bytes, the file's name breaks the tie.
  const byContent = matches.filter((x) => x.sniff(head, ''));
  const pool = byContent.length ? byContent : matches;
  const named = formatsNamedBy(path);
  return pool.find((r) => named.includes(r.format)) ?? pool[0];
}

function whyNotRecognised(head: Uint8Array, path: string): string {
  const named = formatsNamedBy(path);
  const what = looksLikeText(head) ? 'is a text file' : `starts with bytes ${hex(head.subarray(0, 8))}`;
  const claim = named.length ? `, though its name suggests ${named[0]}` : '';
  return `is not a checkpoint format Reuse Lens reads (${KNOWN}): it ${what}${claim}`;
}

function looksLikeText(head: Uint8Array): boolean {
  const n = Math.min(head.byteLength, 512);
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (c === 0 || (c < 32 && c !== 9 && c !== 10 && c !== 13)) return false;
  }
  return true;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

export async function openCheckpointFile(path: string): Promise<Checkpoint> {
  return (await detectReader(path)).open(path);
}
