// TF.js models: model.json (`modelTopology`, `weightsManifest`) and binary shard files beside it,
// or a bare weights manifest (`*-weights_manifest.json`: the list of groups alone, as face-api.js
// and other hand-built models publish it). Each manifest group's weights are packed back to back
// in the concatenation of the group's shards (in `paths` order), so a weight may start in one
// shard and end in the next. Weights may be quantized: uint8/uint16 affine (value = q * scale +
// min) or float16, both widened to the float32 they stand for on read.
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { Checkpoint, DType, TensorInfo, TensorLocation } from '../../common/types';
import { CheckpointError } from '../../common/errors';
import { RandomAccessFile, fileSignature, describeFsError } from '../../common/fileio';
import { numel } from '../../tensor/dtypes';
import { FormatReader, LIMITS } from '../reader';
import { configLayers, kerasLayout, classFromDefaultName } from '../keras';
import { float16Storage, quantizedStorage } from '../quantized';
import { graphEvidence } from './tfjsGraph';
import { graphForLayers, kerasLayerGraph } from '../kerasGraph';

export const tfjsReader: FormatReader = {
  format: 'tfjs',
  sniff(head: Uint8Array, path: string): boolean {
    if (!path.toLowerCase().endsWith('.json')) return false;
    const text = Buffer.from(head.subarray(0, 4096)).toString('utf8');
    if (/^\s*\{/.test(text)) return text.includes('"weightsManifest"') || text.includes('"modelTopology"');
    return looksLikeBareManifest(text);
  },
  open: openTfjs,
};

/** A JSON list whose first element is a group with `paths` and `weights` (either key first). */
function looksLikeBareManifest(text: string): boolean {
  return /^\s*\[\s*\{\s*"(paths|weights)"\s*:/.test(text);
}

/** Whether a file name is a bare TF.js weights manifest's (`face_landmark_68_model-weights_manifest.json`). */
export function isManifestName(name: string): boolean {
  return /weights_manifest\.json$/i.test(name);
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

const STORED: Record<string, { dtype: DType; size: number }> = {
  float32: { dtype: 'F32', size: 4 }, int32: { dtype: 'I32', size: 4 }, bool: { dtype: 'BOOL', size: 1 },
};

/** Quantized storage: bytes per stored element. All are read as the float32 the model computes with. */
const QUANTIZED: Record<string, { size: number }> = { uint8: { size: 1 }, uint16: { size: 2 }, float16: { size: 2 } };

/** A range of bytes in the concatenation of a group's shards. */
interface Shard { path: string; start: number; size: number }

/** TF.js variable names of hand-built models, as the Keras names kerasLayout knows. */
const KERAS_VARIABLE: Record<string, string> = { filters: 'kernel', weights: 'kernel', depthwise_filter: 'depthwise_kernel', pointwise_filter: 'pointwise_kernel' };

export async function openTfjs(path: string): Promise<Checkpoint> {
  const raf = await RandomAccessFile.open(path);
  let text: string;
  try {
    if (raf.size > LIMITS.maxHeaderBytes) throw new CheckpointError(path, `${basename(path)} is ${raf.size} bytes, more than the limit of ${LIMITS.maxHeaderBytes}`);
    text = Buffer.from(await raf.read(0, raf.size)).toString('utf8');
  } finally { await raf.close(); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new CheckpointError(path, `is not valid JSON (${(e as Error).message})`); }
  const bare = Array.isArray(json);
  const model = (bare ? {} : json) as Record<string, unknown>;
  const manifest = bare ? json as unknown[] : model?.weightsManifest;
  if (!model || typeof model !== 'object' || !Array.isArray(manifest)) {
    throw new CheckpointError(path, 'is not a TF.js model.json: it has no weightsManifest list');
  }
  const folder = dirname(path);
  const topology = model.modelTopology;
  const graphModel = model.format === 'graph-model' || Array.isArray((topology as { node?: unknown })?.node);
  const classes = graphModel ? new Map() : configLayers(topology);
  const metadata: Record<string, string> = {};
  for (const k of ['format', 'generatedBy', 'convertedBy']) if (typeof model[k] === 'string') metadata[k] = model[k] as string;
  if (bare) metadata.format = 'weights manifest';
  const warnings: string[] = [];
  const tensors: TensorInfo[] = [];
  const files: Checkpoint['files'] = [await fileSignature(path)];
  const entries: { w: ManifestWeight; t: TensorInfo }[] = [];

  for (const [gi, group] of manifest.entries()) {
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
      const quantized = q ? own(QUANTIZED, q.dtype) : undefined;
      const plain = q ? undefined : own(STORED, w.dtype);
      const size = quantized?.size ?? plain?.size;
      if (size === undefined) {
        // Strings have per-element lengths: the offsets of the weights after one are unknown.
        warnings.push(`${w.name}: ${q ? `quantization ${q.dtype}` : `dtype ${w.dtype}`} is not supported; it and the rest of its group are skipped`);
        break;
      }
      let n: number;
      try { n = numel(w.shape); } catch { throw new CheckpointError(path, `weight ${w.name} has an impossible shape [${w.shape.join(', ')}]`); }
      const bytes = n * size;
      if (offset + bytes > total) {
        const last = shards[shards.length - 1];
        throw new CheckpointError(last ? last.path : path, `shard is short: the weights of ${path} need ${offset + bytes} bytes in group ${gi} but its ${shards.length} shard(s) hold ${total} (weight ${w.name})`);
      }
      // The name as the file spells it (`conv2d/kernel`); only matching canonicalises it.
      const name = w.name;
      const parts = w.name.replace(/:\d+$/, '').split('/').filter(Boolean);
      const variable = parts[parts.length - 1];
      const layer = parts.length > 1 ? parts[parts.length - 2] : name;
      const cls = classes.get(parts.slice(0, -1).join('.'))?.cls ?? classes.get(layer)?.cls ?? classFromDefaultName(layer);
      // Graph models get their layout from the ops (below); layers models and manifests from the variable's name.
      const layout = graphModel ? { shape: w.shape } : kerasLayout(cls, own(KERAS_VARIABLE, variable) ?? variable, w.shape);
      let t: TensorInfo;
      if (q && (q.dtype === 'uint8' || q.dtype === 'uint16')) {
        const scale = Number(q.scale), min = Number(q.min);
        if (!Number.isFinite(scale) || !Number.isFinite(min)) throw new CheckpointError(path, `weight ${w.name} is quantized without a finite scale and min`);
        // The float32 the integers stand for (tf.js dequantizes the same way), judged like any float.
        t = { name, dtype: 'F32', ...layout, storage: quantizedStorage(q.dtype, { scale: [scale], offset: [min] }, w.shape, path, name), location: locate(shards, offset, bytes) };
      } else if (q) {
        t = { name, dtype: 'F32', ...layout, storage: float16Storage(), location: locate(shards, offset, bytes) };
      } else {
        t = { name, dtype: plain!.dtype, ...layout, location: locate(shards, offset, bytes) };
      }
      tensors.push(t);
      entries.push({ w, t });
      offset += bytes;
    }
    if (offset < total) warnings.push(`group ${gi} has ${total - offset} bytes after its last weight`);
  }
  if (graphModel) return withGraph(path, topology, entries, { path, format: 'tfjs', tensors, entries: [], metadata, files, warnings });
  // A bare manifest lists weights in the order its writer saw them: stored order, nothing declared.
  if (bare) return { path, format: 'tfjs', tensors, entries: [], metadata, files, warnings };
  const declared = [...classes.keys()];
  const present = new Set(tensors.map((t) => { const n = t.name.replace(/:\d+$/, ''); return n.slice(0, Math.max(0, n.lastIndexOf('/'))); }));
  const layerOrder = declared.filter((l) => present.has(l));
  for (const l of present) if (!layerOrder.includes(l)) layerOrder.push(l);
  // Which layer feeds which, from the topology: decides which kernels a norm normalises.
  const graph = kerasLayerGraph(topology);
  return { path, format: 'tfjs', tensors, entries: [], metadata, files, layerOrder, warnings,
    ...(topology && typeof topology === 'object' ? { architecture: topology } : {}), ...(graph ? { layerGraph: graphForLayers(graph, present) } : {}) };
}

/** A graph model's weights with the layers, roles and layouts its ops give them. */
function withGraph(path: string, topology: unknown, entries: { w: ManifestWeight; t: TensorInfo }[], ck: Checkpoint): Checkpoint {
  const evidence = graphEvidence(topology, new Map(entries.map((e) => [e.w.name, e.w.shape])));
  if (!evidence) {
    ck.warnings.push('graph model without a node list: kinds and order come from the weights\' names');
    return ck;
  }
  for (const { w, t } of entries) {
    const g = evidence.weights.get(w.name);
    if (!g) continue;
    t.group = { layer: g.layer, role: g.role };
    t.shape = g.layout.shape;
    if (g.layout.permute) { t.storedShape = g.layout.storedShape; t.permute = g.layout.permute; }
  }
  const unused = entries.filter((e) => !evidence.weights.has(e.w.name)).length;
  if (unused) ck.warnings.push(`${unused} weight(s) are not an input of any op the graph's nodes list (shape constants, ...); listed without a layer kind`);
  ck.layerOrder = evidence.layerOrder;
  return ck;
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

/** Where a weight's bytes are: in one shard, or in runs of several (both read with positioned reads, streamed). */
function locate(shards: Shard[], offset: number, bytes: number): TensorLocation {
  const s = shards.find((x) => offset >= x.start && offset + bytes <= x.start + x.size);
  if (s) return { kind: 'contiguous', file: s.path, offset: offset - s.start, littleEndian: true };
  const segments = shards.flatMap((x) => {
    const from = Math.max(offset, x.start), to = Math.min(offset + bytes, x.start + x.size);
    return from < to ? [{ file: x.path, offset: from - x.start, length: to - from }] : [];
  });
  return { kind: 'segmented', segments, littleEndian: true };
}
