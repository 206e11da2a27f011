// Runs the replacement experiment of an ONNX model in ONNX Runtime (onnxruntime-node: CPU
// binaries shipped inside its npm package; ~5x faster than onnxruntime-web's WebAssembly build
// on the demo-sized CNN, bench/experiments.ts). A replacement is a session built from the
// model's bytes with the source's values as those initializers (onnxEdit.ts); sessions of small
// models build in milliseconds, and no initializer is turned into an input that would stop
// ONNX Runtime from folding it (BatchNorm into Conv).
import { readFile, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { CheckpointError } from '../common/errors';
import { Checkpoint, DType, TensorInfo } from '../common/types';
import { FilePool } from '../tensor/tensorData';
import { checkInputs, EvalSet, ImageNormalization, loadEvalSet, ModelInput } from './evalSet';
import { chooseMetric, MetricPlan, MetricRequest, MetricSum } from './evalMetric';
import { InitializerData, withInitializers } from './onnxEdit';
import { EvalRunner, valuesInLayoutOf } from './runner';

/** Samples per run when the model's batch axis is free. */
const BATCH = 32;
/** Largest .onnx held in memory to rebuild sessions from (protobuf's own limit is 2 GB). */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

const ONNX_TYPE: Partial<Record<DType, number>> = { F32: 1, F64: 11 };

let ort: typeof Ort | undefined;

/** ONNX Runtime's Node binding, loaded on first use; a platform without its binary is a sentence. */
function runtime(): typeof Ort {
  if (ort) return ort;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ort = require('onnxruntime-node') as typeof Ort;
  } catch (e) {
    throw new Error(`ONNX Runtime cannot load on ${process.platform}-${process.arch}: ${(e as Error).message.split('\n')[0]}`);
  }
  return ort;
}

