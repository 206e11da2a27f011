// Checkpoint summary webview: draws what the host sends (SummaryToWebview). Every name and
// value comes from a checkpoint a stranger may have written, so it is set as text, never HTML.
import type { SummaryToWebview, SummaryFromWebview, InspectResult, InspectTensor } from '../../src/protocol';

declare function acquireVsCodeApi(): { postMessage(m: SummaryFromWebview): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function count(n: number): string { return n.toLocaleString('en-US'); }
function bytes(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0; let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${u[i]}`;
}
function num(x: number | undefined): string {
  if (x === undefined) return '';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

function button(label: string, type: SummaryFromWebview['type']): HTMLButtonElement {
  const b = el('button', { type: 'button' }, label);
  b.addEventListener('click', () => vscode.postMessage({ type } as SummaryFromWebview));
  return b;
}

function tensorRow(t: InspectTensor, role?: string): HTMLTableRowElement {
  const s = t.stats;
  const problems = s && (s.nan > 0 || s.inf > 0) ? `${s.nan} NaN, ${s.inf} Inf` : '';
  return el('tr', {},
    el('td', { class: 'name', title: t.name }, role ? `${role}` : t.name),
    el('td', { title: t.storage ? `stored as ${t.storage}, read as ${t.dtype}` : '' }, t.storage ? `${t.dtype} (${t.storage})` : t.dtype),
    el('td', { class: 'mono' }, `[${t.shape.join(', ')}]`),
    el('td', { class: 'num' }, count(t.parameters)),
    el('td', { class: 'num' }, bytes(t.bytes)),
    el('td', { class: 'num' }, num(s?.min)), el('td', { class: 'num' }, num(s?.max)),
    el('td', { class: 'num' }, num(s?.mean)), el('td', { class: 'num' }, num(s?.std)),
    el('td', { class: 'num' }, s ? `${(s.zeros * 100).toFixed(1)}%` : ''),
    el('td', { class: problems ? 'bad' : '' }, problems),
  );
}

function tensorTable(rows: HTMLTableRowElement[]): HTMLTableElement {
  const head = ['tensor', 'dtype', 'shape', 'params', 'size', 'min', 'max', 'mean', 'std', 'zeros', 'problems'];
  return el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows));
}

function render(m: SummaryToWebview): void {
  app.replaceChildren();
  const header = el('header', {}, el('h1', {}, m.fileName), el('p', { class: 'muted path' }, m.path));
  app.append(header);
  if (m.type === 'loading') { app.append(el('p', { class: 'muted' }, 'Reading the checkpoint…')); return; }
  if (m.type === 'error') {
    app.append(el('section', { class: 'error', role: 'alert' },
      el('h2', {}, 'This checkpoint cannot be read'), el('p', {}, m.message),
      el('p', { class: 'muted' }, 'Nothing in the file was executed. The rest of the workspace is not affected.')),
      el('div', { class: 'actions' }, button('Try Again', 'reload')));
    return;
  }
  const r: InspectResult = m.result;
  header.append(el('div', { class: 'actions' },
    button('Analyze Reusability…', 'analyze'), button('Select as Reuse Source', 'selectSource'), button('Compare with Reuse Source', 'compareWithSource')));
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Format'), el('dd', {}, r.format),
    el('dt', {}, 'Parameters'), el('dd', {}, count(r.parameters)),
    el('dt', {}, 'Tensors'), el('dd', {}, count(r.tensors.length)),
    el('dt', {}, 'Layers'), el('dd', {}, count(r.layers.length)),
  );
  app.append(facts);
  if (!m.withStats) app.append(el('p', { class: m.statsError ? 'bad' : 'muted' }, m.statsError ? `Statistics unavailable: ${m.statsError}` : 'Computing statistics…'));
  if (r.warnings.length) app.append(el('section', { class: 'warning' }, el('h2', {}, 'Problems'), el('ul', {}, ...r.warnings.map((w) => el('li', {}, w)))));

  const byName = new Map(r.tensors.map((t) => [t.name, t]));
  const seen = new Set<string>();
  const layers = el('section', {}, el('h2', {}, 'Layers'));
  for (const l of r.layers) {
    const rows = l.tensors.flatMap((x) => { const t = byName.get(x.name); if (!t) return []; seen.add(t.name); return [tensorRow(t, x.role)]; });
    const d = el('details', { open: '' }, el('summary', {}, el('strong', {}, l.name || '(root)'), ` · ${l.kind} · ${count(l.parameters)} params`), tensorTable(rows));
    layers.append(d);
  }
  if (r.layers.length) app.append(layers);
  const loose = r.tensors.filter((t) => !seen.has(t.name));
  if (loose.length) app.append(el('section', {}, el('h2', {}, r.layers.length ? 'Other tensors' : 'Tensors'), tensorTable(loose.map((t) => tensorRow(t)))));
  if (r.entries.length) {
    app.append(el('section', {}, el('h2', {}, 'Non-tensor entries'),
      el('table', {}, el('tbody', {}, ...r.entries.map((e) => el('tr', {}, el('td', { class: 'name' }, e.name), el('td', {}, e.type), el('td', { class: 'mono' }, e.value)))))));
  }
  if (r.metadata && Object.keys(r.metadata).length) {
    app.append(el('section', {}, el('h2', {}, 'Metadata'),
      el('table', {}, el('tbody', {}, ...Object.entries(r.metadata).map(([k, v]) => el('tr', {}, el('td', { class: 'name' }, k), el('td', { class: 'mono' }, v.length > 500 ? v.slice(0, 500) + '…' : v)))))));
  }
}

const TYPES = new Set(['loading', 'summary', 'error']);
/** Only the host's messages of the protocol's shapes are drawn (the saved state is checked the same way). */
function isSummaryMessage(v: unknown): v is SummaryToWebview {
  const m = v as SummaryToWebview;
  if (!m || typeof m !== 'object' || !TYPES.has(m.type) || typeof m.fileName !== 'string' || typeof m.path !== 'string') return false;
  return m.type !== 'summary' || (!!m.result && Array.isArray(m.result.tensors) && Array.isArray(m.result.layers));
}
/** Summaries up to this many tensors are kept in the page's state (a huge one is asked of the host again). */
const MAX_KEPT_TENSORS = 5_000;

window.addEventListener('message', (ev: MessageEvent) => {
  const m: unknown = ev.data;
  if (!isSummaryMessage(m)) return;
  render(m);
  // Kept by VS Code while the tab is hidden (the page itself is discarded): shown at once when the
  // tab comes back, instead of an empty editor until the host answers 'ready'.
  if (m.type !== 'loading') vscode.setState(m.type === 'summary' && m.result.tensors.length > MAX_KEPT_TENSORS ? undefined : m);
});
const kept = vscode.getState();
if (isSummaryMessage(kept)) { render(kept); document.body.dataset.restored = 'true'; }
vscode.postMessage({ type: 'ready' });
