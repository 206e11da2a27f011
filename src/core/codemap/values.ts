// What the model-code interpreter computes with: Python values as far as building a network
// needs them (numbers, strings, lists, classes, functions) and the modules it creates, each
// remembering the lines of code that created or registered it.

/** A place in the code (0-based line and UTF-16 column, as the editor counts). */
export interface Site { line: number; column: number }

export type Framework = 'pytorch' | 'keras';

/** One module (PyTorch) or layer (Keras) the code creates; a new node per instance. */
export interface ModNode {
  /** Class name as written (`Conv2d`, `Sequential`, `BasicBlock`, `Dense`). */
  cls: string;
  framework: Framework;
  /** A library class whose insides the code does not show: it owns every name under its path. */
  opaque: boolean;
  /** Known to hold no parameters or buffers (activations, pooling, dropout): never a layer. */
  paramless: boolean;
  /** Named children in registration order (PyTorch's `_modules`). */
  children: [string, ModNode][];
  /** Children at every index from `min` on, when a loop's count is not evident (`min` -1: any name). */
  wild: { min: number; node: ModNode }[];
  /** Plain attributes of a user module (`self.inplanes = 64`). */
  attrs: Map<string, Val>;
  /** The user class an instance was made from (for methods and class attributes). */
  userClass?: ClassDef;
  /** Keras: the layer's name (explicit `name=` or the default `conv2d_1`). */
  kerasName?: string;
  /** Lines that created it or gave it its name. */
  sites: Site[];
  /** Loop uncertainty when made (an append inside a loop of unknown count adds `wild` children). */
  born?: number;
  /** Registered as another module's child (so not the root of a network). */
  parented?: boolean;
  /**
   * Keras: the model or layer that holds this layer (a Sequential's entry, a functional model's
   * layer, a subclassed model's attribute or list item). A checkpoint stores a held layer's
   * weights under the holder's name (`backbone.conv2d`), unless the holder is the network itself.
   */
  kerasParent?: ModNode;
  /** Keras: a model or a layer of the user's that holds other layers (Sequential, functional, subclassed). */
  kerasHolder?: boolean;
}

export interface ClassDef { name: string; node: unknown; bases: Val[]; framework: Framework | undefined; attrs: Map<string, unknown> }
export interface FuncDef { name: string; node: unknown; closure: Scope | undefined }

export type Val =
  | { t: 'mod'; node: ModNode }
  /** `tail`: more items like it, how many not evident. `born`: loop uncertainty when made (see interpreter). */
  | { t: 'list'; items: Val[]; tail?: Val; born?: number }
  | { t: 'dict'; entries: Map<string, Val> }
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'none' }
  | { t: 'class'; cls: ClassDef }
  /** A library callable by qualified name (`torch.nn.Conv2d`, `keras.layers.Dense`, `range`). */
  | { t: 'lib'; name: string }
  | { t: 'func'; fn: FuncDef; self?: Val }
  /** A method of a value (`layers.append`). */
  | { t: 'method'; name: string; obj: Val }
  | { t: 'super'; self: Val; cls: ClassDef | undefined }
  /** A Keras symbolic tensor (keras.Input, a layer's output): the layers it came through, for keras.Model(inputs, outputs). */
  | { t: 'tensor'; via: ModNode[] }
  | { t: 'unknown' };

export interface Scope { vars: Map<string, Val>; parent: Scope | undefined }

export const UNKNOWN: Val = { t: 'unknown' };
export const NONE: Val = { t: 'none' };

export function newNode(cls: string, framework: Framework, site: Site | undefined, opts: Partial<ModNode> = {}): ModNode {
  return { cls, framework, opaque: false, paramless: false, children: [], wild: [], attrs: new Map(), sites: site ? [site] : [], ...opts };
}

export function lookup(scope: Scope | undefined, name: string): Val | undefined {
  for (let s = scope; s; s = s.parent) {
    const v = s.vars.get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function truthy(v: Val): boolean | undefined {
  switch (v.t) {
    case 'num': return v.v !== 0;
    case 'str': return v.v !== '';
    case 'bool': return v.v;
    case 'none': return false;
    case 'list': return v.tail ? undefined : v.items.length > 0;
    case 'dict': return v.entries.size > 0;
    case 'unknown': return undefined;
    default: return true;
  }
}

/** Registers (or replaces, keeping its place, as PyTorch's `_modules[name] = m` does) a child. */
export function setChild(parent: ModNode, name: string, child: ModNode): void {
  const at = parent.children.findIndex(([n]) => n === name);
  if (at >= 0) parent.children[at] = [name, child];
  else parent.children.push([name, child]);
  child.parented = true;
  if (parent.framework === 'keras' && child.framework === 'keras') child.kerasParent = parent;
}

/** The modules in a value (a module, or the modules of a list), with the unknown-count tail. */
export function modulesOf(v: Val): { items: ModNode[]; tail?: ModNode } {
  if (v.t === 'mod') return { items: [v.node] };
  if (v.t === 'list') {
    const items = v.items.flatMap((x) => (x.t === 'mod' ? [x.node] : []));
    return { items, tail: v.tail?.t === 'mod' ? v.tail.node : undefined };
  }
  return { items: [] };
}
