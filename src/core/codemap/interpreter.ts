// A small abstract interpreter of the Python that builds a network: it runs `__init__` methods,
// helper methods and factory functions far enough to know which modules exist and under which
// names PyTorch (or Keras) stores their parameters. It never runs the user's code: it walks the
// syntax tree and computes with plain values; what it cannot know (a loop count passed in from
// outside, a condition on data) it keeps as a wildcard or takes both ways, and the checkpoint's
// names decide later. Bounded: a step budget, a recursion limit, capped loops and lists.
import type { SyntaxNode } from './pythonParser';
import { classify, isBuiltin, kerasSnake } from './libraries';
import {
  ClassDef, FuncDef, Framework, ModNode, NONE, Scope, Site, UNKNOWN, Val, lookup, modulesOf, newNode, setChild, truthy,
} from './values';

export class BudgetExceeded extends Error {}

const MAX_ITER = 1000;
const MAX_LIST = 10_000;
const MAX_DEPTH = 40;
/**
 * A loop whose first iterations made and changed nothing a network is built from (an epoch loop,
 * a pass over data) runs its other iterations as one of unknown count, as a loop whose count is
 * not evident does: the same modules, at a fraction of the steps.
 */
const QUIET_ITERATIONS = 8;

type Signal = undefined | { ret: Val } | 'break' | 'continue';

interface Args { pos: Val[]; kw: Map<string, Val>; nodes: SyntaxNode[] }

const siteOf = (n: SyntaxNode): Site => ({ line: n.startPosition.row, column: n.startPosition.column });
const num = (v: number): Val => ({ t: 'num', v });
const str = (v: string): Val => ({ t: 'str', v });
const list = (items: Val[], born: number): Val => ({ t: 'list', items, born });

export interface Module {
  /** Module-level names: imports (alias -> qualified name), classes, functions, constants. */
  globals: Scope;
  imports: Map<string, string>;
}

export class Interpreter {
  /** Loop uncertainty: > 0 inside the body of a loop whose count is not evident. */
  private uncertain = 0;
  private depth = 0;
  /** Keras layers made in this run, in creation order, and the default-name counters. */
  readonly kerasLayers: ModNode[] = [];
  /** User-class instances and containers made in this run: the networks are those never registered in another. */
  readonly made: ModNode[] = [];
  private readonly kerasCount = new Map<string, number>();
  /** Counts what a network is built from: modules made, registered or stored, lists and dicts changed. */
  private effects = 0;

  constructor(private readonly mod: Module, private readonly budget: { steps: number }) {}

  private step(): void {
    if (--this.budget.steps < 0) throw new BudgetExceeded('step budget exceeded');
  }

  // ---- statements -------------------------------------------------------------------------

  execBlock(block: SyntaxNode | null, sc: Scope): Signal {
    return block ? this.execStatements(block.namedChildren, sc) : undefined;
  }

  execStatements(statements: readonly SyntaxNode[], sc: Scope): Signal {
    for (const s of statements) {
      if (!s) continue;
      // The statement's place, for calls whose site is the statement (setattr).
      const was = this.currentSite;
      this.currentSite = siteOf(s);
      try {
        const sig = this.exec(s, sc);
        if (sig) return sig;
      } finally { this.currentSite = was; }
    }
    return undefined;
  }

  exec(s: SyntaxNode, sc: Scope): Signal {
    this.step();
    switch (s.type) {
      case 'expression_statement': {
        const e = s.namedChild(0);
        if (!e) return undefined;
        if (e.type === 'assignment') this.assign(e, sc);
        else if (e.type === 'augmented_assignment') this.augAssign(e, sc);
        else this.ev(e, sc);
        return undefined;
      }
      case 'return_statement': {
        const e = s.namedChild(0);
        return { ret: e ? this.ev(e, sc) : NONE };
      }
      case 'if_statement': return this.execIf(s, sc);
      case 'for_statement': return this.execFor(s, sc);
      case 'while_statement': {
        this.uncertain++;
        try { this.execBlock(s.childForFieldName('body'), sc); } finally { this.uncertain--; }
        return undefined;
      }
      case 'with_statement': case 'try_statement': {
        const sig = this.execBlock(s.childForFieldName('body'), sc);
        return sig;
      }
      case 'function_definition': {
        const name = s.childForFieldName('name')?.text;
        if (name) sc.vars.set(name, { t: 'func', fn: { name, node: s, closure: sc } });
        return undefined;
      }
      case 'decorated_definition': {
        const d = s.childForFieldName('definition');
        return d ? this.exec(d, sc) : undefined;
      }
      case 'class_definition': {
        const c = this.defineClass(s, sc);
        sc.vars.set(c.name, { t: 'class', cls: c });
        return undefined;
      }
      case 'break_statement': return 'break';
      case 'continue_statement': return 'continue';
      default: return undefined;
    }
  }

  defineClass(s: SyntaxNode, sc: Scope): ClassDef {
    const name = s.childForFieldName('name')?.text ?? '?';
    const bases: Val[] = [];
    for (const b of s.childForFieldName('superclasses')?.namedChildren ?? []) {
      if (b && b.type !== 'keyword_argument') bases.push(this.ev(b, sc));
    }
    let framework: Framework | undefined;
    for (const b of bases) {
      if (b.t === 'class' && b.cls.framework) framework = b.cls.framework;
      else if (b.t === 'lib' && /(^|\.)keras(\.|$)/.test(b.name)) framework = 'keras';
      else if (b.t === 'lib' && b.name !== 'object') framework ??= 'pytorch';
      else if (b.t === 'unknown') framework ??= 'pytorch';
    }
    const attrs = new Map<string, unknown>();
    for (const st of s.childForFieldName('body')?.namedChildren ?? []) {
      if (!st) continue;
      const d = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
      if (d?.type === 'function_definition') { const n = d.childForFieldName('name')?.text; if (n) attrs.set(n, d); }
      if (st.type === 'expression_statement' && st.namedChild(0)?.type === 'assignment') {
        const a = st.namedChild(0)!;
        const l = a.childForFieldName('left'), r = a.childForFieldName('right');
        if (l?.type === 'identifier' && r) attrs.set(l.text, r);
      }
    }
    return { name, node: s, bases, framework, attrs };
  }

