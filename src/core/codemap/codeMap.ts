// Model code -> the networks it can build, each as module paths (PyTorch's parameter-name
// prefixes, or Keras layer names) with the lines that create or name them. Which network the
// file is, and which analysis it belongs to, is decided later against checkpoint names
// (annotate.ts): the code map depends on the text only, so it is computed once per version.
import { nodeTypeAt, rootOf as wrapRoot, type SyntaxNode } from './pythonParser';
import type { Tree } from 'web-tree-sitter';
import { BudgetExceeded, Interpreter, Module, heldIn } from './interpreter';
import { ClassDef, Framework, ModNode, Scope, Val } from './values';
import { defNameAt, relevanceOf } from './relevance';

/** One module path a candidate network has; `#k` is any index from k on, `*` any name. */
export interface CodeMapNode {
  path: string;
  /** A module whose own names are not in the code (nn.Conv2d, a Keras layer): it owns every layer at or under its path. */
  leaf: boolean;
  /** [line, column] of each place that creates or names it (0-based). */
  sites: [number, number][];
}

export interface Candidate {
  /** How the network is made: `class ResNet`, `resnet18()`, `<module>`. */
  name: string;
  framework: Framework;
  nodes: CodeMapNode[];
}

export interface LoadSite { line: number; column: number; method: 'load_state_dict' | 'load_weights' }

export interface CodeMap {
  candidates: Candidate[];
  /** load_state_dict/load_weights calls of the file's own code (not those inside an inserted reuse plan). */
  loads: LoadSite[];
  /** The file already holds a reuse plan (defines `apply_reuse_plan`): its load lines are not offered another. */
  planInFile: boolean;
  /** String literals that name checkpoint files (`"runs/source.pt"`): they tie a file to an analysis. */
  checkpointNames: string[];
}

/** Names model code uses without importing them (snippets), as their usual imports. */
const USUAL_IMPORTS: Record<string, string> = {
  nn: 'torch.nn', torch: 'torch', layers: 'keras.layers', keras: 'keras', tf: 'tensorflow', OrderedDict: 'collections.OrderedDict',
};

const CHECKPOINT_FILE = /\.(pt|pth|bin|ckpt|safetensors|h5|keras|onnx|npz|npy)$|(^|[\\/])model\.json$/i;
const STEP_BUDGET = 2_000_000;
const CANDIDATE_BUDGET = 300_000;
const MAX_NODES = 20_000;
const MAX_PATH_DEPTH = 48;

function imports(root: SyntaxNode): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (s: SyntaxNode) => {
    if (s.type === 'import_statement') {
      for (const n of s.childrenForFieldName('name')) {
        if (!n) continue;
        if (n.type === 'aliased_import') out.set(n.childForFieldName('alias')!.text, n.childForFieldName('name')!.text);
        else out.set(n.text.split('.')[0], n.text.split('.')[0]);
      }
    } else if (s.type === 'import_from_statement') {
      const from = s.childForFieldName('module_name')?.text ?? '';
      for (const n of s.childrenForFieldName('name')) {
        if (!n) continue;
        if (n.type === 'aliased_import') out.set(n.childForFieldName('alias')!.text, `${from}.${n.childForFieldName('name')!.text}`);
        else out.set(n.text, `${from}.${n.text}`);
      }
    } else if (s.type === 'if_statement' || s.type === 'try_statement') {
      // `try: import torch ... except ImportError:` and `if TYPE_CHECKING:` blocks.
      for (const c of s.namedChildren) if (c && (c.type === 'block' || c.type.endsWith('clause'))) for (const x of (c.type === 'block' ? c : c.childForFieldName('body') ?? c).namedChildren) if (x) visit(x);
    }
  };
  for (const s of root.namedChildren) if (s) visit(s);
  for (const [k, v] of Object.entries(USUAL_IMPORTS)) if (!out.has(k)) out.set(k, v);
  return out;
}

function collectTorch(root: ModNode): CodeMapNode[] {
  const out: CodeMapNode[] = [];
  const onPath = new Set<ModNode>();
  const walk = (n: ModNode, prefix: string, depth: number) => {
    if (depth > MAX_PATH_DEPTH || onPath.has(n) || out.length > MAX_NODES) return;
    onPath.add(n);
    const visit = (name: string, c: ModNode) => {
      const path = prefix ? `${prefix}.${name}` : name;
      if (c.paramless && c.opaque) return;
      out.push({ path, leaf: c.opaque, sites: c.sites.map((s) => [s.line, s.column]) });
      if (!c.opaque) walk(c, path, depth + 1);
    };
    for (const [name, c] of n.children) visit(name, c);
    for (const w of n.wild) visit(w.min < 0 ? '*' : `#${w.min}`, w.node);
    onPath.delete(n);
  };
  walk(root, '', 0);
  return out;
}

