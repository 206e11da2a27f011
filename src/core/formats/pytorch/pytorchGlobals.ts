// The torch part of the pickle allow-list: storage classes, dtypes, and the functions
// torch.save names to rebuild tensors. We interpret their arguments into descriptions of where
// a tensor's bytes are (StorageRef, TensorRef); no tensor data is read here.
import { DType } from '../../common/types';
import { CallContext, GlobalImpl, PyGlobal, PyHost, PyTuple, PyList, PyValue, asNumber } from './pickleValues';
import { constant, impl, SAFE_GLOBALS } from './pickleGlobals';

/** Storage class name (without module) → element type; undefined: a type we list but cannot compare. */
const STORAGE_TYPES: Record<string, { dtype?: DType; size: number }> = {
  FloatStorage: { dtype: 'F32', size: 4 },
  HalfStorage: { dtype: 'F16', size: 2 },
  BFloat16Storage: { dtype: 'BF16', size: 2 },
  DoubleStorage: { dtype: 'F64', size: 8 },
  LongStorage: { dtype: 'I64', size: 8 },
  IntStorage: { dtype: 'I32', size: 4 },
  ShortStorage: { dtype: 'I16', size: 2 },
  CharStorage: { dtype: 'I8', size: 1 },
  ByteStorage: { dtype: 'U8', size: 1 },
  BoolStorage: { dtype: 'BOOL', size: 1 },
  UntypedStorage: { dtype: 'U8', size: 1 },
  ComplexFloatStorage: { size: 8 },
  ComplexDoubleStorage: { size: 16 },
  QInt8Storage: { size: 1 },
  QUInt8Storage: { size: 1 },
  QInt32Storage: { size: 4 },
  QUInt4x2Storage: { size: 1 },
  QUInt2x4Storage: { size: 1 },
};

/** torch dtype names as pickled (`torch.float32`) → our element type. */
const TORCH_DTYPES: Record<string, DType | undefined> = {
  float32: 'F32', float: 'F32', float16: 'F16', half: 'F16', bfloat16: 'BF16', float64: 'F64', double: 'F64',
  int64: 'I64', long: 'I64', int32: 'I32', int: 'I32', int16: 'I16', short: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
  complex64: undefined, complex128: undefined, cfloat: undefined, cdouble: undefined, complex32: undefined,
  qint8: undefined, quint8: undefined, qint32: undefined, quint4x2: undefined,
};

/** One torch storage: a run of bytes in the file, found by key. */
export class StorageRef extends PyHost {
  readonly typeName = 'torch.Storage';
  constructor(
    readonly key: string,
    /** Storage class name, e.g. FloatStorage. */
    readonly storageType: string,
    /** Element type of the storage class; undefined for complex/quantized storages. */
    readonly dtype: DType | undefined,
    readonly elementSize: number,
    /** Elements the pickle says the storage holds (of `elementSize` bytes). */
    readonly numel: number,
    /** Legacy views: the storage starts this many elements into the root storage `key`. */
    readonly viewOffset = 0,
  ) { super(); }
}

/** A tensor as torch.save describes it: a strided view of a storage. */
export class TensorRef extends PyHost {
  readonly typeName = 'torch.Tensor';
  isParameter = false;
  constructor(
    readonly storage: StorageRef,
    /** Element type of the tensor (that of its storage, or the rebuild's dtype argument). */
    readonly dtype: DType,
    /** In elements of `dtype`. */
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) { super(); }
}

/** A tensor we recognise but do not compare (quantized, sparse, complex, meta, ...). */
export class OpaqueTensor extends PyHost {
  readonly typeName = 'torch.Tensor';
  constructor(readonly kind: string) { super(); }
}

export function isStorageTypeName(fullName: string): string | undefined {
  const m = /^torch\.(?:cuda\.|storage\.)?(\w+Storage)$/.exec(fullName);
  return m && STORAGE_TYPES[m[1]] ? m[1] : undefined;
}

function ints(v: PyValue, what: string, ctx: CallContext): number[] {
  const items = v instanceof PyTuple || v instanceof PyList ? v.items : ctx.fail(`tensor ${what} is not a tuple`);
  if (items.length > 64) return ctx.fail(`tensor ${what} has ${items.length} dimensions`);
  return items.map((x) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) return ctx.fail(`tensor ${what} holds ${typeof x === 'bigint' ? 'a huge integer' : 'a value that is not an integer'}`);
    return x;
  });
}