  private execIf(s: SyntaxNode, sc: Scope): Signal {
    const clauses: { cond: SyntaxNode | null; body: SyntaxNode | null }[] = [
      { cond: s.childForFieldName('condition'), body: s.childForFieldName('consequence') },
    ];
    for (const a of s.childrenForFieldName('alternative')) {
      if (!a) continue;
      if (a.type === 'elif_clause') clauses.push({ cond: a.childForFieldName('condition'), body: a.childForFieldName('consequence') });
      else clauses.push({ cond: null, body: a.childForFieldName('body') });
    }
    let unsure = false, fallback: { ret: Val } | undefined;
    for (const c of clauses) {
      const t = c.cond ? truthy(this.ev(c.cond, sc)) : true;
      if (t === false && !unsure) continue;
      if (t === true && !unsure) return this.execBlock(c.body, sc);
      // Not evident: take every branch that may run, one after the other (what they create is
      // a superset; the checkpoint's names keep what exists). A return in one is kept for later.
      unsure = true;
      const sig = this.execBlock(c.body, sc);
      if (sig && typeof sig === 'object') fallback ??= sig;
    }
    if (fallback) this.pendingReturn = fallback.ret;
    return undefined;
  }

  private pendingReturn: Val | undefined;

  private execFor(s: SyntaxNode, sc: Scope): Signal {
    const target = s.childForFieldName('left')!, body = s.childForFieldName('body');
    const it = this.iterate(this.ev(s.childForFieldName('right')!, sc));
    const effects = this.effects;
    let unknownTail = it.unknownTail;
    for (let i = 0; i < it.items.length; i++) {
      if (i >= QUIET_ITERATIONS && this.effects === effects) { unknownTail = true; break; }
      this.bind(target, it.items[i], sc);
      const sig = this.execBlock(body, sc);
      if (sig === 'break') return undefined;
      if (sig && typeof sig === 'object') return sig;
    }
    if (unknownTail) {
      this.uncertain++;
      try {
        this.bind(target, UNKNOWN, sc);
        const sig = this.execBlock(body, sc);
        if (sig && typeof sig === 'object') return sig;
      } finally { this.uncertain--; }
    }
    return undefined;
  }

  /** The items a `for` walks: known ones, then (when the count is not evident) one unknown. */
  private iterate(v: Val): { items: Val[]; unknownTail: boolean } {
    if (v.t === 'list') return { items: v.items.slice(0, MAX_ITER), unknownTail: !!v.tail || v.items.length > MAX_ITER };
    if (v.t === 'dict') return { items: [...v.entries.keys()].map(str), unknownTail: false };
    if (v.t === 'str') return { items: [...v.v].map(str), unknownTail: false };
    if (v.t === 'mod') return this.iterateModule(v.node);
    return { items: [], unknownTail: true };
  }

  private iterateModule(n: ModNode): { items: Val[]; unknownTail: boolean } {
    return { items: n.children.map(([, c]): Val => ({ t: 'mod', node: c })), unknownTail: n.wild.length > 0 };
  }

  private bind(target: SyntaxNode, v: Val, sc: Scope): void {
    switch (target.type) {
      case 'identifier': sc.vars.set(target.text, v); return;
      case 'pattern_list': case 'tuple_pattern': case 'list_pattern': case 'tuple': case 'list': {
        const names = target.namedChildren.filter((x): x is SyntaxNode => !!x);
        const items = v.t === 'list' && !v.tail && v.items.length === names.length ? v.items : undefined;
        names.forEach((n, i) => this.bind(n, items ? items[i] : UNKNOWN, sc));
        return;
      }
      case 'attribute': this.setAttr(target, v, sc, siteOf(target.childForFieldName('attribute') ?? target)); return;
      case 'subscript': {
        const obj = this.ev(target.childForFieldName('value')!, sc);
        const key = this.ev(target.childForFieldName('subscript')!, sc);
        this.setItem(obj, key, v, siteOf(target));
        return;
      }
      default: return;
    }
  }

  private assign(a: SyntaxNode, sc: Scope): void {
    const right = a.childForFieldName('right');
    if (!right) return;
    const v = this.ev(right, sc);
    // `a = b = value`: the right side is itself an assignment.
    this.bind(a.childForFieldName('left')!, v, sc);
  }

  private augAssign(a: SyntaxNode, sc: Scope): void {
    const left = a.childForFieldName('left')!, op = a.childForFieldName('operator')?.text;
    const cur = this.ev(left, sc), r = this.ev(a.childForFieldName('right')!, sc);
    if (op === '+=' && cur.t === 'list') { this.extend(cur, r); return; }
    this.bind(left, this.binop(op?.slice(0, -1) ?? '', cur, r), sc);
  }

  private setAttr(target: SyntaxNode, v: Val, sc: Scope, site: Site): void {
    const obj = this.ev(target.childForFieldName('object')!, sc);
    const name = target.childForFieldName('attribute')?.text;
    if (!name || obj.t !== 'mod') return;
    this.register(obj.node, name, v, site);
  }

  /** `self.name = v` on a module: a module value becomes a child (PyTorch's __setattr__), anything else an attribute. */
  private register(parent: ModNode, name: string, v: Val, site: Site): void {
    this.effects++;
    const child = v.t === 'mod' ? v.node : undefined;
    if (child) {
      // The name is where the line's hint points (`self.fc = nn.Linear(...)`: at `fc`).
      const same = child.sites.find((s) => s.line === site.line);
      if (!same) child.sites.push(site);
      else same.column = Math.min(same.column, site.column);
      setChild(parent, name, child);
      parent.attrs.delete(name);
    } else {
      parent.attrs.set(name, v);
      // A Keras model or layer tracks the layers in its lists and dicts as its own.
      if (parent.framework === 'keras') for (const m of heldIn(v)) if (m.framework === 'keras') { m.kerasParent = parent; m.parented = true; }
    }
  }

  private setItem(obj: Val, key: Val, v: Val, site: Site): void {
    this.effects++;
    if (obj.t === 'dict' && key.t === 'str') obj.entries.set(key.v, v);
    else if (obj.t === 'list' && key.t === 'num' && key.v >= 0 && key.v < obj.items.length) obj.items[key.v] = v;
    else if (obj.t === 'mod' && v.t === 'mod') {
      if (key.t === 'str' || key.t === 'num') this.register(obj.node, String(key.v), v, site);
      else obj.node.wild.push({ min: -1, node: v.node });
    }
  }

