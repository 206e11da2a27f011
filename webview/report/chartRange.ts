// A stretch of the chart's bars chosen by dragging across them, or with Shift+arrow keys on the
// focused chart, and what choosing it does: zoom into the stretch of the network from the first
// chosen bar's first layer to the last one's last (shown like a clicked group, with a breadcrumb
// step back). Pure (no DOM, no chart.js), so the report panel's chart and the tests share it.
import type { DepthGroup } from './depthGroups';

/** The bars drawn: groups of layers, or one bar per layer of [start, start + names.length) in network order. */
export type Bars = { groups: readonly DepthGroup[] } | { start: number; names: readonly string[] };

/** Bars from `anchor` (where the drag or the Shift+arrows started) to `focus`, both included. */
export interface BarRange { anchor: number; focus: number }

export function barCount(bars: Bars): number {
  return 'groups' in bars ? bars.groups.length : bars.names.length;
}

/** The chosen bars, lowest first. */
export function rangeSpan(r: BarRange): [number, number] {
  return r.anchor <= r.focus ? [r.anchor, r.focus] : [r.focus, r.anchor];
}

/** The bar under x (CSS pixels) of a category axis whose n bars share [left, right] evenly (chart.js bars). */
export function barAt(x: number, left: number, right: number, n: number): number {
  if (n <= 0 || right <= left) return 0;
  return Math.min(n - 1, Math.max(0, Math.floor(((x - left) / (right - left)) * n)));
}

/** Where bars lo..hi lie on that axis: [x0, x1] in CSS pixels, the slots' edges. */
export function barsExtent(lo: number, hi: number, left: number, right: number, n: number): [number, number] {
  const w = (right - left) / Math.max(1, n);
  return [left + lo * w, left + (hi + 1) * w];
}

export type RangeKey = 'left' | 'right' | 'home' | 'end' | 'pageLeft' | 'pageRight';

/** How far PageUp/PageDown move: a tenth of the bars, at least one. */
const pageOf = (n: number) => Math.max(1, Math.round(n / 10));

/**
 * The range after a key: the focus moves (←/→ one bar, PageUp/PageDown a tenth, Home/End to the
 * ends); with Shift (`extend`) the anchor stays, so the range grows or shrinks, else it follows
 * (one bar). No range yet: the key moves from `start` (the selected layer's bar, or 0).
 */
export function moveRange(r: BarRange | undefined, key: RangeKey, extend: boolean, n: number, start = 0): BarRange {
  const clamp = (i: number) => Math.min(Math.max(0, n - 1), Math.max(0, i));
  if (!r) { const at = clamp(start); r = { anchor: at, focus: at }; }
  const step = { left: -1, right: 1, pageLeft: -pageOf(n), pageRight: pageOf(n), home: -Infinity, end: Infinity }[key];
  const focus = clamp(Number.isFinite(step) ? r.focus + step : step < 0 ? 0 : n - 1);
  return { anchor: extend ? clamp(r.anchor) : focus, focus };
}

/** What choosing bars lo..hi does. */
export type RangeAction =
  /** Show that stretch of the network (a group, or a range of groups or layers). */
  | { kind: 'zoom'; group: DepthGroup }
  /** One layer: select it (as a click on its bar does). Its position in network order. */
  | { kind: 'select'; at: number };

/**
 * The action of choosing bars lo..hi: one bar is a click on it (a group zooms in, a layer is
 * selected); several zoom into the layers from the first bar's to the last one's. Undefined when
 * that is what the chart already shows (every bar chosen) or nothing is.
 */
export function rangeAction(bars: Bars, lo: number, hi: number): RangeAction | undefined {
  const n = barCount(bars);
  lo = Math.max(0, lo); hi = Math.min(n - 1, hi);
  if (n === 0 || hi < lo) return undefined;
  if (lo === 0 && hi === n - 1 && n > 1) return undefined;
  if ('groups' in bars) {
    const a = bars.groups[lo], b = bars.groups[hi];
    if (lo === hi) return a.end - a.start === 1 ? { kind: 'select', at: a.start } : { kind: 'zoom', group: a };
    return { kind: 'zoom', group: { label: rangeLabel(a.label, b.label), start: a.start, end: b.end } };
  }
  if (lo === hi) return { kind: 'select', at: bars.start + lo };
  return { kind: 'zoom', group: { label: rangeLabel(bars.names[lo], bars.names[hi]), start: bars.start + lo, end: bars.start + hi + 1 } };
}

/**
 * `model.layers.3.attn.proj … 7.mlp.experts.*`: the last label without the leading name parts
 * the first one already says (kept whole when it would be left empty).
 */
export function rangeLabel(first: string, last: string): string {
  const a = first.split('.'), b = last.split('.');
  let k = 0;
  while (k < a.length - 1 && k < b.length - 1 && a[k] === b[k]) k++;
  return `${first} … ${b.slice(k).join('.')}`;
}