function offsetArg(v: PyValue, ctx: CallContext): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return ctx.fail('tensor storage offset is not a non-negative integer');
  return v;
}

function rebuild(storage: PyValue, offset: PyValue, size: PyValue, stride: PyValue, ctx: CallContext, dtypeArg?: PyValue): TensorRef | OpaqueTensor {
  if (!(storage instanceof StorageRef)) return ctx.fail('pickle rebuilds a tensor without a storage');
  const shape = ints(size, 'size', ctx);
  const strides = ints(stride, 'stride', ctx);
  if (shape.length !== strides.length) return ctx.fail(`tensor has ${shape.length} dimensions but ${strides.length} strides`);
  if (shape.some((d) => d < 0)) return ctx.fail('tensor has a negative dimension');
  if (strides.some((d) => d < 0)) return ctx.fail('tensor has a negative stride');
  let dtype = storage.dtype;
  if (dtypeArg !== undefined) {
    const name = dtypeArg instanceof PyGlobal ? dtypeArg.fullName.replace(/^torch\./, '') : '';
    if (!(name in TORCH_DTYPES)) return ctx.fail('tensor dtype argument is not a torch dtype');
    dtype = TORCH_DTYPES[name];
    if (!dtype) return new OpaqueTensor(`dtype torch.${name}`);
  }
  if (!dtype) return new OpaqueTensor(storage.storageType);
  return new TensorRef(storage, dtype, offsetArg(offset, ctx), shape, strides);
}

const asParameter = impl((args, _k, ctx) => {
  const t = args[0];
  if (t instanceof TensorRef) { t.isParameter = true; return t; }
  if (t instanceof OpaqueTensor) return t;
  return ctx.fail('pickle rebuilds a parameter from something that is not a tensor');
});

const opaque = (kind: string): GlobalImpl => impl(() => new OpaqueTensor(kind));

/** `_rebuild_from_type(_v2)(func, new_type, args, state)`: tensor subclasses; we keep the tensor. */
const fromType = impl((args, kwargs, ctx) => {
  const [func, , fargs] = args;
  if (!(func instanceof PyGlobal)) return ctx.fail('pickle rebuilds a tensor subclass without a function');
  const a = fargs instanceof PyTuple ? fargs.items : ctx.fail('pickle rebuilds a tensor subclass without arguments');
  ctx.chargeSlots(a.length, 1);
  return func.impl.call(a, kwargs, ctx);
});

function torchGlobals(): Map<string, GlobalImpl> {
  const g = new Map<string, GlobalImpl>();
  g.set('torch._utils._rebuild_tensor_v2', impl((a, _k, ctx) => rebuild(a[0], a[1], a[2], a[3], ctx)));
  g.set('torch._utils._rebuild_tensor', impl((a, _k, ctx) => rebuild(a[0], a[1], a[2], a[3], ctx)));
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata)
  g.set('torch._utils._rebuild_tensor_v3', impl((a, _k, ctx) => rebuild(a[0], a[1], a[2], a[3], ctx, a[6] ?? null)));
  g.set('torch._utils._rebuild_parameter', asParameter);
  g.set('torch._utils._rebuild_parameter_with_state', asParameter);
  g.set('torch._tensor._rebuild_from_type_v2', fromType);
  g.set('torch._tensor._rebuild_from_type', fromType);
  for (const k of ['qtensor', 'sparse_tensor', 'sparse_csr_tensor', 'sparse_compressed_tensor', 'device_tensor_from_numpy',
    'meta_tensor_no_storage', 'wrapper_subclass', 'xla_tensor', 'mlc_tensor', 'nested_tensor']) {
    g.set(`torch._utils._rebuild_${k}`, opaque(k.replace(/_/g, ' ')));
  }
  for (const name of Object.keys(STORAGE_TYPES)) {
    for (const mod of ['torch', 'torch.cuda', 'torch.storage']) g.set(`${mod}.${name}`, constant(`${mod}.${name}`));
  }
  g.set('torch.storage.TypedStorage', constant('torch.storage.TypedStorage'));
  g.set('torch.storage._LegacyStorage', constant('torch.storage._LegacyStorage'));
  for (const name of Object.keys(TORCH_DTYPES)) g.set(`torch.${name}`, constant(`torch.${name}`));
  for (const name of ['strided', 'sparse_coo', 'sparse_csr', 'sparse_csc', 'sparse_bsr', 'sparse_bsc', '_mkldnn',
    'contiguous_format', 'channels_last', 'channels_last_3d', 'preserve_format']) g.set(`torch.${name}`, constant(`torch.${name}`));
  g.set('torch.serialization._get_layout', impl((a) => typeof a[0] === 'string' ? a[0] : 'torch.strided'));
  g.set('torch.Size', impl((a, _k, ctx) => {
    const src = a[0] instanceof PyTuple || a[0] instanceof PyList ? a[0].items : [];
    ctx.chargeSlots(src.length);
    return new PyTuple(src.slice());
  }));
  g.set('torch.device', impl((a) => {
    const type = typeof a[0] === 'string' ? a[0] : 'cpu';
    return a.length > 1 && asNumber(a[1]) !== undefined ? `${type}:${asNumber(a[1])}` : type;
  }));
  // Tensor classes appear as the `new_type` of _rebuild_from_type_v2; calling one wraps a tensor.
  g.set('torch.Tensor', asParameter);
  g.set('torch.nn.parameter.Parameter', asParameter);
  g.set('torch.nn.parameter.Buffer', asParameter);
  return g;
}