  // ---- expressions ------------------------------------------------------------------------

  ev(n: SyntaxNode, sc: Scope): Val {
    this.step();
    switch (n.type) {
      case 'integer': { const x = Number(n.text.replace(/_/g, '')); return Number.isFinite(x) ? num(x) : UNKNOWN; }
      case 'float': { const x = Number(n.text.replace(/_/g, '')); return Number.isFinite(x) ? num(x) : UNKNOWN; }
      case 'true': return { t: 'bool', v: true };
      case 'false': return { t: 'bool', v: false };
      case 'none': return NONE;
      case 'string': return this.string(n, sc);
      case 'concatenated_string': {
        let s = '';
        for (const c of n.namedChildren) { const v = c ? this.string(c, sc) : UNKNOWN; if (v.t !== 'str') return UNKNOWN; s += v.v; }
        return str(s);
      }
      case 'identifier': return this.name(n.text, sc);
      case 'attribute': return this.attribute(n, sc);
      case 'parenthesized_expression': { const e = n.namedChild(0); return e ? this.ev(e, sc) : UNKNOWN; }
      case 'list': case 'tuple': case 'expression_list': {
        const out = list([], this.uncertain);
        for (const c of n.namedChildren) {
          if (!c) continue;
          if (c.type === 'list_splat') this.extend(out as Val & { t: 'list' }, this.ev(c.namedChild(0)!, sc));
          else (out as Val & { t: 'list' }).items.push(this.ev(c, sc));
        }
        return out;
      }
      case 'dictionary': {
        const entries = new Map<string, Val>();
        for (const c of n.namedChildren) {
          if (c?.type !== 'pair') continue;
          const k = this.ev(c.childForFieldName('key')!, sc);
          const v = this.ev(c.childForFieldName('value')!, sc);
          if (k.t === 'str' || k.t === 'num') entries.set(String(k.v), v);
        }
        return { t: 'dict', entries };
      }
      case 'list_comprehension': case 'generator_expression': return this.comprehension(n, sc);
      case 'call': return this.call(n, sc);
      case 'subscript': return this.subscript(n, sc);
      case 'binary_operator': {
        const l = this.ev(n.childForFieldName('left')!, sc), r = this.ev(n.childForFieldName('right')!, sc);
        return this.binop(n.childForFieldName('operator')?.text ?? '', l, r);
      }
      case 'unary_operator': {
        const a = this.ev(n.childForFieldName('argument')!, sc);
        const op = n.childForFieldName('operator')?.text;
        return a.t === 'num' ? num(op === '-' ? -a.v : op === '~' ? ~a.v : a.v) : UNKNOWN;
      }
      case 'not_operator': { const t = truthy(this.ev(n.childForFieldName('argument')!, sc)); return t === undefined ? UNKNOWN : { t: 'bool', v: !t }; }
      case 'boolean_operator': {
        const l = this.ev(n.childForFieldName('left')!, sc);
        const op = n.childForFieldName('operator')?.text;
        const t = truthy(l);
        if (t === undefined) { this.ev(n.childForFieldName('right')!, sc); return UNKNOWN; }
        if (op === 'and') return t ? this.ev(n.childForFieldName('right')!, sc) : l;
        return t ? l : this.ev(n.childForFieldName('right')!, sc);
      }
      case 'comparison_operator': return this.compare(n, sc);
      case 'conditional_expression': {
        const [a, c, b] = n.namedChildren;
        if (!a || !c || !b) return UNKNOWN;
        const t = truthy(this.ev(c, sc));
        if (t === true) return this.ev(a, sc);
        if (t === false) return this.ev(b, sc);
        const va = this.ev(a, sc), vb = this.ev(b, sc);
        // Either may be made: a module on one side is what could be registered.
        return va.t === 'mod' ? va : vb.t === 'mod' ? vb : UNKNOWN;
      }
      case 'keyword_argument': { const v = n.childForFieldName('value'); return v ? this.ev(v, sc) : UNKNOWN; }
      default: return UNKNOWN;
    }
  }

  private string(n: SyntaxNode, sc: Scope): Val {
    if (n.type !== 'string') return UNKNOWN;
    let s = '';
    for (const c of n.namedChildren) {
      if (!c) continue;
      if (c.type === 'string_content') s += c.text;
      else if (c.type === 'escape_sequence') s += c.text === '\\n' ? '\n' : c.text.slice(1);
      else if (c.type === 'interpolation') {
        const e = c.childForFieldName('expression');
        const v = e ? this.ev(e, sc) : UNKNOWN;
        if (v.t === 'num' || v.t === 'str') s += String(v.v);
        else return UNKNOWN;
      }
    }
    return str(s);
  }

  private name(id: string, sc: Scope): Val {
    const v = lookup(sc, id);
    if (v) return v;
    const q = this.mod.imports.get(id);
    if (q) return { t: 'lib', name: q };
    if (isBuiltin(id)) return { t: 'lib', name: id };
    return UNKNOWN;
  }

  private attribute(n: SyntaxNode, sc: Scope): Val {
    const attr = n.childForFieldName('attribute')?.text ?? '';
    const obj = this.ev(n.childForFieldName('object')!, sc);
    return this.getAttr(obj, attr);
  }

  private getAttr(obj: Val, attr: string): Val {
    switch (obj.t) {
      case 'lib': return { t: 'lib', name: `${obj.name}.${attr}` };
      case 'mod': {
        const child = obj.node.children.find(([k]) => k === attr);
        if (child) return { t: 'mod', node: child[1] };
        const a = obj.node.attrs.get(attr);
        if (a) return a;
        if (obj.node.userClass) {
          const m = this.classAttr(obj.node.userClass, attr);
          if (m) return m.t === 'func' ? { ...m, self: obj } : m;
        }
        return { t: 'method', name: attr, obj };
      }
      case 'class': return this.classAttr(obj.cls, attr) ?? UNKNOWN;
      case 'super': {
        const base = obj.cls ? this.baseWith(obj.cls, attr) : undefined;
        if (base?.t === 'class') { const m = this.classAttr(base.cls, attr); return m?.t === 'func' ? { ...m, self: obj.self } : m ?? UNKNOWN; }
        if (base?.t === 'lib') return { t: 'method', name: `${base.name}.${attr}`, obj: obj.self };
        return { t: 'method', name: `super.${attr}`, obj: obj.self };
      }
      case 'list': case 'dict': case 'str': case 'tensor': return { t: 'method', name: attr, obj };
      default: return UNKNOWN;
    }
  }