/**
 * Keras layers by the names a checkpoint stores them under: a layer's own name, after the names
 * of the models and layers holding it (`backbone.conv2d`, `head.dense_1`), but not the network's
 * own name (the outermost holder). A holder of layers owns everything under its name.
 */
function collectKeras(layers: ModNode[]): CodeMapNode[] {
  // Layers a subclassed model keeps in a list it appends to after assigning it: held by it too.
  for (const h of layers) if (h.kerasHolder && h.userClass) for (const v of h.attrs.values()) for (const m of heldIn(v)) if (m.framework === 'keras' && !m.kerasParent && m !== h) m.kerasParent = h;
  const holding = new Set(layers.map((l) => l.kerasParent).filter((p): p is ModNode => !!p));
  const out: CodeMapNode[] = [];
  for (const l of layers) {
    if (l.paramless || !l.kerasName) continue;
    const chain = [l];
    for (let p = l.kerasParent; p && !chain.includes(p) && chain.length <= MAX_PATH_DEPTH; p = p.kerasParent) chain.push(p);
    if (chain[chain.length - 1].kerasHolder) chain.pop();
    if (!chain.length || chain.some((c) => !c.kerasName)) continue;
    out.push({ path: chain.reverse().map((c) => c.kerasName).join('.'), leaf: !holding.has(l), sites: l.sites.map((s) => [s.line, s.column] as [number, number]) });
  }
  return out;
}

/** The module a run produced: the returned value, else the last module bound to a name. */
function rootOf(v: Val | undefined): ModNode | undefined {
  if (v?.t === 'mod' && !v.node.opaque && v.node.framework === 'pytorch') return v.node;
  if (v?.t === 'list') for (const x of v.items) { const r = rootOf(x); if (r) return r; }
  return undefined;
}

/**
 * Everything a file's code can build: the candidates, its load calls and checkpoint names.
 * `tokens` (nameTokens of the analyses' layers): only code that can build such layers is run.
 */
export function buildCodeMap(tree: Tree, text: string, tokens?: readonly string[]): CodeMap {
  const root = wrapRoot(tree, text);
  const mod: Module = { globals: { vars: new Map(), parent: undefined }, imports: imports(root) };
  const budget = { steps: STEP_BUDGET };
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const add = (name: string, framework: Framework, nodes: CodeMapNode[]) => {
    if (!nodes.some((n) => n.leaf)) return;
    const key = `${framework}\n${nodes.map((n) => `${n.path}@${n.sites.map((s) => s.join(':')).join(',')}`).join('\n')}`;
    if (seen.has(key)) return;
    seen.add(key);
    candidates.push({ name, framework, nodes });
  };
  const run = (name: string, work: (it: Interpreter) => Val | undefined) => {
    if (budget.steps <= 0) return;
    const own = { steps: Math.min(CANDIDATE_BUDGET, budget.steps) };
    const it = new Interpreter(mod, own);
    let v: Val | undefined;
    try { v = work(it); } catch (e) { if (!(e instanceof BudgetExceeded)) throw e; }
    budget.steps -= Math.min(CANDIDATE_BUDGET, budget.steps) - Math.max(0, own.steps);
    // The network a run builds: the one it returns, else the largest it made that is no part of another.
    let r = rootOf(v);
    if (!r) {
      let best = 0;
      for (const m of it.made) {
        if (m.parented || m.framework !== 'pytorch') continue;
        const size = m.children.length + m.wild.length;
        if (size > best) { best = size; r = m; }
      }
    }
    if (r) add(name, 'pytorch', collectTorch(r));
    if (it.kerasLayers.length) add(name, 'keras', collectKeras(it.kerasLayers));
  };

  // Classes and functions first (a function may use a class defined below it), then the
  // module's own statements, which also build what a script builds at top level.
  const top = root.namedChildren.filter((s): s is SyntaxNode => !!s);
  const defs = (s: SyntaxNode) => (s.type === 'decorated_definition' ? s.childForFieldName('definition') ?? s : s);
  const hoister = new Interpreter(mod, { steps: STEP_BUDGET });
  const classes: ClassDef[] = [];
  const functions: { name: string; node: SyntaxNode }[] = [];
  for (const s0 of top) {
    const s = defs(s0);
    if (s.type === 'class_definition') {
      const c = hoister.defineClass(s, mod.globals);
      mod.globals.vars.set(c.name, { t: 'class', cls: c });
      classes.push(c);
    } else if (s.type === 'function_definition') {
      // Named from the text: a file's many functions are not walked unless they run.
      const name = defNameAt(text, s.startIndex);
      if (name) { mod.globals.vars.set(name, { t: 'func', fn: { name, node: s, closure: undefined } }); functions.push({ name, node: s }); }
    }
  }
  // Which definitions can build the analysed layers: those whose words include a layer-name
  // token, and those that use such a definition (a factory calling the model class).
  const statements = top.map(defs);
  const r = relevanceOf(statements.map((s) => {
    const def = s.type === 'class_definition' || s.type === 'function_definition';
    return { start: s.startIndex, end: s.endIndex, def, name: def ? defNameAt(text, s.startIndex) : undefined };
  }), text, tokens);
  const relevant = { module: r.module, defs: new Set([...r.defs].map((i) => statements[i])) };
  if (relevant.module) run('<module>', (it) => {
    const statements = top.filter((s) => { const d = defs(s); return d.type !== 'class_definition' && d.type !== 'function_definition'; });
    it.execStatements(statements, mod.globals);
    return undefined;
  });
  for (const f of functions) {
    if (!relevant.defs.has(f.node)) continue;
    run(`${f.name}()`, (it) => {
      const fn = mod.globals.vars.get(f.name);
      return fn?.t === 'func' ? it.callFunc(fn.fn, undefined, { pos: [], kw: new Map(), nodes: [] }) : undefined;
    });
  }
  for (const c of classes) {
    if (!c.framework || !relevant.defs.has(c.node as SyntaxNode)) continue;
    run(`class ${c.name}`, (it) => it.instantiateBare(c));
  }
  return { candidates, ...loadsAndNames(tree, text) };
}

