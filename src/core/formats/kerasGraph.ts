// The graph between a Keras model's layers, from its config (a `model.save` .h5's model_config,
// a .keras's config.json, a TF.js layers model's modelTopology): which layers take a layer's
// output. The analysis uses it to tell which kernels feed a normalization (normalization.ts), in
// place of guessing from names and order.
//
// Edges come from a Sequential's layer order, and from a functional model's `inbound_nodes` in
// both forms: Keras 2 / TF.js `[[["conv2d", 0, 0, {}]]]`, Keras 3 `[{args: [{config:
// {keras_history: ["conv2d", 0, 0]}}], kwargs}]`.
//
// Layers with no weights are looked through only when they cannot break the scale invariance a
// following norm gives the kernel: they must act on each channel alone, keep its scale (f(s·z) =
// s·f(z) for s > 0) and add no offset, so norm(f(s·Wx)) = norm(f(Wx)). Dropout and noise layers
// (the identity at inference), padding, cropping, pooling, upsampling and a linear Activation
// qualify. A ReLU does not: with the conv's bias b, relu(s·Wx + b) ≠ s·relu(Wx + b), so a rescaled
// kernel is another function; Add/Concatenate/Flatten mix in other tensors or channels. Those
// stay in the graph as consumers that are no norm, which is what says "not normalized".
//
// Where the config cannot say (a kernel whose output leaves a nested model, or goes into one; a
// functional model whose layers carry no inbound_nodes), the layer is left out of the graph and
// names and order decide for it, as for files without a graph.

import { kerasTensorRefs } from './kerasTensors';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** Weight-free layers that pass each channel on with its scale and no offset (see above). */
const PASS_THROUGH = /^(Dropout|SpatialDropout[123]D|GaussianDropout|AlphaDropout|GaussianNoise|ActivityRegularization|ZeroPadding[123]D|Cropping[123]D|(Max|Average)Pool(ing)?[123]D|Global(Max|Average)Pool(ing)?[123]D|UpSampling[123]D)$/;

/** A root-model output: a consumer that is no norm (the kernel's raw output leaves the model). */
const MODEL_OUTPUT = '(model output)';

interface Node {
  /** Dotted from the root model: `conv2d`, `backbone.conv2d`. */
  name: string;
  cls: string;
  config: Json;
  /** A nested model: edges into or out of it are not followed. */
  nested: boolean;
  inputs: string[];
  /** The model this layer belongs to ('' for the root). */
  model: string;
}

function layerList(n: Json): unknown[] | undefined {
  const cfg = isObj(n.config) ? n.config : {};
  // Keras <= 2.2 wrote a Sequential's config as the bare list of its layers.
  return Array.isArray(n.config) ? n.config : Array.isArray(cfg.layers) ? cfg.layers : Array.isArray(n.layers) ? n.layers : undefined;
}

function layerName(l: Json): string | undefined {
  const c = isObj(l.config) ? l.config : {};
  return typeof c.name === 'string' ? c.name : typeof l.name === 'string' ? l.name : undefined;
}

/** Layer names a Keras 2 / TF.js inbound node or a Keras 3 call refers to, keyword tensors included: the layer reads them. */
function referencedLayers(node: unknown): string[] {
  return kerasTensorRefs(node, { kwargs: true }).map((r) => r.layer);
}

/** Output layer names of a functional model config (`output_layers: [["dense", 0, 0]]`, or one such triple). */
function outputLayers(cfg: Json): string[] | undefined {
  const o = cfg.output_layers;
  if (!Array.isArray(o)) return undefined;
  return referencedLayers(o);
}

interface Walk { nodes: Map<string, Node>; outputs: Map<string, string[]>; unknown: Set<string> }