  /** A class attribute or method, looked up through the user's base classes. */
  private classAttr(c: ClassDef, attr: string, seen = 0): Val | undefined {
    const a = c.attrs.get(attr) as SyntaxNode | Val | undefined;
    if (a !== undefined) {
      const node = a as SyntaxNode;
      if (node.type === 'function_definition') return { t: 'func', fn: { name: attr, node, closure: this.mod.globals } };
      if (typeof (a as Val).t === 'string') return a as Val;
      const v = this.ev(node, this.mod.globals);
      c.attrs.set(attr, v);
      return v;
    }
    if (seen > 20) return undefined;
    for (const b of c.bases) if (b.t === 'class') { const v = this.classAttr(b.cls, attr, seen + 1); if (v) return v; }
    return undefined;
  }

  /** The first base of `c` that defines `attr` (a user class), or the first library base. */
  private baseWith(c: ClassDef, attr: string): Val | undefined {
    for (const b of c.bases) {
      if (b.t === 'class' && this.classAttr(b.cls, attr)) return b;
      if (b.t === 'lib') return b;
    }
    return c.bases.find((b) => b.t === 'class');
  }

  private subscript(n: SyntaxNode, sc: Scope): Val {
    const obj = this.ev(n.childForFieldName('value')!, sc);
    const idx = n.childForFieldName('subscript');
    if (!idx) return UNKNOWN;
    if (idx.type === 'slice') {
      if (obj.t !== 'list' || obj.tail) return UNKNOWN;
      const parts = idx.namedChildren.map((c) => (c ? this.ev(c, sc) : UNKNOWN));
      const a = parts[0]?.t === 'num' ? parts[0].v : 0, b = parts[1]?.t === 'num' ? parts[1].v : obj.items.length;
      return list(obj.items.slice(a, b), this.uncertain);
    }
    const k = this.ev(idx, sc);
    if (obj.t === 'list' && k.t === 'num') {
      const i = k.v < 0 ? obj.items.length + k.v : k.v;
      return i >= 0 && i < obj.items.length ? obj.items[i] : obj.tail ?? UNKNOWN;
    }
    if (obj.t === 'dict' && (k.t === 'str' || k.t === 'num')) return obj.entries.get(String(k.v)) ?? UNKNOWN;
    if (obj.t === 'mod' && (k.t === 'num' || k.t === 'str')) {
      const c = obj.node.children.find(([name]) => name === String(k.t === 'num' && k.v < 0 ? obj.node.children.length + k.v : k.v));
      return c ? { t: 'mod', node: c[1] } : UNKNOWN;
    }
    return UNKNOWN;
  }

  private binop(op: string, l: Val, r: Val): Val {
    if (l.t === 'tensor' || r.t === 'tensor') return tensorThrough([l, r])!;
    if (l.t === 'num' && r.t === 'num') {
      const a = l.v, b = r.v;
      switch (op) {
        case '+': return num(a + b); case '-': return num(a - b); case '*': return num(a * b);
        case '/': return b ? num(a / b) : UNKNOWN; case '//': return b ? num(Math.floor(a / b)) : UNKNOWN;
        case '%': return b ? num(((a % b) + b) % b) : UNKNOWN; case '**': return num(a ** b);
        default: return UNKNOWN;
      }
    }
    if (op === '+' && l.t === 'str' && r.t === 'str') return str(l.v + r.v);
    if (op === '+' && l.t === 'list' && r.t === 'list') { const out = { t: 'list' as const, items: [...l.items], tail: l.tail, born: this.uncertain }; this.extend(out, r); return out; }
    if (op === '*' && l.t === 'list' && r.t === 'num' && !l.tail && l.items.length * r.v <= MAX_LIST) {
      return list(Array.from({ length: Math.max(0, r.v) }, () => l.items).flat(), this.uncertain);
    }
    return UNKNOWN;
  }

  private compare(n: SyntaxNode, sc: Scope): Val {
    const kids = n.children.filter((c): c is SyntaxNode => !!c);
    let left = this.ev(kids[0], sc);
    let result: boolean | undefined = true;
    for (let i = 1; i + 1 < kids.length; i += 2) {
      let op = kids[i].text;
      let j = i + 1;
      // `not in`, `is not`: two tokens.
      if ((op === 'not' || op === 'is') && !kids[j].isNamed) { op = `${op} ${kids[j].text}`; j++; i++; }
      const right = this.ev(kids[j], sc);
      const r = this.cmp(op, left, right);
      if (r === false) return { t: 'bool', v: false };
      if (r === undefined) result = undefined;
      left = right;
    }
    return result === undefined ? UNKNOWN : { t: 'bool', v: result };
  }

  private cmp(op: string, l: Val, r: Val): boolean | undefined {
    const scalar = (v: Val) => (v.t === 'num' || v.t === 'str' || v.t === 'bool' ? v.v : v.t === 'none' ? null : undefined);
    if (op === 'is' || op === 'is not') {
      if (l.t === 'unknown' || r.t === 'unknown') return undefined;
      const same = (l.t === 'none') === (r.t === 'none') && (l.t !== 'none' || r.t === 'none') ? (l.t === 'none' ? true : scalar(l) !== undefined && scalar(l) === scalar(r)) : false;
      return op === 'is' ? same : !same;
    }
    if (op === 'in' || op === 'not in') {
      if (r.t === 'list' && !r.tail && scalar(l) !== undefined) { const has = r.items.some((x) => scalar(x) === scalar(l)); return op === 'in' ? has : !has; }
      if (r.t === 'dict' && (l.t === 'str' || l.t === 'num')) { const has = r.entries.has(String(l.v)); return op === 'in' ? has : !has; }
      return undefined;
    }
    const a = scalar(l), b = scalar(r);
    if (a === undefined || b === undefined) return undefined;
    switch (op) {
      case '==': return a === b; case '!=': return a !== b;
      case '<': return a! < b!; case '<=': return a! <= b!; case '>': return a! > b!; case '>=': return a! >= b!;
      default: return undefined;
    }
  }

