// Keras checkpoints: HDF5 files written by tf.keras 2.x (`model.save('x.h5')`, `save_weights('x.h5')`)
// and Keras 3 (`save_weights('x.weights.h5')`, and `model.save('x.keras')`, a zip holding
// config.json and model.weights.h5). Tensors are named as Keras spells them: the weight name
// without its `:0` output index (`conv2d/kernel`, `sequential/conv2d/kernel`; Keras 3 files store
// numbered vars, named here like Keras 3's variable paths, `conv2d/kernel`); matching compares
// them in PyTorch's dotted form (analysis/matching.ts canonicalName). Tensors are described in
// canonical (PyTorch) layout: Keras stores kernels channels-last, see kerasLayout.
import { existsSync, rmSync } from 'node:fs';
import { inflateToFile } from '../tensor/inflateRead';
import { Checkpoint, NonTensorEntry, TensorInfo } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile, fileSignature } from '../common/fileio';
import { FormatReader, LIMITS } from './reader';
import { datasetReadMs, HDF5_IDLE_MS, Hdf5File, isHdf5, runInHdf5Thread } from './hdf5';
import { ChunkedDataset, chunkedBoxReader, filterSupport } from './hdf5Chunks';
import { DType, DTYPE_SIZE } from '../common/types';
import { ZipArchive } from './zip';
import type { FileWindow } from './hdf5Window';
import { graphForLayers, kerasLayerGraph } from './kerasGraph';

// ---------------------------------------------------------------------------------------------
// Canonical layout

export interface Layout { shape: number[]; storedShape?: number[]; permute?: number[] }

const DEPTHWISE_CLASSES = /^Depthwise(Conv)?\d?D$/;

/**
 * Canonical (PyTorch) layout of a Keras/TF.js variable, from its layer class (when known), its
 * variable name and its stored shape:
 * - conv kernels `[k..., in, out]` → `[out, in, k...]`; Conv*Transpose kernels are stored
 *   `[k..., out, in]` and the same permutation gives PyTorch's ConvTranspose `[in, out, k...]`;
 * - depthwise kernels `[k..., in, mult]` → `[in*mult, 1, k...]`: output channel c*mult+m, as
 *   PyTorch's grouped conv (groups=in) numbers them, is the C-order flattening of (c, m), so
 *   permuting to `[in, mult, k...]` already is `[in*mult, 1, k...]` in memory;
 * - dense (and recurrent) kernels `[in, out]` → `[out, in]`;
 * - everything else (biases, BN vectors, embeddings `[vocab, dim]`, as PyTorch) unchanged.
 */
export function kerasLayout(layerClass: string | undefined, variable: string, stored: number[]): Layout {
  const r = stored.length;
  const isKernel = variable === 'kernel' || variable === 'pointwise_kernel' || variable === 'recurrent_kernel';
  const depthwise = variable === 'depthwise_kernel' || (variable === 'kernel' && !!layerClass && DEPTHWISE_CLASSES.test(layerClass));
  if (depthwise && r >= 3 && r <= 5) {
    const k = stored.slice(0, r - 2);
    const [cin, mult] = stored.slice(r - 2);
    const perm = [r - 2, r - 1, ...k.map((_, i) => i)];
    return { shape: [cin * mult, 1, ...k], storedShape: stored, permute: perm };
  }
  if (!isKernel) return { shape: stored };
  if (r === 2) return { shape: [stored[1], stored[0]], storedShape: stored, permute: [1, 0] };
  // A rank 3-5 kernel is a conv kernel unless the class says otherwise (EinsumDense, ...).
  if (r >= 3 && r <= 5 && (!layerClass || /Conv/.test(layerClass))) {
    const perm = [r - 1, r - 2, ...Array.from({ length: r - 2 }, (_, i) => i)];
    return { shape: perm.map((p) => stored[p]), storedShape: stored, permute: perm };
  }
  return { shape: stored };
}

// ---------------------------------------------------------------------------------------------
// Layer classes and the roles of Keras 3's numbered variables