function walkModel(model: Json, prefix: string, w: Walk, depth: number): void {
  const layers = layerList(model);
  if (!layers || depth > 8) return;
  const cfg = isObj(model.config) ? model.config : {};
  const sequential = Array.isArray(model.config) || model.class_name === 'Sequential';
  const full = (n: string) => (prefix ? `${prefix}.${n}` : n);
  let prev: string | undefined;
  let last: string | undefined;
  for (const l of layers) {
    if (!isObj(l)) continue;
    const name = layerName(l);
    if (!name) continue;
    const cls = String(l.class_name ?? '');
    const config = isObj(l.config) ? l.config : {};
    const nested = !!layerList(l);
    let inputs: string[] = [];
    if (sequential) {
      if (prev !== undefined) inputs = [full(prev)];
    } else if (Array.isArray(l.inbound_nodes)) {
      inputs = [...new Set(referencedLayers(l.inbound_nodes))].map(full);
    } else if (cls !== 'InputLayer') {
      // A functional model that does not say what feeds this layer: its graph is unknown.
      w.unknown.add(prefix);
    }
    w.nodes.set(full(name), { name: full(name), cls, config, nested, inputs, model: prefix });
    if (cls !== 'InputLayer') { prev = name; last = name; }
    if (nested) walkModel(l, full(name), w, depth + 1);
  }
  const outs = sequential ? (last ? [last] : []) : outputLayers(cfg);
  if (outs) w.outputs.set(prefix, outs.map(full));
  else w.unknown.add(prefix);
}

function passesThrough(n: Node): boolean {
  if (PASS_THROUGH.test(n.cls)) return true;
  return n.cls === 'Activation' && (n.config.activation === 'linear' || n.config.activation === undefined);
}

/**
 * Layer → the layers that take its output, looking through pass-through layers, with names
 * dotted from the root model (`backbone.conv2d`). Only layers whose consumers the config fully
 * tells are listed. Undefined when the config has no layers at all.
 */
export function kerasLayerGraph(modelConfig: unknown): Record<string, string[]> | undefined {
  const root = isObj(modelConfig) && 'model_config' in modelConfig ? modelConfig.model_config : modelConfig;
  if (!isObj(root) || !layerList(root)) return undefined;
  const w: Walk = { nodes: new Map(), outputs: new Map(), unknown: new Set() };
  walkModel(root, '', w, 0);
  const consumers = new Map<string, Node[]>();
  for (const n of w.nodes.values()) {
    for (const i of n.inputs) {
      const list = consumers.get(i) ?? [];
      if (!list.includes(n)) list.push(n);
      consumers.set(i, list);
    }
  }
  const outputOf = new Map<string, string>();
  for (const [model, outs] of w.outputs) for (const o of outs) outputOf.set(o, model);

  /** Who takes `name`'s output, through pass-through layers; undefined when the config cannot tell. */
  const takers = (name: string, seen: Set<string>): string[] | undefined => {
    if (seen.has(name)) return [];
    seen.add(name);
    const out: string[] = [];
    const model = outputOf.get(name);
    if (model !== undefined) {
      if (model !== '') return undefined; // leaves a nested model: the outer graph would have to say
      out.push(MODEL_OUTPUT);
    }
    for (const c of consumers.get(name) ?? []) {
      if (c.nested) return undefined;
      if (passesThrough(c)) {
        const further = takers(c.name, seen);
        if (!further) return undefined;
        out.push(...further);
      } else out.push(c.name);
    }
    return [...new Set(out)];
  };

  // No prototype: a layer may be called `constructor`.
  const graph: Record<string, string[]> = Object.create(null);
  for (const n of w.nodes.values()) {
    if (n.nested || n.cls === 'InputLayer' || w.unknown.has(n.model)) continue;
    const t = takers(n.name, new Set());
    if (t) graph[n.name] = t;
  }
  return graph;
}

/**
 * The graph with its layer names as the checkpoint's layers are named (`sequential/conv2d` in a
 * TF.js manifest for the config's `sequential.conv2d`). Names of layers with no weights stay
 * as the config has them: no layer of the checkpoint, so no norm.
 */
export function graphForLayers(graph: Record<string, string[]>, layerNames: Iterable<string>): Record<string, string[]> {
  const actual = new Map<string, string>();
  for (const l of layerNames) actual.set(l.replace(/\//g, '.'), l);
  const out: Record<string, string[]> = Object.create(null);
  for (const [from, to] of Object.entries(graph)) {
    const a = actual.get(from);
    if (a !== undefined) out[a] = to.map((x) => actual.get(x) ?? x);
  }
  return out;
}