  private comprehension(n: SyntaxNode, sc: Scope): Val {
    const body = n.childForFieldName('body');
    const clauses = n.namedChildren.filter((c): c is SyntaxNode => !!c && (c.type === 'for_in_clause' || c.type === 'if_clause'));
    const out = { t: 'list' as const, items: [] as Val[], tail: undefined as Val | undefined, born: this.uncertain };
    const inner: Scope = { vars: new Map(), parent: sc };
    const run = (i: number): void => {
      if (i === clauses.length) {
        if (!body) return;
        const v = this.ev(body, inner);
        if (this.uncertain > out.born) out.tail = v; else if (out.items.length < MAX_LIST) out.items.push(v);
        return;
      }
      const c = clauses[i];
      if (c.type === 'if_clause') {
        const t = truthy(this.ev(c.namedChild(0)!, inner));
        if (t !== false) run(i + 1);
        return;
      }
      const it = this.iterate(this.ev(c.childForFieldName('right')!, inner));
      const left = c.childForFieldName('left')!;
      for (const v of it.items) { this.bind(left, v, inner); run(i + 1); }
      if (it.unknownTail) {
        this.uncertain++;
        try { this.bind(left, UNKNOWN, inner); run(i + 1); } finally { this.uncertain--; }
      }
    };
    run(0);
    return out;
  }

  private extend(target: Val & { t: 'list' }, more: Val): void {
    this.effects++;
    const uncertain = this.uncertain > (target.born ?? 0);
    if (more.t === 'list') {
      for (const x of more.items) {
        if (uncertain || target.tail) target.tail = x;
        else if (target.items.length < MAX_LIST) target.items.push(x);
      }
      if (more.tail) target.tail = more.tail;
    } else if (more.t === 'mod') {
      // `layers += block` (a Sequential's children): rare; keep the modules.
      for (const [, c] of more.node.children) target.items.push({ t: 'mod', node: c });
    } else if (more.t === 'unknown') {
      target.tail = target.tail ?? UNKNOWN;
    }
  }

  private append(target: Val & { t: 'list' }, v: Val): void {
    this.effects++;
    if (this.uncertain > (target.born ?? 0) || target.tail) target.tail = v;
    else if (target.items.length < MAX_LIST) target.items.push(v);
  }

  // ---- calls ------------------------------------------------------------------------------

  private args(n: SyntaxNode | null, sc: Scope): Args {
    const out: Args = { pos: [], kw: new Map(), nodes: [] };
    if (!n) return out;
    if (n.type === 'generator_expression') { out.pos.push(this.ev(n, sc)); out.nodes.push(n); return out; }
    for (const a of n.namedChildren) {
      if (!a) continue;
      if (a.type === 'keyword_argument') {
        const k = a.childForFieldName('name')?.text;
        if (k) out.kw.set(k, this.ev(a.childForFieldName('value')!, sc));
      } else if (a.type === 'list_splat') {
        const v = this.ev(a.namedChild(0)!, sc);
        if (v.t === 'list') {
          out.pos.push(...v.items);
          if (v.tail) { out.pos.push({ t: 'list', items: [], tail: v.tail }); }
        } else out.pos.push({ t: 'list', items: [], tail: UNKNOWN });
        out.nodes.push(a);
      } else if (a.type === 'dictionary_splat') {
        const v = this.ev(a.namedChild(0)!, sc);
        if (v.t === 'dict') for (const [k, x] of v.entries) out.kw.set(k, x);
      } else if (a.type !== 'comment') {
        out.pos.push(this.ev(a, sc));
        out.nodes.push(a);
      }
    }
    return out;
  }

  private call(n: SyntaxNode, sc: Scope): Val {
    const fnNode = n.childForFieldName('function')!;
    const callee = this.ev(fnNode, sc);
    const args = this.args(n.childForFieldName('arguments'), sc);
    const v = this.apply(callee, args, n, sc);
    return v;
  }

  apply(callee: Val, args: Args, n: SyntaxNode, sc: Scope): Val {
    switch (callee.t) {
      case 'lib': return this.callLib(callee.name, args, n);
      case 'class': return this.instantiate(callee.cls, args, n);
      case 'func': {
        const r = this.callFunc(callee.fn, callee.self, args);
        // A helper that returns modules (`conv3x3(...)`, `self._make_layer(...)`): its call
        // creates them too, so the line of the call maps to them.
        for (const m of modulesOf(r).items) if ((m.framework === 'pytorch' || m.kerasHolder) && !m.sites.some((s) => s.line === n.startPosition.row)) m.sites.push(siteOf(n));
        return r;
      }
      case 'method': return this.callMethod(callee.name, callee.obj, args, n);
      case 'super': return UNKNOWN;
      // A Keras layer or model called on tensors (the functional API): its output came through it.
      // A PyTorch module's forward makes nothing.
      case 'mod': return callee.node.framework === 'keras' ? this.kerasCall(callee.node, args) : UNKNOWN;
      default: return UNKNOWN;
    }
  }