const LOAD = /\.\s*(load_state_dict|load_weights)\s*\(/g;
const STRING = /(["'])([^"'\n]{1,1024}?)\1/g;

/** Where the text may call load_state_dict/load_weights or name a checkpoint file (the tree says which are code). */
export function loadAndNameOffsets(text: string): { loads: { at: number; method: LoadSite['method'] }[]; names: { at: number; name: string }[] } {
  const loads: { at: number; method: LoadSite['method'] }[] = [];
  for (const m of text.matchAll(LOAD)) loads.push({ at: m.index! + m[0].indexOf(m[1]), method: m[1] as LoadSite['method'] });
  const names: { at: number; name: string }[] = [];
  for (const m of text.matchAll(STRING)) if (CHECKPOINT_FILE.test(m[2])) names.push({ at: m.index! + 1, name: m[2] });
  return { loads, names };
}

const PLAN_DEF = /^([ \t]*)def[ \t]+apply_reuse_plan[ \t]*\(/gm;

/**
 * Line spans [first, last] (0-based) of the `def apply_reuse_plan(...)` functions of the file: a
 * reuse plan Reuse Lens inserted (its own `model.load_state_dict(state, strict=False)` is the
 * plan's, not a place to insert another). A body runs while lines are blank, comments, or
 * indented deeper than the `def`.
 */
export function planSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  if (!text.includes('apply_reuse_plan')) return spans;
  const lines = text.split('\n');
  const starts = new Map<number, number>();
  for (const m of text.matchAll(PLAN_DEF)) {
    let line = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < m.index!; i = text.indexOf('\n', i + 1)) line++;
    starts.set(line, m[1].length);
  }
  for (const [first, indent] of starts) {
    let last = first;
    for (let i = first + 1; i < lines.length; i++) {
      const l = lines[i];
      const body = l.trimStart();
      if (body === '' || body.startsWith('#')) continue;
      if (l.length - body.length <= indent) break;
      last = i;
    }
    spans.push([first, last]);
  }
  return spans;
}

function loadsAndNames(tree: Tree, text: string): { loads: LoadSite[]; planInFile: boolean; checkpointNames: string[] } {
  // Found in the text, then checked in the tree (a match in a comment or a string is not a call).
  const found = loadAndNameOffsets(text);
  const plans = planSpans(text);
  const loads: LoadSite[] = [];
  for (const { at, method } of found.loads) {
    const t = nodeTypeAt(tree, at);
    if (t.type !== 'identifier' || t.parentType !== 'attribute' || t.grandType !== 'call') continue;
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    let line = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) line++;
    if (plans.some(([a, b]) => line >= a && line <= b)) continue;
    loads.push({ line, column: at - lineStart, method });
  }
  const names = new Set<string>();
  for (const { at, name } of found.names) if (nodeTypeAt(tree, at).type === 'string_content') names.add(name);
  return { loads, planInFile: plans.length > 0, checkpointNames: [...names] };
}
