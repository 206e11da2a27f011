// TF.js models: model.json (`modelTopology`, `weightsManifest`) and binary shard files beside it.
// Each manifest group's weights are packed back to back in the concatenation of the group's
// shards (in `paths` order), so a weight may start in one shard and end in the next. Weights may
// be quantized: uint8/uint16 affine (value = q * scale + min) or float16.
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Checkpoint, DType, TensorInfo, TensorLocation } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile, fileSignature, describeFsError } from '../common/fileio';
import { numel } from '../tensor/dtypes';
import { FormatReader, LIMITS } from './reader';
import { configLayers, kerasLayout, classFromDefaultName } from './keras';

export const tfjsReader: FormatReader = {
  format: 'tfjs',
  sniff(head: Uint8Array, path: string): boolean {
    if (!path.toLowerCase().endsWith('.json')) return false;
    const text = Buffer.from(head.subarray(0, 4096)).toString('utf8');
    return /^\s*\{/.test(text) && (text.includes('"weightsManifest"') || text.includes('"modelTopology"'));
  },
  open: openTfjs,
};

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

const STORED: Record<string, { dtype: DType; size: number }> = {
  float32: { dtype: 'F32', size: 4 }, int32: { dtype: 'I32', size: 4 }, bool: { dtype: 'BOOL', size: 1 },
};

/**
 * Quantized storage: element type as TensorInfo describes it, and bytes per stored element.
 * uint16 has no element type of ours; its loader dequantizes to float32 (see below).
 */
const QUANTIZED: Record<string, { dtype: DType; size: number }> = {
  uint8: { dtype: 'U8', size: 1 }, uint16: { dtype: 'F32', size: 2 }, float16: { dtype: 'F16', size: 2 },
};

/** A range of bytes in the concatenation of a group's shards. */
interface Shard { path: string; start: number; size: number }

export async function openTfjs(path: string): Promise<Checkpoint> {
  const raf = await RandomAccessFile.open(path);
  let text: string;
  try {
    if (raf.size > LIMITS.maxHeaderBytes) throw new CheckpointError(path, `model.json is ${raf.size} bytes, more than the limit of ${LIMITS.maxHeaderBytes}`);
    text = Buffer.from(await raf.read(0, raf.size)).toString('utf8');
  } finally { await raf.close(); }
  let json: Record<string, unknown>;
  try { json = JSON.parse(text); } catch (e) { throw new CheckpointError(path, `is not valid JSON (${(e as Error).message})`); }
  if (!json || typeof json !== 'object' || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError(path, 'is not a TF.js model.json: it has no weightsManifest list');
  }
  const folder = dirname(path);
  const topology = json.modelTopology;
  const classes = configLayers(topology);
  const metadata: Record<string, string> = {};
  for (const k of ['format', 'generatedBy', 'convertedBy']) if (typeof json[k] === 'string') metadata[k] = json[k] as string;
  const warnings: string[] = [];
  const tensors: TensorInfo[] = [];
  const files: Checkpoint['files'] = [await fileSignature(path)];

  for (const [gi, group] of (json.weightsManifest as unknown[]).entries()) {
    const g = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(g?.paths) || !Array.isArray(g?.weights)) throw new CheckpointError(path, `weightsManifest[${gi}] needs a paths list and a weights list`);
    const shards: Shard[] = [];
    let total = 0;
    for (const p of g.paths) {
      const shardPath = resolveInside(path, folder, p);
      let sig;
      try { sig = await fileSignature(shardPath); } catch (e) {
        throw new CheckpointError(shardPath, `shard listed in ${path} cannot be read: ${describeFsError(e)}`);
      }
      files.push(sig);
      shards.push({ path: shardPath, start: total, size: sig.size });
      total += sig.size;
    }
    let offset = 0;
    for (const w of g.weights as ManifestWeight[]) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new CheckpointError(path, `weightsManifest[${gi}] has a weight without a name or a valid shape`);
      }
      if (tensors.length >= LIMITS.maxTensors) throw new CheckpointError(path, `more than ${LIMITS.maxTensors} weights`);
      const q = w.quantization;
      const stored = q ? own(QUANTIZED, q.dtype) : own(STORED, w.dtype);
      if (!stored) {
        // Strings have per-element lengths: the offsets of the weights after one are unknown.
        warnings.push(`${w.name}: ${q ? `quantization ${q.dtype}` : `dtype ${w.dtype}`} is not supported; it and the rest of its group are skipped`);
        break;
      }
      let n: number;
      try { n = numel(w.shape); } catch { throw new CheckpointError(path, `weight ${w.name} has an impossible shape [${w.shape.join(', ')}]`); }
      const bytes = n * stored.size;
      if (offset + bytes > total) {
        const last = shards[shards.length - 1];
        throw new CheckpointError(last ? last.path : path, `shard is short: the weights of ${path} need ${offset + bytes} bytes in group ${gi} but its ${shards.length} shard(s) hold ${total} (weight ${w.name})`);
      }
      const name = w.name.replace(/:\d+$/, '').split('/').filter(Boolean).join('.');
      const parts = name.split('.');
      const variable = parts[parts.length - 1];
      const layer = parts.length > 1 ? parts[parts.length - 2] : name;
      const cls = classes.get(parts.slice(0, -1).join('.'))?.cls ?? classes.get(layer)?.cls ?? classFromDefaultName(layer);
      const layout = kerasLayout(cls, variable, w.shape);
      const t: TensorInfo = { name, dtype: stored.dtype, ...layout, location: locate(shards, offset, bytes) };
      if (q && (q.dtype === 'uint8' || q.dtype === 'uint16')) {
        const scale = Number(q.scale), min = Number(q.min);
        if (!Number.isFinite(scale) || !Number.isFinite(min)) throw new CheckpointError(path, `weight ${w.name} is quantized without a finite scale and min`);
        if (q.dtype === 'uint8') t.dequantize = { scale, min };
        else {
          // There is no U16 element type: the loader dequantizes uint16 to float32 itself.
          const read = readRange(shards, offset, bytes);
          t.location = { kind: 'loader', littleEndian: true, load: async () => dequantizeU16(await read(), scale, min) };
        }
      }
      tensors.push(t);
      offset += bytes;
    }
    if (offset < total) warnings.push(`group ${gi} has ${total - offset} bytes after its last weight`);
  }
  const declared = [...classes.keys()];
  const present = new Set(tensors.map((t) => t.name.slice(0, Math.max(0, t.name.lastIndexOf('.')))));
  const layerOrder = declared.filter((l) => present.has(l));
  for (const l of present) if (!layerOrder.includes(l)) layerOrder.push(l);
  return { path, format: 'tfjs', tensors, entries: [], metadata, files, layerOrder, warnings, ...(topology && typeof topology === 'object' ? { architecture: topology } : {}) };
}

