// The Keras model config of a target file, as TensorFlow.js's modelFromJSON takes it, checked
// first for layer classes TensorFlow.js cannot build (custom layers, Lambda): those end the
// experiment with their names, before anything is built.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { CheckpointError } from '../common/errors';
import { Checkpoint } from '../common/types';
import { kerasTensorRefs } from '../formats/kerasTensors';

export function kerasConfigForTfjs(target: Checkpoint): unknown {
  const arch = target.architecture as Record<string, unknown> | undefined;
  if (!arch || typeof arch !== 'object') {
    throw new CheckpointError(target.path, 'holds weights but no model config (saved with save_weights?): an experiment without Python needs the architecture in the file (model.save to .keras or .h5, or a TF.js layers model)');
  }
  const root = (arch.model_config && typeof arch.model_config === 'object' ? arch.model_config : arch) as Record<string, unknown>;
  const config = isKeras3(root) ? fromKeras3(root, target.path) : root;
  const unknown = unknownClasses(config);
  if (unknown.length) {
    const list = unknown.map(({ cls, layers }) => `${cls} (layer${layers.length > 1 ? 's' : ''} ${layers.slice(0, 3).join(', ')}${layers.length > 3 ? ', …' : ''})`).join('; ');
    throw new CheckpointError(target.path, `has layer classes TensorFlow.js cannot build: ${list}. Custom layers and Lambda layers need their Python code: run the experiment with --model FILE.py:CALLABLE instead`);
  }
  return { modelTopology: config };
}

/**
 * A Keras 3 config (a .keras's config.json) in the Keras 2 form TensorFlow.js reads: serialized
 * objects lose `module`/`registered_name`, dtype policies become their dtype, InputLayer's
 * `batch_shape` is `batch_input_shape`, and call arguments (`{args: [keras tensors]}`) become
 * Keras 2's inbound node lists `[[layer, node, tensor, {}], ...]`.
 */
function fromKeras3(root: Record<string, unknown>, path: string): Record<string, unknown> {
  const plain = (v: unknown, depth: number): unknown => {
    if (depth > 64) throw new CheckpointError(path, 'model config is nested too deeply');
    if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (o.class_name === 'DTypePolicy' || o.class_name === 'Policy') return (o.config as Record<string, unknown> | undefined)?.name ?? 'float32';
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === 'module' || k === 'registered_name' || k === 'build_config' || k === 'compile_config') continue;
      out[k] = k === 'inbound_nodes' ? inboundNodes(x) : plain(x, depth + 1);
    }
    if (out.class_name === 'InputLayer' && out.config && typeof out.config === 'object') {
      const c = out.config as Record<string, unknown>;
      if (c.batch_shape && !c.batch_input_shape) { c.batch_input_shape = c.batch_shape; delete c.batch_shape; }
    }
    return out;
  };
  const out = plain(root, 0) as Record<string, unknown>;
  const cfg = out.config as Record<string, unknown> | undefined;
  // Keras 3 writes a single input or output as a flat [name, node, tensor].
  for (const k of ['input_layers', 'output_layers']) {
    const v = cfg?.[k];
    if (Array.isArray(v) && typeof v[0] === 'string') cfg![k] = [v];
  }
  return out;
}

/** Keras 3 calls as Keras 2 inbound nodes: the positional tensors only (keyword ones are no inputs to TF.js). */
function inboundNodes(nodes: unknown): unknown {
  if (!Array.isArray(nodes)) return nodes;
  return nodes.map((n) => Array.isArray(n) ? n : kerasTensorRefs(n, { kwargs: false }).map((r) => [r.layer, r.node, r.tensor, {}]));
}

/** Keras 3 writes `module`/`registered_name` beside each class and call arguments in inbound_nodes. */
function isKeras3(root: Record<string, unknown>): boolean {
  if ('module' in root || 'registered_name' in root) return true;
  const layers = (root.config as Record<string, unknown> | undefined)?.layers;
  return Array.isArray(layers) && layers.some((l) => l && typeof l === 'object' && ('module' in l || (Array.isArray((l as Record<string, unknown>).inbound_nodes) && ((l as Record<string, unknown>).inbound_nodes as unknown[]).some((n) => n && typeof n === 'object' && !Array.isArray(n)))));
}

/** Layer classes of the config (nested models included) that TensorFlow.js has not registered. */
function unknownClasses(root: Record<string, unknown>): { cls: string; layers: string[] }[] {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const found = new Map<string, string[]>();
  const walk = (node: unknown, depth: number): void => {
    if (!node || typeof node !== 'object' || depth > 64) return;
    const n = node as Record<string, unknown>;
    const cfg = n.config as Record<string, unknown> | unknown[] | undefined;
    const layers = Array.isArray(cfg) ? cfg : Array.isArray(cfg?.layers) ? cfg.layers : [];
    for (const l of layers as Record<string, unknown>[]) {
      if (!l || typeof l !== 'object') continue;
      const cls = String(l.class_name ?? '');
      const name = String((l.config as Record<string, unknown> | undefined)?.name ?? l.name ?? '?');
      if (!Object.prototype.hasOwnProperty.call(known, cls)) {
        if (!found.has(cls)) found.set(cls, []);
        found.get(cls)!.push(name);
      }
      walk(l, depth + 1);
    }
  };
  walk(root, 0);
  return [...found].map(([cls, layers]) => ({ cls, layers }));
}