export async function openOnnxRunner(target: Checkpoint, source: Checkpoint, data: string, request: MetricRequest, normalize?: ImageNormalization): Promise<EvalRunner> {
  const rt = runtime();
  if ((await stat(target.path)).size > MAX_MODEL_BYTES) throw new CheckpointError(target.path, 'is larger than 2 GB; ONNX Runtime takes such models only with external data');
  const original = new Uint8Array(await readFile(target.path));
  const pool = new FilePool();
  const byName = new Map(target.tensors.map((t) => [t.name, t]));
  const sourceByName = new Map(source.tensors.map((t) => [t.name, t]));
  // Initializers stored outside the .onnx go inline, so a session can be built from bytes alone.
  const inline = new Map<string, InitializerData>();
  for (const t of target.tensors) {
    // (Quantized and half-precision ones, stored narrower, cannot be inlined as float32: left as they are.)
    if (t.location.kind === 'contiguous' && t.location.file !== target.path && !t.storage) inline.set(t.name, await initializer(t, t, pool, target.path));
  }
  const threads = Math.max(1, Math.min(4, cpus().length));
  const sessionOf = async (pairs: [string, string][]): Promise<Ort.InferenceSession> => {
    const replace = new Map(inline);
    for (const [s, t] of pairs) {
      const tt = byName.get(t), st = sourceByName.get(s);
      if (!tt) throw new CheckpointError(target.path, `has no initializer ${t}`);
      if (!st) throw new CheckpointError(source.path, `has no tensor ${s}`);
      replace.set(t, await initializer(st, tt, pool, target.path));
    }
    try {
      return await rt.InferenceSession.create(withInitializers(original, replace), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    } catch (e) {
      throw new CheckpointError(target.path, `ONNX Runtime cannot run this model: ${describeOrtError((e as Error).message)}`);
    }
  };

  const first = await sessionOf([]);
  let set: EvalSet;
  let batchFixed: number | undefined;
  let inputs: ModelInput[];
  try {
    inputs = first.inputNames.map((name, k) => {
      const meta = first.inputMetadata[k];
      if (!meta?.isTensor) throw new CheckpointError(target.path, `input ${name} is not a tensor (a sequence or map); experiments feed tensors`);
      if (meta.type !== 'float32') throw new CheckpointError(target.path, `input ${name} takes ${meta.type} tensors; experiments feed float32 inputs`);
      return { name, shape: [...meta.shape] };
    });
    set = await loadEvalSet(data, inputs, 'channels-first', normalize);
    batchFixed = checkInputs(set, inputs, 'channels-first', target.path);
  } catch (e) {
    await first.release();
    throw e;
  }
  const outputName = first.outputNames[0];
  const n = set.inputs[0].shape[0];
  const feeds = set.inputs.map((i) => ({ name: i.name, data: i.data, sampleShape: i.shape.slice(1), perSample: i.shape.slice(1).reduce((a, b) => a * b, 1) }));
  const yPer = set.yShape.slice(1).reduce((a, b) => a * b, 1);
  const batch = batchFixed ?? BATCH;
  let plan: MetricPlan | undefined;
  let samples = 0;
  let baselineSession: Ort.InferenceSession | undefined = first;

  const evaluate = async (pairs: [string, string][]): Promise<number> => {
    const session = !pairs.length && baselineSession ? baselineSession : await sessionOf(pairs);
    try {
      let sum: MetricSum | undefined;
      for (let start = 0; start < n; start += batch) {
        const b = Math.min(batch, n - start);
        // A fixed batch axis takes exactly `batch` samples: the last batch is padded, its padding ignored.
        const padded = batchFixed !== undefined && b < batch;
        const run: Record<string, Ort.Tensor> = {};
        for (const f of feeds) {
          let x = f.data.subarray(start * f.perSample, (start + b) * f.perSample);
          if (padded) { const p = new Float32Array(batch * f.perSample); p.set(x); x = p; }
          run[f.name] = new rt.Tensor('float32', x, [padded ? batch : b, ...f.sampleShape]);
        }
        const result = await session.run(run);
        const out = result[outputName];
        const shape = [...out.dims];
        const rows = shape.slice(1).reduce((p, q) => p * q, 1);
        let values = out.data as Float32Array;
        if (shape[0] !== b) { values = values.subarray(0, b * rows); shape[0] = b; }
        plan ??= chooseMetric(shape, set, request, 1);
        sum ??= new MetricSum(plan);
        sum.add(values, shape, set.y.subarray(start * yPer, (start + b) * yPer));
        for (const t of Object.values(result)) t.dispose();
      }
      samples = plan?.classAxis === undefined ? n : sum!.samples;
      return sum!.value();
    } finally {
      if (session !== baselineSession) await session.release();
    }
  };
  return {
    runtime: `ONNX Runtime ${rt.env.versions?.common ?? ''} (onnxruntime-node, CPU, ${threads} thread${threads > 1 ? 's' : ''})`.replace('  ', ' '),
    evaluate,
    metric: () => plan!.metric,
    samples: () => samples,
    dispose: async () => {
      await pool.closeAll();
      if (baselineSession) { await baselineSession.release(); baselineSession = undefined; }
    },
  };
}

/** `t`'s values as an initializer of `like`'s type and shape (float32 or float64). */
async function initializer(t: TensorInfo, like: TensorInfo, pool: FilePool, modelPath: string): Promise<InitializerData> {
  // A quantized or half-precision initializer is read as float32 but stored narrower: float32 bytes would not fit its graph.
  if (like.storage) throw new CheckpointError(modelPath, `initializer ${like.name} is stored as ${like.storage.dtype}; experiments replace float32 and float64 initializers only`);
  const dataType = ONNX_TYPE[like.dtype];
  if (!dataType) throw new CheckpointError(modelPath, `initializer ${like.name} is ${like.dtype}; experiments replace float32 and float64 initializers only`);
  const values = await valuesInLayoutOf(t, like, pool);
  const raw = like.dtype === 'F64' ? new Uint8Array(Float64Array.from(values).buffer) : new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { dataType, dims: like.storedShape ?? like.shape, raw };
}

/** ONNX Runtime's message, with the op it cannot run named first when it says which. */
function describeOrtError(message: string): string {
  const first = message.split('\n')[0];
  const missing = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/.exec(message);
  if (missing) return `it has no implementation of op ${missing[1]} (opset ${missing[2]}, node '${missing[3]}')`;
  const unregistered = /([\w.]*):(\w+)\((-?\d+)\) is not a registered function\/op/.exec(message);
  if (unregistered) return `op ${unregistered[2]}${unregistered[1] ? ` of domain ${unregistered[1]}` : ''} is not one it knows (a custom op)`;
  return first;
}