/** A table lookup that ignores inherited keys (`constructor`, `__proto__` in a hostile manifest). */
function own<T>(table: Record<string, T>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** A shard path from the manifest, refused if it leaves the model's folder. */
function resolveInside(modelPath: string, folder: string, p: unknown): string {
  if (typeof p !== 'string' || !p) throw new CheckpointError(modelPath, 'a shard path in weightsManifest is not a string');
  const decoded = safeDecode(p);
  if (isAbsolute(decoded) || /^[a-z]+:/i.test(decoded) || decoded.split(/[\\/]/).includes('..')) {
    throw new CheckpointError(modelPath, `refused shard path ${p}: shards must lie in the model's folder`);
  }
  const full = normalize(join(folder, decoded));
  if (!full.startsWith(normalize(folder) + sep) && full !== normalize(folder)) throw new CheckpointError(modelPath, `refused shard path ${p}: shards must lie in the model's folder`);
  return full;
}

// tfjs writes shard names URL-encoded when they hold special characters.
function safeDecode(p: string): string { try { return decodeURIComponent(p); } catch { return p; } }

/** Where a weight's bytes are: one shard (positioned reads) or several (a loader that joins them). */
function locate(shards: Shard[], offset: number, bytes: number): TensorLocation {
  const s = shards.find((x) => offset >= x.start && offset + bytes <= x.start + x.size);
  if (s) return { kind: 'contiguous', file: s.path, offset: offset - s.start, littleEndian: true };
  return { kind: 'loader', littleEndian: true, load: readRange(shards, offset, bytes) };
}

function readRange(shards: Shard[], offset: number, bytes: number): () => Promise<Uint8Array> {
  return async () => {
    const out = new Uint8Array(bytes);
    for (const s of shards) {
      const from = Math.max(offset, s.start), to = Math.min(offset + bytes, s.start + s.size);
      if (from >= to) continue;
      const f = await RandomAccessFile.open(s.path);
      try { out.set(await f.read(from - s.start, to - from), from - offset); } finally { await f.close(); }
    }
    return out;
  };
}

function dequantizeU16(raw: Uint8Array, scale: number, min: number): Uint8Array {
  const n = raw.byteLength >> 1;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, true) * scale + min;
  return new Uint8Array(out.buffer);
}
