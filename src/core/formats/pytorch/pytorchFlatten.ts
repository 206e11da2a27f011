// From the object a torch.save pickle describes to what a user compares: the model's tensors
// under dotted names, and everything else (epoch, optimizer state, an EMA copy) as listed
// entries. Checkpoints wrap the weights in many ways ({'state_dict': ...}, {'model': ...},
// nested module dicts); this is where those conventions live.
//
// Walks are iterative with a depth limit and a budget of nodes pushed, because the object graph
// comes from an untrusted pickle: it may be deep, shared many times over (a DAG that is
// exponential as a tree) or cyclic. Counting is shared by identity (linear in the graph);
// naming tensors by path is a walk of the tree, bounded by the budget; a cycle is an error.
import { CheckpointError } from '../../common/errors';
import { checkLimits } from '../../common/limits';
import { NonTensorEntry } from '../../common/types';
import { PyDict, PyList, PyObject, PyTuple, PyValue, shortRepr, typeNameOf } from './pickleValues';
import { OpaqueTensor, TensorRef } from './pytorchGlobals';

/** Where the weights usually are, in the order we look for them. */
export const MODEL_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network', 'module', 'ema', 'model_ema', 'params', 'weights'];
/** Top-level keys that are training machinery, never weights to compare. */
const TRAINING_KEYS = /^(optim(izer)?s?(_states?(_dicts?)?)?|(lr_)?schedulers?(_states?(_dicts?)?)?|scaler|amp|grad_scaler)$/i;

export const FLATTEN_LIMITS = { maxDepth: 256, maxVisits: 5_000_000, maxEntries: 10_000 };

export interface FlatTensor { name: string; tensor: TensorRef }

export interface Flattened {
  tensors: FlatTensor[];
  entries: NonTensorEntry[];
  modelKey?: string;
  warnings: string[];
}

/** Children of a container as (key, value) pairs; undefined for leaves. */
function children(v: PyValue): [string, PyValue][] | undefined {
  if (v instanceof PyDict) return v.keys.map((k, i) => [keyName(k), v.values[i]]);
  if (v instanceof PyList || v instanceof PyTuple) return v.items.map((x, i) => [String(i), x]);
  if (v instanceof PyObject && v.className === 'argparse.Namespace' && v.state instanceof PyDict) return children(v.state);
  return undefined;
}

/** Longest key kept whole in a name (real keys are module and parameter names, far shorter). */
const MAX_KEY_CHARS = 1000;

/** The children of a container, without their names. */
function childValues(v: PyValue): PyValue[] {
  if (v instanceof PyDict) return v.values;
  if (v instanceof PyList || v instanceof PyTuple) return v.items;
  if (v instanceof PyObject && v.state instanceof PyDict) return v.state.values;
  return [];
}

/** Whether `children(v)` has children to give, without building them. */
function isContainer(v: PyValue): boolean {
  return v instanceof PyDict || v instanceof PyList || v instanceof PyTuple
    || (v instanceof PyObject && v.className === 'argparse.Namespace' && v.state instanceof PyDict);
}

function keyName(k: PyValue): string {
  return typeof k === 'string' ? (k.length > MAX_KEY_CHARS ? k.slice(0, MAX_KEY_CHARS) + '…' : k) : typeof k === 'number' || typeof k === 'bigint' ? String(k) : shortRepr(k, 60);
}

function isOptimizerState(v: PyValue): boolean {
  return v instanceof PyDict && v.get('state') !== undefined && v.get('param_groups') !== undefined;
}

class Walker {
  /** Nodes pushed so far, over every walk of this checkpoint (the budget bounds time and memory). */
  pushed = 0;
  /** Tensors and tree nodes under each container already measured: shared subtrees are measured once. */
  private readonly sizes = new Map<object, { tensors: number; nodes: number }>();
  constructor(private readonly file: string) {}

  private charge(n: number): void {
    this.pushed += n;
    if (this.pushed > FLATTEN_LIMITS.maxVisits) {
      throw new CheckpointError(this.file, `checkpoint object graph has more than ${FLATTEN_LIMITS.maxVisits} nodes as a tree (flatten budget; shared structure repeated many times over?)`);
    }
    if ((this.pushed & 0xffff) < n) checkLimits();
  }

