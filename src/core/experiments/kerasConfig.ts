// The Keras model config of a target file, as TensorFlow.js's modelFromJSON takes it, checked
// first for layer classes TensorFlow.js cannot build (custom layers, Lambda): those end the
// experiment with their names, before anything is built.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { CheckpointError } from '../common/errors';
import { Checkpoint } from '../common/types';

export function kerasConfigForTfjs(target: Checkpoint): unknown {
  const arch = target.architecture as Record<string, unknown> | undefined;
  if (!arch || typeof arch !== 'object') {
    throw new CheckpointError(target.path, 'holds weights but no model config (saved with save_weights?): an experiment without Python needs the architecture in the file (model.save to .keras or .h5, or a TF.js layers model)');
  }
  const root = (arch.model_config && typeof arch.model_config === 'object' ? arch.model_config : arch) as Record<string, unknown>;
  if (isKeras3(root)) {
    throw new CheckpointError(target.path, 'is a Keras 3 model config, which TensorFlow.js (a Keras 2 reader) cannot build; export the model with tf.keras 2 (model.save("model.h5")) or tensorflowjs_converter');
  }
  const unknown = unknownClasses(root);
  if (unknown.length) {
    const list = unknown.map(({ cls, layers }) => `${cls} (layer${layers.length > 1 ? 's' : ''} ${layers.slice(0, 3).join(', ')}${layers.length > 3 ? ', …' : ''})`).join('; ');
    throw new CheckpointError(target.path, `has layer classes TensorFlow.js cannot build: ${list}. Custom layers and Lambda layers need their Python code: run the experiment with --model FILE.py:CALLABLE instead`);
  }
  return { modelTopology: root };
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