export const TORCH_ALLOWED_GLOBALS: ReadonlyMap<string, GlobalImpl> = new Map([...SAFE_GLOBALS, ...torchGlobals()]);

/**
 * Turns a persistent id from torch.save into a StorageRef, one per key (views share it).
 * zip: ('storage', storage_type, key, location, numel)
 * legacy: ('storage', storage_type, root_key, location, numel, view_metadata)
 */
export class StorageTable {
  readonly byKey = new Map<string, StorageRef>();
  /** Order in which storages were first referenced. */
  readonly order: string[] = [];

  load(pid: PyValue, ctx: CallContext): StorageRef {
    const t = pid instanceof PyTuple ? pid.items : ctx.fail('pickle persistent id is not a tuple');
    if (t[0] !== 'storage') return ctx.fail(`pickle persistent id of kind ${typeof t[0] === 'string' ? t[0].slice(0, 30) : typeof t[0]} is not a storage`);
    if (t.length < 5) return ctx.fail('storage persistent id is too short');
    const [, type, key, , numel, view] = t;
    const typeName = type instanceof PyGlobal ? isStorageTypeName(type.fullName) : undefined;
    if (!typeName) return ctx.fail('storage persistent id has no storage type');
    if (typeof key !== 'string' || key.length > 200) return ctx.fail('storage key is not a short string');
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) return ctx.fail(`storage ${key} claims ${String(numel)} elements`);
    const info = STORAGE_TYPES[typeName];
    let viewOffset = 0;
    let viewNumel = numel;
    if (view instanceof PyTuple && view.items.length >= 3) {
      // Legacy storage views (torch < 1.0): (view_key, offset, size) into root storage `key`.
      const [viewKey, off, size] = view.items;
      if (typeof off !== 'number' || typeof size !== 'number' || off < 0 || size < 0 || off + size > numel) return ctx.fail(`storage view ${String(viewKey)} lies outside storage ${key}`);
      viewOffset = off;
      viewNumel = size;
      this.root(key, typeName, info, numel, ctx);
      return new StorageRef(key, typeName, info.dtype, info.size, viewNumel, viewOffset);
    }
    return this.root(key, typeName, info, numel, ctx);
  }

  private root(key: string, typeName: string, info: { dtype?: DType; size: number }, numel: number, ctx: CallContext): StorageRef {
    const known = this.byKey.get(key);
    if (known) {
      if (known.storageType !== typeName || known.numel !== numel) return ctx.fail(`storage ${key} is described twice, differently`);
      return known;
    }
    const s = new StorageRef(key, typeName, info.dtype, info.size, numel);
    this.byKey.set(key, s);
    this.order.push(key);
    return s;
  }
}