/** Layer class from a default Keras name (`conv2d_3` → Conv2D), for files without a config. */
const CLASS_OF_DEFAULT_NAME: Record<string, string> = {
  conv1d: 'Conv1D', conv2d: 'Conv2D', conv3d: 'Conv3D',
  conv1d_transpose: 'Conv1DTranspose', conv2d_transpose: 'Conv2DTranspose', conv3d_transpose: 'Conv3DTranspose',
  depthwise_conv1d: 'DepthwiseConv1D', depthwise_conv2d: 'DepthwiseConv2D',
  separable_conv1d: 'SeparableConv1D', separable_conv2d: 'SeparableConv2D',
  dense: 'Dense', einsum_dense: 'EinsumDense', embedding: 'Embedding',
  batch_normalization: 'BatchNormalization', layer_normalization: 'LayerNormalization',
  group_normalization: 'GroupNormalization', p_re_lu: 'PReLU', prelu: 'PReLU',
};

export function classFromDefaultName(name: string): string | undefined {
  const leaf = name.split(/[./]/).pop() ?? name;
  for (const key of [leaf.replace(/_\d+$/, ''), leaf]) {
    // Own keys only: a layer named `constructor` is not Object's.
    if (Object.prototype.hasOwnProperty.call(CLASS_OF_DEFAULT_NAME, key)) return CLASS_OF_DEFAULT_NAME[key];
  }
  return undefined;
}