  private callLib(name: string, a: Args, n: SyntaxNode): Val {
    const k = classify(name);
    if (k.kind !== 'builtin' && k.kind !== 'not-a-layer') this.effects++;
    switch (k.kind) {
      case 'builtin': return this.builtin(k.name, a);
      // tf.concat([a, b]), tf.nn.relu(x): a tensor through the layers its inputs came through.
      case 'not-a-layer': return tensorThrough([...a.pos, ...a.kw.values()]) ?? UNKNOWN;
      case 'container': {
        // nn.Sequential(*layers) only gathers modules made elsewhere; nn.Sequential(conv, bn) made inline maps here too.
        const inline = a.nodes.some((x) => x.type !== 'identifier' && x.type !== 'list_splat' && x.type !== 'attribute');
        const node = newNode(k.container, 'pytorch', inline ? siteOf(n) : undefined, { born: this.uncertain });
        this.made.push(node);
        this.fillContainer(node, k.container, a);
        return { t: 'mod', node };
      }
      case 'keras-input': return { t: 'tensor', via: [] };
      case 'keras-sequential': {
        // keras.Sequential([...]) made inline maps to its layers, as nn.Sequential(...) does.
        const inline = a.nodes.some((x) => x.type !== 'identifier' && x.type !== 'list_splat' && x.type !== 'attribute');
        const node = newNode('Sequential', 'keras', inline ? siteOf(n) : undefined, { born: this.uncertain, kerasHolder: true });
        const given = a.kw.get('layers') ?? a.pos[0];
        if (given) {
          const { items, tail } = modulesOf(given);
          for (const m of items) setChild(node, String(node.children.length), m);
          if (tail) this.holdWild(node, tail);
        }
        // Named after its layers: their constructors ran first.
        node.kerasName = this.kerasNameOf(a, 'Sequential');
        this.kerasLayers.push(node);
        return { t: 'mod', node };
      }
      case 'keras-functional': {
        // keras.Model(inputs, outputs): its layers are those the outputs came through.
        const node = newNode('Functional', 'keras', siteOf(n), { born: this.uncertain, kerasHolder: true });
        for (const l of viaOf(a.kw.get('outputs') ?? a.pos[1] ?? UNKNOWN)) setChild(node, `${l.kerasName ?? ''}#${node.children.length}`, l);
        const given = a.kw.get('name');
        node.kerasName = given?.t === 'str' ? given.v : this.kerasDefaultName(k.defaultName);
        this.kerasLayers.push(node);
        return { t: 'mod', node };
      }
      case 'module': {
        const site = siteOf(n);
        const node = newNode(k.cls, k.framework, site, { opaque: true, paramless: k.paramless });
        if (k.framework === 'keras') {
          const given = a.kw.get('name');
          node.kerasName = given?.t === 'str' ? given.v : this.kerasDefaultName(k.cls);
          this.kerasLayers.push(node);
        }
        return { t: 'mod', node };
      }
    }
  }

  /** `name=` when given, else the default name of the class. */
  private kerasNameOf(a: Args, cls: string): string {
    const given = a.kw.get('name');
    return given?.t === 'str' ? given.v : this.kerasDefaultName(cls);
  }

  /** A Keras layer or model called on tensors: the output tensor, through the inputs' layers and this one. */
  private kerasCall(layer: ModNode, a: Args): Val {
    const via = new Set<ModNode>();
    for (const v of [...a.pos, ...a.kw.values()]) for (const l of viaOf(v)) via.add(l);
    via.add(layer);
    return { t: 'tensor', via: [...via] };
  }

  /** Layers held by a Keras model or layer in a loop of unknown count. */
  private holdWild(holder: ModNode, m: ModNode): void {
    holder.wild.push({ min: holder.children.length, node: m });
    m.parented = true;
    if (m.framework === 'keras') m.kerasParent = holder;
  }

  private kerasDefaultName(cls: string): string {
    const base = kerasSnake(cls);
    const i = this.kerasCount.get(base) ?? 0;
    this.kerasCount.set(base, i + 1);
    return i === 0 ? base : `${base}_${i}`;
  }

  /** nn.Sequential / ModuleList / ModuleDict children from the constructor's arguments. */
  private fillContainer(node: ModNode, kind: string, a: Args): void {
    const addList = (v: Val) => {
      const { items, tail } = modulesOf(v);
      for (const m of items) setChild(node, String(node.children.length), m);
      if (tail) node.wild.push({ min: node.children.length, node: tail });
    };
    if (kind === 'ModuleDict') {
      const d = a.pos[0];
      if (d?.t === 'dict') for (const [k, v] of d.entries) if (v.t === 'mod') setChild(node, k, v.node);
      if (d?.t === 'list') for (const pair of d.items) if (pair.t === 'list' && pair.items[0]?.t === 'str' && pair.items[1]?.t === 'mod') setChild(node, pair.items[0].v, pair.items[1].node);
      return;
    }
    if (kind === 'ModuleList') { if (a.pos[0]) addList(a.pos[0]); return; }
    // Sequential: an OrderedDict names the children, else they are numbered.
    if (a.pos.length === 1 && a.pos[0].t === 'dict') {
      for (const [k, v] of a.pos[0].entries) if (v.t === 'mod') setChild(node, k, v.node);
      return;
    }
    for (const v of a.pos) {
      if (v.t === 'mod') setChild(node, String(node.children.length), v.node);
      else if (v.t === 'list') addList(v);
    }
  }

