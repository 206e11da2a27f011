// The tensors a Keras layer call takes, as a model config writes them: the one walker of tensor
// references, shared by the layer graph (kerasGraph.ts: who consumes a layer's output) and the
// Keras 3 → Keras 2 config translation for TensorFlow.js (experiments/kerasConfig.ts).
//
// A reference names the layer that made the tensor, which of its calls (node) and which of that
// call's outputs (tensor). Two forms:
//   Keras 2 / TF.js inbound node: `[[layer, node, tensor, kwargs], ...]`; tensors passed by keyword
//     sit in that 4th item, e.g. `{mask: [layer, node, tensor]}`.
//   Keras 3 call: `{args: [...], kwargs: {...}}` where each tensor is
//     `{class_name: '__keras_tensor__', config: {keras_history: [layer, node, tensor]}}`, nested
//     in lists (an Add's one list argument) or keyword values.
// Keyword tensors are edges of the graph (the layer reads them) but not positional inputs, which
// is all a Keras 2 node lists; so callers say whether they want them.

export interface KerasTensorRef { layer: string; node: number; tensor: number }

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** Deeper than any config a model writes: a hostile one ends here instead of the stack. */
const MAX_DEPTH = 32;

/** `[layer, node, tensor]` (Keras 2's first three items, Keras 3's keras_history), else undefined. */
function triple(v: unknown): KerasTensorRef | undefined {
  if (!Array.isArray(v) || typeof v[0] !== 'string') return undefined;
  const node = typeof v[1] === 'number' ? v[1] : 0, tensor = typeof v[2] === 'number' ? v[2] : 0;
  return { layer: v[0], node, tensor };
}

/** A Keras 3 serialized tensor's reference (`config.keras_history`). */
function kerasHistory(v: unknown): KerasTensorRef | undefined {
  return isObj(v) && isObj(v.config) ? triple(v.config.keras_history) : undefined;
}

/**
 * The tensors `value` refers to, in order: an `inbound_nodes` list, one node of it, a Keras 3
 * call's args, an `output_layers` list. `kwargs: false` leaves out tensors passed by keyword.
 */
export function kerasTensorRefs(value: unknown, opts: { kwargs: boolean }): KerasTensorRef[] {
  const out: KerasTensorRef[] = [];
  // Keras 3 values: tensors, lists of them, and (under kwargs) dicts of them; never Keras 2 triples.
  const keras3 = (v: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    const ref = kerasHistory(v);
    if (ref) { out.push(ref); return; }
    if (Array.isArray(v)) for (const x of v) keras3(x, depth + 1);
    else if (isObj(v) && !('class_name' in v)) for (const x of Object.values(v)) keras3(x, depth + 1);
  };
  const walk = (v: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(v)) {
      // Keras 2: [layer, node, tensor(, kwargs)].
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        out.push(triple(v)!);
        if (opts.kwargs && isObj(v[3])) walk(Object.values(v[3]), depth + 1);
        return;
      }
      for (const x of v) walk(x, depth + 1);
      return;
    }
    const ref = kerasHistory(v);
    if (ref) { out.push(ref); return; }
    // A Keras 3 call.
    if (isObj(v) && ('args' in v || 'kwargs' in v)) {
      keras3(v.args, depth + 1);
      if (opts.kwargs) keras3(v.kwargs, depth + 1);
    }
  };
  walk(value, 0);
  return out;
}