/** Names of a Keras 3 layer's variables in `vars/<i>` order (the order the layer creates them). */
function variableNames(cls: string | undefined, cfg: Record<string, unknown>, parentClass?: string, segment?: string): string[] | undefined {
  if (segment === 'cell' || (cls && /Cell$/.test(cls)) || (parentClass && /^(LSTM|GRU|SimpleRNN)$/.test(parentClass))) {
    return cfg.use_bias === false ? ['kernel', 'recurrent_kernel'] : ['kernel', 'recurrent_kernel', 'bias'];
  }
  if (!cls) return undefined;
  const useBias = cfg.use_bias !== false;
  if (/^SeparableConv\dD$/.test(cls)) return useBias ? ['depthwise_kernel', 'pointwise_kernel', 'bias'] : ['depthwise_kernel', 'pointwise_kernel'];
  if (/Conv\dD(Transpose)?$/.test(cls) || cls === 'Dense' || cls === 'EinsumDense') return useBias ? ['kernel', 'bias'] : ['kernel'];
  if (cls === 'BatchNormalization') {
    return [...(cfg.scale !== false ? ['gamma'] : []), ...(cfg.center !== false ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  }
  if (/Normalization$/.test(cls) && cls !== 'Normalization') return [...(cfg.scale !== false ? ['gamma'] : []), ...(cfg.center !== false ? ['beta'] : [])];
  if (cls === 'Embedding') return ['embeddings'];
  if (cls === 'PReLU') return ['alpha'];
  return undefined;
}

interface ConfigLayer { cls: string; config: Record<string, unknown> }

/** Layers of a Keras model config (Functional/Sequential, nested models flattened as `outer.inner`), in config order. */
export function configLayers(modelConfig: unknown): Map<string, ConfigLayer> {
  const out = new Map<string, ConfigLayer>();
  const walk = (node: unknown, prefix: string): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    const cfg = (n.config && typeof n.config === 'object' ? n.config : {}) as Record<string, unknown>;
    // Keras <= 2.2 wrote a Sequential's config as the bare list of its layers.
    const layers = Array.isArray(n.config) ? n.config : Array.isArray(cfg.layers) ? cfg.layers : Array.isArray(n.layers) ? n.layers : undefined;
    if (!layers) return;
    for (const l of layers) {
      if (!l || typeof l !== 'object') continue;
      const lr = l as Record<string, unknown>;
      const lc = (lr.config && typeof lr.config === 'object' ? lr.config : {}) as Record<string, unknown>;
      const name = typeof lc.name === 'string' ? lc.name : typeof lr.name === 'string' ? lr.name : undefined;
      if (!name) continue;
      const full = prefix ? `${prefix}.${name}` : name;
      if (!out.has(full)) out.set(full, { cls: String(lr.class_name ?? ''), config: lc });
      walk(lr, full);
    }
  };
  // model.save .h5: {class_name, config}; TF.js: modelTopology {model_config: {...}} or the same.
  const root = modelConfig as Record<string, unknown> | null;
  walk(root && typeof root === 'object' && 'model_config' in root ? root.model_config : root, '');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Readers

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const KERAS_ZIP_ENTRIES = ['metadata.json', 'config.json', 'model.weights.h5', 'assets/', 'variables.h5'];

export const kerasH5Reader: FormatReader = {
  format: 'keras-h5',
  sniff: (head) => isHdf5(head),
  open: (path) => openKerasHdf5(path, path, {}),
};

export const kerasZipReader: FormatReader = {
  format: 'keras-v3',
  sniff(head: Uint8Array, path: string): boolean {
    if (!ZIP_MAGIC.every((b, i) => head[i] === b)) return false;
    if (path.toLowerCase().endsWith('.keras')) return true;
    // First entry's name, from the local header: Keras writes metadata.json or config.json first.
    if (head.byteLength < 30) return false;
    const n = head[26] | (head[27] << 8);
    const name = Buffer.from(head.subarray(30, 30 + n)).toString('utf8');
    return KERAS_ZIP_ENTRIES.includes(name);
  },
  open: openKerasZip,
};

interface OpenContext {
  /** Layer classes by name from a model config found outside the HDF5 file (config.json). */
  config?: Map<string, ConfigLayer>;
  /** Re-creates the HDF5 file if it went away (a temp file extracted from a .keras). */
  ensure?: () => Promise<string>;
  metadata?: Record<string, string>;
  entries?: NonTensorEntry[];
  files?: Checkpoint['files'];
  warnings?: string[];
  /** The model config from config.json of a .keras. */
  architecture?: unknown;
  /**
   * Where the HDF5 file's bytes lie for positioned reads, when not at `fsPath` (a .keras: inside
   * the archive when its member is stored, else in the inflated copy): byte 0 of the HDF5 file
   * is byte `offset` of `file`. Without it, a .keras's datasets are read through h5wasm.
   */
  dataAt?: { file: string; offset: number };
  /** The HDF5 file is bytes [offset, offset + size) of fsPath (a stored .keras member), opened where it lies. */
  within?: FileWindow;
}

/** Opens an HDF5 Keras file at `fsPath` (shown as `displayPath`). */
export async function openKerasHdf5(fsPath: string, displayPath: string, ctx: OpenContext): Promise<Checkpoint> {
  const files = ctx.files ?? [await fileSignature(fsPath)];
  const describeCtx: KerasDescribeContext = { config: ctx.config, metadata: ctx.metadata, entries: ctx.entries, warnings: ctx.warnings };
  // The structure walk runs in the HDF5 thread, which a damaged file can hang: see hdf5.ts.
  const within = ctx.within;
  const d = await runInHdf5Thread<KerasDescription>({ op: 'keras', fsPath, displayPath, ctx: describeCtx, within }, HDF5_IDLE_MS);
  const dataAt = ctx.dataAt ?? (ctx.ensure ? undefined : { file: fsPath, offset: 0 });
  const hdf5Path = async () => ctx.ensure ? ctx.ensure() : fsPath;
  const tensors: TensorInfo[] = d.tensors.map(({ dataset, bytes, fileOffset, chunks, native, ...t }) => {
    const size = DTYPE_SIZE[t.dtype];
    let location: TensorInfo['location'];
    if (fileOffset !== undefined && dataAt) {
      // Stored plainly: read where it lies, like safetensors (streamed, transposed a band at a time).
      location = { kind: 'contiguous', file: dataAt.file, offset: dataAt.offset + fileOffset, littleEndian: true };
    } else if (chunks) {
      // Chunked or compressed: a box of chunks at a time, never whole; read and inflated here
      // (on libuv's pool) when the chunk table allows, else through the HDF5 thread.
      const viaHdf5 = async (start: number[], count: number[], into: Uint8Array) => {
        // A shared buffer is written in place by the HDF5 thread (no band allocates); any other is filled from a copy.
        const shared = into.buffer instanceof SharedArrayBuffer && into.byteOffset === 0 ? into.buffer : undefined;
        const r = await runInHdf5Thread<Uint8Array | number>({ op: 'slab', fsPath: await hdf5Path(), displayPath, dataset, start, count, within, ...(shared ? { into: shared } : {}) }, datasetReadMs(count.reduce((a, b) => a * b, size)));
        return typeof r === 'number' ? into.subarray(0, r) : r;
      };
      const read = native && dataAt ? chunkedBoxReader(native, dataAt.file, dataAt.offset, displayPath, viaHdf5) : viaHdf5;
      location = { kind: 'slabs', file: displayPath, chunks, littleEndian: true, read };
    } else {
      location = { kind: 'loader', littleEndian: true, load: async () => runInHdf5Thread<Uint8Array>({ op: 'read', fsPath: await hdf5Path(), displayPath, dataset, within }, datasetReadMs(bytes)) };
    }
    return { ...t, location };
  });
  const architecture = ctx.architecture ?? d.architecture;
  // Which layer feeds which, from the model config: decides which kernels a norm normalises.
  const graph = architecture ? kerasLayerGraph(architecture) : undefined;
  return { path: displayPath, format: d.format, tensors, layerOrder: d.layerOrder, entries: d.entries, files, warnings: d.warnings, metadata: d.metadata,
    ...(architecture ? { architecture } : {}), ...(graph ? { layerGraph: graphForLayers(graph, d.layerOrder) } : {}) };
}

/** What the HDF5 thread passes in: plain data (no loaders, no file handles). */
export interface KerasDescribeContext {
  config?: Map<string, ConfigLayer>;
  metadata?: Record<string, string>;
  entries?: NonTensorEntry[];
  warnings?: string[];
}

/** A tensor as the HDF5 thread describes it: where its dataset is instead of a loader. */
export interface DescribedTensor {
  name: string; dtype: DType; shape: number[]; storedShape?: number[]; permute?: number[]; dataset: string; bytes: number;
  /** Where the dataset's bytes start in the file, when it is stored contiguously, unfiltered, little-endian. */
  fileOffset?: number;
  /** When a large dataset is read a box at a time instead (chunked or compressed): its chunk shape. */
  chunks?: number[];
  /** Its chunk table and filters, when its boxes can be read without HDF5 (hdf5Chunks.ts). */
  native?: ChunkedDataset;
}

/** Datasets of at least this many bytes are read at their file offset when they can be. */
const DIRECT_READ_MIN_BYTES = 64 * 1024;

/** The Keras structure of an HDF5 file, as plain data the HDF5 thread posts back. */
export interface KerasDescription {
  format: 'keras-h5' | 'keras-v3';
  tensors: DescribedTensor[];
  layerOrder: string[];
  entries: NonTensorEntry[];
  warnings: string[];
  metadata: Record<string, string>;
  /** The model config of a `model.save` .h5 (its `model_config` attribute). */
  architecture?: unknown;
}

/** Walks an open Keras HDF5 file (in the HDF5 thread: every call here may hang on a damaged file). */
export function describeKerasHdf5(f: Hdf5File, ctx: KerasDescribeContext): KerasDescription {
  const displayPath = f.path;
  const base = f.kind('model_weights') === 'group' && hasChunkedAttr(f, 'model_weights', 'layer_names') ? 'model_weights'
    : hasChunkedAttr(f, '', 'layer_names') ? '' : undefined;
  const common: Common = {
    path: displayPath,
    entries: [...(ctx.entries ?? [])],
    warnings: [...(ctx.warnings ?? [])],
    metadata: { ...(ctx.metadata ?? {}) },
  };
  for (const k of ['keras_version', 'backend']) {
    const v = f.attr('', k) ?? (base ? f.attr(base, k) : null);
    if (typeof v === 'string') common.metadata[k] = v;
  }
  const out = (format: KerasDescription['format'], r: { tensors: DescribedTensor[]; architecture?: unknown }): KerasDescription =>
    ({ format, tensors: r.tensors, layerOrder: layerOrderOf(r.tensors), entries: common.entries, warnings: common.warnings, metadata: common.metadata, architecture: r.architecture });
  if (base !== undefined) return out('keras-h5', readKeras2(f, base, ctx, common));
  if (f.kind('layers') === 'group' || f.kind('_layer_checkpoint_dependencies') === 'group') {
    return out('keras-v3', readKeras3(f, ctx, common));
  }
  throw new CheckpointError(displayPath, 'is an HDF5 file but not a Keras checkpoint: it has no model_weights group, no layer_names attribute and no layers/<name>/vars groups');
}

type Common = { path: string; entries: NonTensorEntry[]; warnings: string[]; metadata: Record<string, string> };

/** Keras 2 writes long string-list attributes in chunks: `layer_names0`, `layer_names1`, ... */
function chunkedAttr(f: Hdf5File, path: string, name: string): string[] | null {
  const whole = f.attr(path, name);
  if (whole !== null) return asStrings(whole);
  const names = f.attrNames(path);
  if (!names.includes(`${name}0`)) return null;
  const out: string[] = [];
  for (let i = 0; names.includes(`${name}${i}`); i++) out.push(...asStrings(f.attr(path, `${name}${i}`)));
  return out;
}

function hasChunkedAttr(f: Hdf5File, path: string, name: string): boolean {
  const names = f.attrNames(path);
  return names.includes(name) || names.includes(`${name}0`);
}

function asStrings(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map(String);
  return [String(v)];
}

function parseJsonAttr(f: Hdf5File, path: string, name: string): unknown {
  const v = f.attr(path, name);
  if (typeof v !== 'string') return undefined;
  try { return JSON.parse(v); } catch { return undefined; }
}

function readKeras2(f: Hdf5File, base: string, ctx: KerasDescribeContext, common: Common): { tensors: DescribedTensor[]; architecture?: unknown } {
  const modelConfig = parseJsonAttr(f, '', 'model_config');
  const classes = ctx.config ?? configLayers(modelConfig);
  if (modelConfig && typeof modelConfig === 'object') {
    const cls = (modelConfig as Record<string, unknown>).class_name;
    if (typeof cls === 'string') common.metadata.model_class = cls;
  }
  const layerNames = chunkedAttr(f, base, 'layer_names') ?? [];
  const tensors: DescribedTensor[] = [];
  const prefix = base ? `${base}/` : '';
  for (const layer of layerNames) {
    if (f.kind(prefix + layer) !== 'group') { common.warnings.push(`layer ${layer} is listed in layer_names but has no group`); continue; }
    const weightNames = chunkedAttr(f, prefix + layer, 'weight_names') ?? [];
    for (const wn of weightNames) {
      const ds = `${prefix}${layer}/${wn}`;
      if (f.kind(ds) !== 'dataset') { common.warnings.push(`weight ${wn} of layer ${layer} is listed but missing`); continue; }
      const parts = wn.replace(/:\d+$/, '').split('/').filter(Boolean);
      if (parts[0] === layer) parts.shift();
      const variable = parts[parts.length - 1] ?? wn;
      const name = [layer, ...parts].join('/');
      // A nested model's weights (`sequential/conv2d/kernel:0`) take the inner layer's class.
      const inner = parts.length > 1 ? parts[parts.length - 2] : layer;
      const cls = classes.get(parts.length > 1 ? `${layer}.${inner}` : layer)?.cls ?? classes.get(inner)?.cls ?? classFromDefaultName(inner);
      const t = describe(f, ds, name, cls, variable, common);
      if (t) tensors.push(t);
    }
  }
  if (f.kind('optimizer_weights') === 'group') {
    const n = (chunkedAttr(f, 'optimizer_weights', 'weight_names') ?? []).length;
    common.entries.push({ name: 'optimizer_weights', type: 'optimizer state', value: `${n} variable${n === 1 ? '' : 's'}` });
  }
  const training = f.attr('', 'training_config');
  if (typeof training === 'string') common.entries.push({ name: 'training_config', type: 'dict', value: cut(training) });
  return { tensors, architecture: modelConfig && typeof modelConfig === 'object' ? modelConfig : undefined };
}

/** Containers Keras 3 nests layers in; they are not part of a layer's name. */
const CONTAINER_SEGMENTS = new Set(['layers', '_layer_checkpoint_dependencies']);
/** Root groups that are not model weights. */
const SKIPPED_ROOT = new Set(['optimizer', 'metrics', 'compile_metrics', 'loss', 'loss_tracker']);

function readKeras3(f: Hdf5File, ctx: KerasDescribeContext, common: Common): { tensors: DescribedTensor[] } {
  const classes = ctx.config ?? new Map<string, ConfigLayer>();
  if (!ctx.config) common.warnings.push('no model config (a bare .weights.h5): layer order is the file\'s alphabetical order and variable roles are inferred from layer names');
  const found: { layer: string; segments: string[]; varsPath: string }[] = [];
  const visit = (path: string, segments: string[], depth: number): void => {
    if (depth > 32) return;
    for (const key of f.keys(path)) {
      const child = path ? `${path}/${key}` : key;
      if (depth === 0 && SKIPPED_ROOT.has(key)) {
        if (key === 'optimizer') {
          const n = f.keys(`${child}/vars`).length;
          common.entries.push({ name: 'optimizer', type: 'optimizer state', value: `${n} variable${n === 1 ? '' : 's'}` });
        }
        continue;
      }
      // RNG state of Dropout and friends: not a weight.
      if (/^seed_generator/.test(key)) continue;
      if (f.kind(child) !== 'group') continue;
      if (key === 'vars') {
        if (segments.length && f.keys(child).length) found.push({ layer: segments.join('.'), segments, varsPath: child });
        continue;
      }
      visit(child, CONTAINER_SEGMENTS.has(key) ? segments : [...segments, key], depth + 1);
    }
  };
  visit('', [], 0);
  // Network order: the config's layer order; layers not in the config keep the file's order after them.
  const configOrder = [...classes.keys()];
  const rank = (name: string): number => {
    const i = configOrder.indexOf(name);
    if (i >= 0) return i;
    const parts = name.split('.');
    for (let k = parts.length - 1; k > 0; k--) {
      const j = configOrder.indexOf(parts.slice(0, k).join('.'));
      if (j >= 0) return j + 0.5;
    }
    return configOrder.length;
  };
  found.sort((a, b) => rank(a.layer) - rank(b.layer));
  const tensors: DescribedTensor[] = [];
  for (const { layer, segments, varsPath } of found) {
    const last = segments[segments.length - 1];
    const entry = classes.get(layer) ?? classes.get(last);
    const parent = segments.length > 1 ? classes.get(segments.slice(0, -1).join('.')) ?? classes.get(segments[segments.length - 2]) : undefined;
    const cls = entry?.cls ?? classFromDefaultName(last);
    const indices = f.keys(varsPath).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
    let names = variableNames(cls, entry?.config ?? {}, parent?.cls, last);
    if (names && names.length !== indices.length) {
      common.warnings.push(`layer ${layer} (${cls}) has ${indices.length} variables where ${names.length} were expected; roles guessed from shapes`);
      names = undefined;
    }
    indices.forEach((idx, i) => {
      const ds = `${varsPath}/${idx}`;
      const variable = names?.[i] ?? guessVariable(f, ds, i);
      const t = describe(f, ds, [...segments, variable].join('/'), cls, variable, common);
      if (t) tensors.push(t);
    });
  }
  return { tensors };
}

/** Role of a numbered variable of a layer of unknown class: a kernel first, then a bias. */
function guessVariable(f: Hdf5File, ds: string, i: number): string {
  const r = f.dataset(ds).shape.length;
  if (i === 0 && r >= 2) return 'kernel';
  if (i === 1 && r === 1) return 'bias';
  return `var${i}`;
}

function describe(f: Hdf5File, ds: string, name: string, cls: string | undefined, variable: string, common: Common): DescribedTensor | undefined {
  const info = f.dataset(ds);
  // Skipped before its filters are looked at: a string dataset under a plugin filter is never read.
  if (!info.dtype) { common.warnings.push(`${name}: ${info.typeDescription} is not a numeric type Reuse Lens compares; skipped`); return undefined; }
  // A plugin filter h5wasm lacks would fail at read with HDF5's plugin search trace: say it here.
  const filters = f.filters(ds);
  const support = filterSupport(filters);
  if (typeof support === 'object') {
    throw new CheckpointError(f.path, `dataset ${ds} is compressed with the HDF5 filter ${support.name || 'unnamed'} (id ${support.id}), which Reuse Lens cannot decode: only HDF5's built-in filters (gzip, shuffle, fletcher32, szip, nbit, scaleoffset) are read; save it again with compression="gzip" or none`);
  }
  const layout = kerasLayout(cls, variable, info.shape);
  // Only sizes the read's deadline; a lying shape is refused when the tensor is read.
  const bytes = info.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[info.dtype];
  // Large datasets stored plainly are read at their file offset (streamed, never whole); small
  // ones cost less through h5wasm than finding that offset.
  const fileOffset = bytes >= DIRECT_READ_MIN_BYTES ? f.contiguousOffset(ds) : undefined;
  // Large ones stored otherwise (chunked, compressed) are read a box of chunks at a time:
  // natively when the chunk table can be read and the filters are gzip/shuffle/fletcher32.
  const chunks = bytes >= DIRECT_READ_MIN_BYTES && fileOffset === undefined ? f.chunks(ds) ?? info.shape.map(() => 1) : undefined;
  const native = chunks && support === 'native' ? f.chunkedDataset(ds, filters) : undefined;
  return { name, dtype: info.dtype, ...layout, dataset: ds, bytes, ...(fileOffset !== undefined ? { fileOffset } : {}), ...(chunks ? { chunks } : {}), ...(native ? { native } : {}) };
}

function layerOrderOf(tensors: { name: string }[]): string[] {
  const seen = new Set<string>();
  for (const t of tensors) {
    const cutAt = t.name.lastIndexOf('/');
    seen.add(cutAt < 0 ? t.name : t.name.slice(0, cutAt));
  }
  return [...seen];
}

function cut(s: string, n = 200): string { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

// ---------------------------------------------------------------------------------------------
// .keras zip

const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** Opens the archive with a file we close ourselves if the zip directory turns out damaged. */
async function openZip(path: string): Promise<ZipArchive> {
  const raf = await RandomAccessFile.open(path);
  try { return await ZipArchive.open(path, raf); } catch (e) { await raf.close(); throw e; }
}

async function openKerasZip(path: string): Promise<Checkpoint> {
  const zip = await openZip(path);
  let config: Map<string, ConfigLayer> | undefined;
  let architecture: unknown;
  const metadata: Record<string, string> = {};
  let weightsEntry;
  let weightsDataOffset: number | undefined;
  try {
    weightsEntry = zip.find('model.weights.h5') ?? zip.entries.find((e) => e.name.endsWith('.weights.h5') || e.name === 'variables.h5');
    if (!weightsEntry) throw new CheckpointError(path, `is a zip archive but not a Keras .keras file: it has no model.weights.h5 (entries: ${zip.entries.slice(0, 5).map((e) => e.name).join(', ')})`);
    if (weightsEntry.compression === 0) weightsDataOffset = await zip.dataOffset(weightsEntry);
    const cfgEntry = zip.find('config.json');
    if (cfgEntry) {
      const json = parseJson(await zip.readEntry(cfgEntry, MAX_CONFIG_BYTES), path, 'config.json');
      config = configLayers(json);
      architecture = json;
      const cls = (json as Record<string, unknown> | null)?.class_name;
      if (typeof cls === 'string') metadata.model_class = cls;
    }
    const metaEntry = zip.find('metadata.json');
    if (metaEntry) {
      const meta = parseJson(await zip.readEntry(metaEntry, MAX_CONFIG_BYTES), path, 'metadata.json') as Record<string, unknown> | null;
      for (const k of ['keras_version', 'date_saved']) if (meta && typeof meta[k] === 'string') metadata[k] = meta[k] as string;
    }
  } finally {
    await zip.close();
  }
  const sig = await fileSignature(path);
  const warnings = config ? [] : ['no config.json in the archive: variable roles are inferred from layer names'];
  if (weightsEntry.compression === 0) {
    // Stored (what Keras writes): h5wasm opens the HDF5 file where it lies in the archive
    // (hdf5Window.ts), and plain datasets are read there too. Nothing is copied.
    if (weightsEntry.compressedSize !== weightsEntry.uncompressedSize) throw new CheckpointError(path, `zip entry ${weightsEntry.name} is stored (not compressed) but declares ${weightsEntry.compressedSize} stored bytes and a size of ${weightsEntry.uncompressedSize}`);
    const within = { offset: weightsDataOffset!, size: weightsEntry.uncompressedSize };
    return openKerasHdf5(path, path, { config, metadata, files: [sig], architecture, warnings, within, dataAt: { file: path, offset: within.offset } });
  }
  // Deflated: inflated to the spill folder a chunk at a time, its plain datasets read there.
  const entryName = weightsEntry.name;
  const ensure = () => extractOnce(path, sig, entryName);
  const fsPath = await ensure();
  return openKerasHdf5(fsPath, path, { config, ensure, metadata, files: [sig], architecture, warnings, dataAt: { file: fsPath, offset: 0 } });
}

function parseJson(bytes: Uint8Array, path: string, entry: string): unknown {
  try { return JSON.parse(Buffer.from(bytes).toString('utf8')); } catch (e) {
    throw new CheckpointError(path, `${entry} is not valid JSON (${(e as Error).message})`);
  }
}

// HDF5 (and so h5wasm) reads files by name, so deflated weights inside a .keras are inflated (a
// chunk at a time: tensor/inflateRead.ts) to the private spill folder, once per (archive, size,
// mtime). Only the newest copy of an archive is kept: a training run that rewrites its .keras
// every epoch would otherwise leave one copy per epoch in the temp folder until the worker exits.
// (An older copy still being read is unlinked but stays readable until closed, on POSIX.)
const extracted = new Map<string, { key: string; file: Promise<string> }>();

function extractOnce(path: string, sig: { size: number; mtimeMs: number }, entryName: string): Promise<string> {
  const key = `${sig.size}\0${sig.mtimeMs}`;
  const known = extracted.get(path);
  if (known && known.key === key) {
    return known.file.then((p) => existsSync(p) ? p : (forget(path, known.file), extractOnce(path, sig, entryName)));
  }
  if (known) void known.file.then((old) => rmSync(old, { force: true }), () => undefined).catch(() => undefined);
  const file = extract(path, entryName).catch((e) => { forget(path, file); throw e; });
  extracted.set(path, { key, file });
  return file;
}

function forget(path: string, file: Promise<string>): void {
  if (extracted.get(path)?.file === file) extracted.delete(path);
}

let extractions = 0;

async function extract(path: string, entryName: string): Promise<string> {
  const name = `keras-${++extractions}-${Date.now()}.weights.h5`;
  const zip = await openZip(path);
  try {
    const e = zip.find(entryName);
    if (!e) throw new CheckpointError(path, `zip entry ${entryName} disappeared`);
    const start = await zip.dataOffset(e);
    if (e.compression === 8) {
      return await inflateToFile({ file: path, offset: start, compressedSize: e.compressedSize, inflatedSize: e.uncompressedSize, what: `zip entry ${e.name}` }, e.uncompressedSize, name);
    }
    throw new CheckpointError(path, `zip entry ${e.name} uses compression method ${e.compression}, which is not supported (stored and deflated are)`);
  } finally {
    await zip.close();
  }
}