  private builtin(name: string, a: Args): Val {
    const [x, y, z] = a.pos;
    switch (name) {
      case 'range': {
        const nums = a.pos.map((v) => (v.t === 'num' ? v.v : NaN));
        if (nums.some(Number.isNaN) || nums.length === 0) return { t: 'list', items: [], tail: UNKNOWN, born: this.uncertain };
        const [start, stop, st] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
        if (!st || Math.abs((stop - start) / st) > MAX_LIST) return { t: 'list', items: [], tail: UNKNOWN, born: this.uncertain };
        const items: Val[] = [];
        for (let i = start; st > 0 ? i < stop : i > stop; i += st) items.push(num(i));
        return list(items, this.uncertain);
      }
      case 'len':
        if (x?.t === 'list' && !x.tail) return num(x.items.length);
        if (x?.t === 'dict') return num(x.entries.size);
        if (x?.t === 'str') return num(x.v.length);
        if (x?.t === 'mod' && x.node.wild.length === 0) return num(x.node.children.length);
        return UNKNOWN;
      case 'list': case 'tuple': case 'sorted': case 'reversed':
        if (!x) return list([], this.uncertain);
        if (x.t === 'list') return { t: 'list', items: name === 'reversed' ? [...x.items].reverse() : [...x.items], tail: x.tail, born: this.uncertain };
        if (x.t === 'dict') return list([...x.entries.keys()].map(str), this.uncertain);
        return { t: 'list', items: [], tail: UNKNOWN, born: this.uncertain };
      case 'enumerate': {
        if (x?.t !== 'list') return { t: 'list', items: [], tail: UNKNOWN, born: this.uncertain };
        const off = y?.t === 'num' ? y.v : 0;
        return { t: 'list', items: x.items.map((v, i) => list([num(i + off), v], this.uncertain)), tail: x.tail ? list([UNKNOWN, x.tail], this.uncertain) : undefined, born: this.uncertain };
      }
      case 'zip': {
        const ls = a.pos;
        if (!ls.length || ls.some((l) => l.t !== 'list')) return { t: 'list', items: [], tail: UNKNOWN, born: this.uncertain };
        const lists = ls as (Val & { t: 'list' })[];
        const len = Math.min(...lists.map((l) => l.items.length));
        const tail = lists.every((l) => l.tail);
        return { t: 'list', items: Array.from({ length: len }, (_, i) => list(lists.map((l) => l.items[i]), this.uncertain)), tail: tail ? UNKNOWN : undefined, born: this.uncertain };
      }
      case 'int': return x?.t === 'num' ? num(Math.trunc(x.v)) : x?.t === 'str' && /^-?\d+$/.test(x.v) ? num(Number(x.v)) : UNKNOWN;
      case 'float': return x?.t === 'num' ? x : UNKNOWN;
      case 'str': return x?.t === 'num' || x?.t === 'str' ? str(String(x.v)) : UNKNOWN;
      case 'abs': return x?.t === 'num' ? num(Math.abs(x.v)) : UNKNOWN;
      case 'round': return x?.t === 'num' ? num(Math.round(x.v)) : UNKNOWN;
      case 'min': case 'max': {
        const vs = a.pos.length === 1 && x.t === 'list' ? x.items : a.pos;
        if (!vs.length || vs.some((v) => v.t !== 'num')) return UNKNOWN;
        const ns = vs.map((v) => (v as { v: number }).v);
        return num(name === 'min' ? Math.min(...ns) : Math.max(...ns));
      }
      case 'sum': return x?.t === 'list' && !x.tail && x.items.every((v) => v.t === 'num') ? num(x.items.reduce((s, v) => s + (v as { v: number }).v, 0)) : UNKNOWN;
      case 'OrderedDict': case 'dict': {
        const entries = new Map<string, Val>();
        if (x?.t === 'list') for (const p of x.items) if (p.t === 'list' && (p.items[0]?.t === 'str' || p.items[0]?.t === 'num')) entries.set(String(p.items[0].v), p.items[1] ?? UNKNOWN);
        if (x?.t === 'dict') for (const [k, v] of x.entries) entries.set(k, v);
        for (const [k, v] of a.kw) entries.set(k, v);
        return { t: 'dict', entries };
      }
      case 'setattr':
        if (x?.t === 'mod' && y?.t === 'str' && z) this.register(x.node, y.v, z, this.currentSite ?? { line: 0, column: 0 });
        return NONE;
      case 'getattr': return x && y?.t === 'str' ? this.getAttr(x, y.v) : UNKNOWN;
      case 'super': {
        const self = this.frames[this.frames.length - 1];
        return self ? { t: 'super', self: self.self, cls: self.cls } : UNKNOWN;
      }
      default: return UNKNOWN;
    }
  }

  private currentSite: Site | undefined;
  /** The method frames on the stack: `super()` needs the class and the instance. */
  private readonly frames: { self: Val; cls: ClassDef | undefined }[] = [];

  private callMethod(name: string, obj: Val, a: Args, n: SyntaxNode): Val {
    const [x, y] = a.pos;
    if (obj.t === 'list') {
      if (name === 'append' && x) this.append(obj, x);
      else if (name === 'extend' && x) this.extend(obj, x);
      else if (name === 'insert' && y) { this.effects++; if (x.t === 'num' && !obj.tail) obj.items.splice(x.v, 0, y); else obj.tail = y; }
      else if (name === 'copy') return { ...obj, items: [...obj.items] };
      return NONE;
    }
    if (obj.t === 'dict') {
      if (name === 'items') return list([...obj.entries].map(([k, v]) => list([str(k), v], this.uncertain)), this.uncertain);
      if (name === 'keys') return list([...obj.entries.keys()].map(str), this.uncertain);
      if (name === 'values') return list([...obj.entries.values()], this.uncertain);
      if (name === 'get') return x?.t === 'str' ? obj.entries.get(x.v) ?? y ?? NONE : UNKNOWN;
      if (name === 'update' && x?.t === 'dict') { this.effects++; for (const [k, v] of x.entries) obj.entries.set(k, v); }
      return UNKNOWN;
    }
    if (obj.t === 'tensor') return tensorThrough([obj, ...a.pos]) ?? UNKNOWN; // x.reshape(...)
    if (obj.t === 'str') {
      if (name === 'format') return UNKNOWN;
      return UNKNOWN;
    }
    if (obj.t !== 'mod') return UNKNOWN;
    const node = obj.node, site = siteOf(n);
    // super().__init__(...) of a library container: `class Block(nn.Sequential)` passes its children up.
    const base = /^(.*)\.__init__$/.exec(name)?.[1];
    // Calls that build or change the module (not forward passes, .eval(), .to(device)).
    if (base || /^(append|add|extend|add_module|register_module|register_parameter)$/.test(name)) this.effects++;
    if (base) {
      const k = classify(base);
      if (k.kind === 'container') this.fillContainer(node, k.container, a);
      // A Keras model or layer of the user's takes its name here (Layer.__init__): `name=`, else the class's.
      if (node.framework === 'keras' && node.userClass && !node.kerasName) node.kerasName = this.kerasNameOf(a, node.userClass.name);
      return NONE;
    }
    switch (name) {
      case 'append': case 'add': {
        if (x?.t !== 'mod') return NONE;
        if (this.uncertain > (node.born ?? 0) || node.wild.length) this.holdWild(node, x.node);
        else setChild(node, String(node.children.length), x.node);
        if (node.framework === 'keras' || x.node.framework === 'keras') node.framework = 'keras';
        return NONE;
      }
      case 'extend': {
        const { items, tail } = modulesOf(x ?? UNKNOWN);
        for (const m of items) this.callMethod('append', obj, { pos: [{ t: 'mod', node: m }], kw: new Map(), nodes: [] }, n);
        if (tail) node.wild.push({ min: node.children.length, node: tail });
        return NONE;
      }
      case 'add_module': case 'register_module':
        if (y?.t === 'mod') {
          if (x?.t === 'str') this.register(node, x.v, y, site);
          else { y.node.sites.push(site); node.wild.push({ min: -1, node: y.node }); }
        }
        return NONE;
      case 'register_parameter':
        if (x?.t === 'str') this.register(node, x.v, { t: 'mod', node: newNode('Parameter', 'pytorch', site, { opaque: true }) }, site);
        return NONE;
      default: {
        return UNKNOWN;
      }
    }
  }