  private cycle(path: string): never {
    throw new CheckpointError(this.file, `checkpoint object graph is cyclic: ${path || '(root)'} contains itself`);
  }

  /**
   * Depth-first, in order, without recursion. `visit` returns false to skip a node's children.
   * Every node pushed counts against the budget before it is pushed, so a node with millions of
   * children (or a subtree shared millions of times) ends in an error, not in a huge stack; a
   * container met again inside itself (a cycle) ends at once.
   */
  walk(root: PyValue, prefix: string, visit: (path: string, v: PyValue) => boolean): void {
    // One frame per open container (not per pending child): the stack is as deep as the nesting.
    type Frame = { path: string; kids: [string, PyValue][]; next: number; key: object; depth: number };
    const stack: Frame[] = [];
    const open = new Set<object>(); // containers on the current path
    const enter = (path: string, v: PyValue, depth: number): void => {
      if (!visit(path, v)) return;
      const kids = children(v);
      if (!kids) return;
      if (depth >= FLATTEN_LIMITS.maxDepth) throw new CheckpointError(this.file, `checkpoint nests more than ${FLATTEN_LIMITS.maxDepth} levels deep`);
      const key = v as object;
      if (open.has(key)) this.cycle(path);
      this.charge(kids.length);
      open.add(key);
      stack.push({ path, kids, next: 0, key, depth });
    };
    this.charge(1);
    enter(prefix, root, 0);
    while (stack.length) {
      const f = stack[stack.length - 1];
      if (f.next >= f.kids.length) { open.delete(f.key); stack.pop(); continue; }
      const [k, x] = f.kids[f.next++];
      enter(f.path ? `${f.path}.${k}` : k, x, f.depth + 1);
    }
  }

  /** Tensors reachable under `root`, each shared container counted once (by identity). */
  countTensors(root: PyValue): number { return this.measure(root).tensors; }

  /**
   * Refuses (before walking it) a value whose tree of paths is larger than what is left of the
   * budget: a DAG that doubles at each of 40 levels is 40 containers but 2^40 paths.
   */
  checkTreeSize(root: PyValue): void {
    const nodes = this.measure(root).nodes;
    if (this.pushed + nodes > FLATTEN_LIMITS.maxVisits) this.charge(nodes);
  }

  /**
   * Tensors and tree nodes under `root`, in time linear in the graph: each container is measured
   * once (by identity), post-order without recursion; a container met inside itself is a cycle.
   */
  private measure(root: PyValue): { tensors: number; nodes: number } {
    const leaf = (x: PyValue) => ({ tensors: x instanceof TensorRef ? 1 : 0, nodes: 1 });
    const known = (x: PyValue) => (isContainer(x) ? this.sizes.get(x as object) : leaf(x));
    const stack: { v: PyValue; depth: number; kids?: PyValue[] }[] = [{ v: root, depth: 0 }];
    const open = new Set<object>();
    let visited = 0;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (known(top.v) !== undefined) { stack.pop(); continue; }
      if (!top.kids) {
        const key = top.v as object;
        if (open.has(key)) this.cycle('a value');
        if (top.depth >= FLATTEN_LIMITS.maxDepth) throw new CheckpointError(this.file, `checkpoint nests more than ${FLATTEN_LIMITS.maxDepth} levels deep`);
        open.add(key);
        top.kids = childValues(top.v);
        // Every distinct edge is looked at once: bounded by the pickle's own size.
        visited += top.kids.length;
        if ((visited & 0xffff) < top.kids.length) checkLimits();
        for (const k of top.kids) if (known(k) === undefined) stack.push({ v: k, depth: top.depth + 1 });
        continue;
      }
      let tensors = 0, nodes = 1;
      for (const k of top.kids) { const m = known(k)!; tensors += m.tensors; nodes += m.nodes; }
      this.sizes.set(top.v as object, { tensors, nodes });
      open.delete(top.v as object);
      stack.pop();
    }
    return known(root)!;
  }
}

