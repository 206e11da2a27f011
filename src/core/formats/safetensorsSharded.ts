// Sharded safetensors (transformers' `model.safetensors.index.json`): {metadata, weight_map:
// tensor name → shard file}. One Checkpoint whose tensors live in the shard files beside the index.
import { dirname, isAbsolute, join } from 'node:path';
import { Checkpoint, TensorInfo } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile } from '../common/fileio';
import { FormatReader, LIMITS } from './reader';
import { readSafetensorsHeader, SafetensorsHeader } from './safetensors';

const INDEX_SUFFIX = '.safetensors.index.json';

export const safetensorsShardedReader: FormatReader = {
  format: 'safetensors-sharded',
  sniff(head: Uint8Array, path: string): boolean {
    if (path.toLowerCase().endsWith(INDEX_SUFFIX)) return true;
    // An index under another name: JSON naming a weight_map of .safetensors shards. An index of
    // PyTorch .bin shards has a weight_map too, and is not ours.
    const text = Buffer.from(head.subarray(0, 4096)).toString('latin1');
    return /^\s*\{/.test(text) && text.includes('"weight_map"') && text.includes('.safetensors"');
  },
  open: openShardedSafetensors,
};

async function openShardedSafetensors(path: string): Promise<Checkpoint> {
  const index = await RandomAccessFile.open(path);
  let text: string;
  try {
    if (index.size > LIMITS.maxHeaderBytes) throw new CheckpointError(path, `index is ${index.size} bytes, more than the limit of ${LIMITS.maxHeaderBytes}`);
    text = Buffer.from(await index.read(0, index.size)).toString('utf8');
  } finally {
    await index.close();
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new CheckpointError(path, `index is not valid JSON (${(e as Error).message})`); }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(path, 'index is not a JSON object');
  const { weight_map: weightMap, metadata: indexMeta } = json as Record<string, unknown>;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError(path, 'index has no weight_map object (tensor name → shard file)');
  }

  const dir = dirname(path);
  const wanted = new Map<string, Set<string>>(); // shard file name → tensor names the index puts there
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') throw new CheckpointError(path, `weight_map entry ${name} does not name a shard file`);
    // Shards live beside the index; a name that climbs out of that folder is refused, not followed.
    if (isAbsolute(shard) || shard.split(/[\\/]/).includes('..') || /^[a-zA-Z]:/.test(shard)) {
      throw new CheckpointError(path, `weight_map puts ${name} in ${shard}, outside the index's folder; refused`);
    }
    let set = wanted.get(shard);
    if (!set) wanted.set(shard, (set = new Set()));
    set.add(name);
  }
  if (wanted.size === 0) throw new CheckpointError(path, 'index weight_map is empty');

  // Shards in name order (model-00001-of-00003, ...) and tensors in data order within each:
  // together that is the order the model was saved in, which weight_map (sorted by name) is not.
  const shardNames = [...wanted.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const headers: { shard: string; file: string; h: SafetensorsHeader }[] = [];
  for (const shard of shardNames) {
    const file = join(dir, shard);
    let h: SafetensorsHeader;
    try {
      h = await readSafetensorsHeader(file);
    } catch (e) {
      if (e instanceof CheckpointError && e.problem === 'no such file') {
        throw new CheckpointError(path, `shard ${shard} is missing (expected at ${file})`);
      }
      throw e;
    }
    headers.push({ shard, file, h });
  }

  const tensors: TensorInfo[] = [];
  const warnings: string[] = [];
  for (const { shard, h } of headers) {
    const names = wanted.get(shard)!;
    const present = new Set<string>();
    for (const t of h.tensors) {
      if (!names.has(t.name)) {
        warnings.push(`shard ${shard} holds ${t.name}, which the index does not list; ignored`);
        continue;
      }
      present.add(t.name);
      tensors.push(t);
    }
    for (const n of names) {
      if (!present.has(n)) throw new CheckpointError(path, `index puts ${n} in shard ${shard}, which does not contain it`);
    }
    warnings.push(...h.warnings.map((w) => `${shard}: ${w}`));
  }

  const metadata: Record<string, string> = {};
  for (const { h } of headers) for (const [k, v] of Object.entries(h.metadata ?? {})) if (!(k in metadata)) metadata[k] = v;
  if (typeof indexMeta === 'object' && indexMeta !== null) {
    for (const [k, v] of Object.entries(indexMeta)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }

  const indexSig = { path, size: index.size, mtimeMs: index.mtimeMs };
  return {
    path, format: 'safetensors-sharded', tensors, entries: [],
    metadata: Object.keys(metadata).length ? metadata : undefined,
    files: [indexSig, ...headers.map(({ file, h }) => ({ path: file, size: h.size, mtimeMs: h.mtimeMs }))],
    warnings,
    // Each shard written by the reference library is sorted by dtype and name: no network order.
    storedOrder: headers.every(({ h }) => h.referenceOrder) && tensors.length > 1 ? 'sorted' : 'writer',
  };
}