  private instantiate(c: ClassDef, a: Args, n: SyntaxNode | undefined): Val {
    this.effects++;
    const node = newNode(c.name, c.framework ?? 'pytorch', n ? siteOf(n) : undefined, { userClass: c, born: this.uncertain });
    this.made.push(node);
    const self: Val = { t: 'mod', node };
    const init = this.classAttr(c, '__init__');
    if (init?.t === 'func') this.callFunc(init.fn, self, a, c);
    else {
      // No __init__ of the user's: a library base's (a Sequential subclass gets its children).
      const lib = c.bases.find((b) => b.t === 'lib');
      if (lib?.t === 'lib') this.callMethod(`${lib.name}.__init__`, self, a, n ?? (c.node as SyntaxNode));
    }
    if (node.framework === 'keras') {
      node.kerasHolder = true;
      node.kerasName ??= this.kerasNameOf(a, c.name);
      this.kerasLayers.push(node);
    }
    return self;
  }

  /** The class that defines `fn` (for super() inside it). */
  private ownerOf(fn: FuncDef, self: Val | undefined, hint: ClassDef | undefined): ClassDef | undefined {
    if (self?.t !== 'mod' || !self.node.userClass) return hint;
    const fnNode = fn.node as SyntaxNode;
    const walk = (c: ClassDef, d: number): ClassDef | undefined => {
      const own = c.attrs.get(fn.name) as SyntaxNode | undefined;
      if (own && own.id === fnNode.id) return c;
      if (d > 20) return undefined;
      for (const b of c.bases) if (b.t === 'class') { const r = walk(b.cls, d + 1); if (r) return r; }
      return undefined;
    };
    return walk(self.node.userClass, 0) ?? hint;
  }

  callFunc(fn: FuncDef, self: Val | undefined, a: Args, cls?: ClassDef): Val {
    if (this.depth >= MAX_DEPTH) return UNKNOWN;
    const node = fn.node as SyntaxNode;
    const sc: Scope = { vars: new Map(), parent: fn.closure ?? this.mod.globals };
    const params = node.childForFieldName('parameters')?.namedChildren ?? [];
    const pos = self ? [self, ...a.pos] : [...a.pos];
    let i = 0;
    for (const p of params) {
      if (!p) continue;
      if (p.type === 'identifier' || p.type === 'typed_parameter') {
        const name = p.type === 'identifier' ? p.text : p.namedChild(0)?.text;
        if (!name) continue;
        if (p.type === 'typed_parameter' && p.namedChild(0)?.type !== 'identifier') { sc.vars.set(name.replace(/^\*+/, ''), UNKNOWN); continue; }
        sc.vars.set(name, i < pos.length ? pos[i++] : a.kw.get(name) ?? UNKNOWN);
      } else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') {
        const name = p.childForFieldName('name')?.text;
        if (!name) continue;
        const given = i < pos.length ? pos[i++] : a.kw.get(name);
        sc.vars.set(name, given ?? this.ev(p.childForFieldName('value')!, fn.closure ?? this.mod.globals));
      } else if (p.type === 'list_splat_pattern') {
        const name = p.namedChild(0)?.text;
        if (name) sc.vars.set(name, list(pos.slice(i), this.uncertain));
        i = pos.length;
      } else if (p.type === 'dictionary_splat_pattern') {
        const name = p.namedChild(0)?.text;
        if (name) sc.vars.set(name, { t: 'dict', entries: new Map(a.kw) });
      }
    }
    this.depth++;
    this.frames.push({ self: self ?? UNKNOWN, cls: this.ownerOf(fn, self, cls) });
    const outerPending = this.pendingReturn;
    this.pendingReturn = undefined;
    try {
      const body = node.childForFieldName('body');
      const sig = this.execBlock(body, sc);
      if (sig && typeof sig === 'object') return sig.ret;
      return this.pendingReturn ?? NONE;
    } finally {
      this.pendingReturn = outerPending;
      this.frames.pop();
      this.depth--;
    }
  }

  /** A bare instance of a user class (constructor arguments unknown, defaults used). */
  instantiateBare(c: ClassDef): Val {
    return this.instantiate(c, { pos: [], kw: new Map(), nodes: [] }, undefined);
  }
}

/** The layers a Keras tensor (or the tensors of a list or dict) came through. */
function viaOf(v: Val): ModNode[] {
  return gather(v, (x) => (x.t === 'tensor' ? x.via : undefined));
}

/** A Keras tensor computed from others (an op, not a layer): through all their layers; undefined when no value is a tensor. */
function tensorThrough(vs: Val[]): Val | undefined {
  const via = new Set<ModNode>();
  for (const v of vs) for (const l of viaOf(v)) via.add(l);
  return via.size || vs.some((v) => v.t === 'tensor') ? { t: 'tensor', via: [...via] } : undefined;
}

/** The modules in a value and the lists and dicts in it (a Keras model tracks those it holds in attributes). */
export function heldIn(v: Val): ModNode[] {
  return gather(v, (x) => (x.t === 'mod' ? [x.node] : undefined));
}

/** `leaf` of every value in `v`, through lists and dicts (each walked once: a list may hold itself). */
function gather(v: Val, leaf: (x: Val) => ModNode[] | undefined): ModNode[] {
  const out: ModNode[] = [];
  const seen = new Set<Val>();
  const walk = (x: Val): void => {
    const got = leaf(x);
    if (got) { out.push(...got); return; }
    if (seen.has(x) || seen.size > MAX_LIST) return;
    seen.add(x);
    if (x.t === 'list') { for (const y of x.items) walk(y); if (x.tail) walk(x.tail); }
    else if (x.t === 'dict') for (const y of x.entries.values()) walk(y);
  };
  walk(v);
  return out;
}