export function flattenCheckpoint(root: PyValue, file: string): Flattened {
  const w = new Walker(file);
  const out: Flattened = { tensors: [], entries: [], warnings: [] };
  const seen = new Set<string>();
  let droppedEntries = 0;

  const addEntry = (e: NonTensorEntry): void => {
    if (out.entries.length < FLATTEN_LIMITS.maxEntries) out.entries.push(e); else droppedEntries++;
  };

  /** Puts every tensor of `v` under `prefix`; non-tensor leaves become entries named `entryPrefix...`. */
  const takeModel = (v: PyValue, prefix: string, entryPrefix: string): void => {
    w.checkTreeSize(v);
    w.walk(v, prefix, (path, x) => {
      if (x instanceof TensorRef) {
        const name = path || 'tensor';
        if (seen.has(name)) out.warnings.push(`two tensors are named ${name}; only the first is used`);
        else { seen.add(name); out.tensors.push({ name, tensor: x }); }
        return false;
      }
      if (children(x)) return true;
      const entryName = entryPrefix && path ? `${entryPrefix}.${path}` : entryPrefix || path || '(root)';
      if (x instanceof OpaqueTensor) {
        out.warnings.push(`${entryName} is a ${x.kind} tensor, which Reuse Lens does not compare`);
        addEntry({ name: entryName, type: 'tensor', value: `${x.kind} (not compared)` });
      } else {
        addEntry({ name: entryName, type: typeNameOf(x), value: shortRepr(x) });
      }
      return false;
    });
  };

  /** One entry for a whole top-level value that is not the model. */
  const summarise = (name: string, v: PyValue): void => {
    if (v instanceof TensorRef) {
      addEntry({ name, type: 'tensor', value: `${v.dtype} [${v.shape.join(', ')}] (not compared)` });
      return;
    }
    if (children(v)) {
      const n = w.countTensors(v);
      if (n > 0 || isOptimizerState(v)) {
        const type = isOptimizerState(v) ? 'optimizer state' : v instanceof PyDict ? 'state dict' : typeNameOf(v);
        addEntry({ name, type, value: `${n} tensor${n === 1 ? '' : 's'}` });
        return;
      }
    }
    addEntry({ name, type: typeNameOf(v), value: shortRepr(v) });
  };

  const top = root instanceof PyObject && root.className === 'argparse.Namespace' && root.state instanceof PyDict ? root.state : root;
  if (top instanceof TensorRef) {
    out.tensors.push({ name: 'tensor', tensor: top });
  } else if (!(top instanceof PyDict)) {
    if (children(top)) takeModel(top, '', '');
    else addEntry({ name: '(root)', type: typeNameOf(top), value: shortRepr(top) });
  } else {
    const holdsTensorsDirectly = top.values.some((v) => v instanceof TensorRef);
    let modelKey: string | undefined;
    if (!holdsTensorsDirectly) {
      for (const k of MODEL_KEYS) {
        const v = top.get(k);
        if (v !== undefined && children(v) && w.countTensors(v) > 0) { modelKey = k; break; }
      }
    }
    if (modelKey !== undefined) {
      out.modelKey = modelKey;
      for (let i = 0; i < top.keys.length; i++) {
        const name = keyName(top.keys[i]);
        if (name === modelKey) takeModel(top.values[i], '', modelKey);
        else summarise(name, top.values[i]);
      }
    } else {
      // The top level is the model (a state_dict, or nested module dicts); training machinery
      // beside it is listed, not flattened into the weights.
      for (let i = 0; i < top.keys.length; i++) {
        const name = keyName(top.keys[i]);
        const v = top.values[i];
        if (!(v instanceof TensorRef) && (TRAINING_KEYS.test(name) || isOptimizerState(v))) summarise(name, v);
        else takeModel(v, name, '');
      }
    }
  }
  if (droppedEntries) out.warnings.push(`${droppedEntries} more non-tensor entries are not listed`);
  return out;
}
