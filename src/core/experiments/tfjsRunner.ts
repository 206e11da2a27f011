// Runs the replacement experiment of a Keras or TF.js layers model in TensorFlow.js: the model is
// built once from the config in its file (the model's code is never needed, and nothing of the
// file is executed: a config names layer classes TensorFlow.js ships), its weights set from our
// own readers, and each replacement writes the source's values into the model's variables and
// evaluates; the target's values are written back after.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CheckpointError } from '../common/errors';
import { Checkpoint, TensorInfo } from '../common/types';
import { FilePool } from '../tensor/tensorData';
import { checkInputs, ImageNormalization, loadEvalSet, ModelInput } from './evalSet';
import { chooseMetric, MetricPlan, MetricRequest, MetricSum } from './evalMetric';
import { EvalRunner, valuesInLayoutOf } from './runner';
import { tfjsBackend } from './tfjsBackend';
import { kerasConfigForTfjs } from './kerasConfig';

/** Samples per predict call: large enough to keep the backend busy, small enough for 224x224 inputs. */
const BATCH = 32;

export async function openTfjsRunner(target: Checkpoint, source: Checkpoint, data: string, request: MetricRequest, normalize?: ImageNormalization): Promise<EvalRunner> {
  const backend = await tfjsBackend();
  const config = kerasConfigForTfjs(target);
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON(config as never);
  } catch (e) {
    throw new CheckpointError(target.path, `TensorFlow.js cannot build the model from its config: ${(e as Error).message.split('\n')[0]}`);
  }
  const disposeAll: tf.Tensor[] = [];
  try {
    // Input names as the config gives them (its InputLayers'), which is what an .npz names its arrays by.
    const inputs: ModelInput[] = model.inputs.map((t, k) => ({ name: model.inputNames?.[k] ?? t.name, shape: t.shape }));
    const set = await loadEvalSet(data, inputs, 'channels-last', normalize);
    const batchFixed = checkInputs(set, inputs, 'channels-last', target.path);
    const vars = bindVariables(model, target);
    const pool = new FilePool();
    const targetValues = new Map<string, tf.Tensor>();
    const sourceValues = new Map<string, tf.Tensor>();
    try {
      for (const { variable, tensor } of vars.values()) {
        const v = tf.tensor(await valuesInLayoutOf(tensor, tensor, pool), variable.shape as number[], 'float32');
        disposeAll.push(v);
        targetValues.set(tensor.name, v);
        variable.write(v);
      }
    } finally { await pool.closeAll(); }
    const sourceByName = new Map(source.tensors.map((t) => [t.name, t]));
    const sourcePool = new FilePool();
    const sourceTensor = async (sourceName: string, targetName: string): Promise<tf.Tensor> => {
      const key = `${sourceName}\0${targetName}`;
      const known = sourceValues.get(key);
      if (known) return known;
      const s = sourceByName.get(sourceName);
      const bound = vars.get(targetName);
      if (!s) throw new CheckpointError(source.path, `has no tensor ${sourceName}`);
      if (!bound) throw new CheckpointError(target.path, `tensor ${targetName} is not a weight of the model its config builds`);
      const t = tf.tensor(await valuesInLayoutOf(s, bound.tensor, sourcePool), bound.variable.shape as number[], 'float32');
      disposeAll.push(t);
      sourceValues.set(key, t);
      return t;
    };

    let plan: MetricPlan | undefined;
    let samples = 0;
    const n = set.inputs[0].shape[0];
    const feeds = set.inputs.map((i) => ({ data: i.data, sampleShape: i.shape.slice(1), perSample: i.shape.slice(1).reduce((a, b) => a * b, 1) }));
    const yPer = set.yShape.slice(1).reduce((a, b) => a * b, 1);
    const batch = batchFixed ?? BATCH;
    const evaluate = async (pairs: [string, string][]): Promise<number> => {
      for (const [s, t] of pairs) vars.get(t)!.variable.write(await sourceTensor(s, t));
      try {
        let sum: MetricSum | undefined;
        for (let start = 0; start < n; start += batch) {
          const b = Math.min(batch, n - start);
          const out = tf.tidy(() => {
            const xs = feeds.map((f) => tf.tensor(f.data.subarray(start * f.perSample, (start + b) * f.perSample), [b, ...f.sampleShape], 'float32'));
            const y = model.predict(xs.length === 1 ? xs[0] : xs);
            return Array.isArray(y) ? y[0] : y;
          });
          const values = await out.data() as Float32Array;
          const shape = out.shape;
          out.dispose();
          plan ??= chooseMetric(shape, set, request, 'last');
          sum ??= new MetricSum(plan);
          sum.add(values, shape, set.y.subarray(start * yPer, (start + b) * yPer));
        }
        samples = plan?.classAxis === undefined ? n : sum!.samples;
        return sum!.value();
      } finally {
        for (const [, t] of pairs) { const b = vars.get(t)!; b.variable.write(targetValues.get(b.tensor.name)!); }
      }
    };
    return {
      runtime: backend.description,
      evaluate,
      metric: () => plan!.metric,
      samples: () => samples,
      dispose: async () => { await sourcePool.closeAll(); model.dispose(); for (const t of disposeAll) t.dispose(); },
    };
  } catch (e) {
    model.dispose();
    for (const t of disposeAll) t.dispose();
    throw e;
  }
}

interface Bound { variable: tfl.LayerVariable; tensor: TensorInfo }

/**
 * Pairs each variable of the built model with the target tensor holding its value: by name
 * (`conv2d/kernel` as TF.js spells it, `conv2d.kernel` as the Keras reader does: compared in
 * one spelling), else by position within the layer (Keras 3 names a depthwise kernel `kernel`
 * where TF.js says `depthwise_kernel`). Keyed by our tensor name.
 */
function bindVariables(model: tfl.LayersModel, target: Checkpoint): Map<string, Bound> {
  const dottedName = (n: string) => n.replace(/:\d+$/, '').split('/').join('.');
  const byName = new Map(target.tensors.map((t) => [dottedName(t.name), t]));
  const byLayer = new Map<string, TensorInfo[]>();
  for (const t of target.tensors) {
    const name = dottedName(t.name);
    const cut = name.lastIndexOf('.');
    const layer = cut < 0 ? '' : name.slice(0, cut);
    if (!byLayer.has(layer)) byLayer.set(layer, []);
    byLayer.get(layer)!.push(t);
  }
  const out = new Map<string, Bound>();
  const vars = model.weights as tfl.LayerVariable[];
  const layerOf = (v: tfl.LayerVariable) => v.originalName.split('/').slice(0, -1).join('.');
  const index = new Map<string, number>();
  for (const v of vars) {
    const dotted = dottedName(v.originalName);
    const layer = layerOf(v);
    const i = index.get(layer) ?? 0;
    index.set(layer, i + 1);
    const t = byName.get(dotted) ?? byLayer.get(layer)?.[i];
    if (!t) throw new CheckpointError(target.path, `the model's config has a weight ${v.originalName} that the file does not hold`);
    const stored = t.storedShape ?? t.shape;
    if (stored.length !== v.shape.length || stored.some((d, k) => d !== v.shape[k])) {
      throw new CheckpointError(target.path, `weight ${t.name} is stored as [${stored.join(', ')}] but the model's config makes ${v.originalName} [${v.shape.join(', ')}]`);
    }
    out.set(t.name, { variable: v, tensor: t });
  }
  return out;
}
