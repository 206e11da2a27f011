// The chart of a large network, without the DOM: tens of thousands of layers grouped by their
// names' hierarchy (blocks `layers.12.*`, expert groups `…experts.0–15.*`) into at most a few
// hundred bars, each with the min / median / max of its layers and its verdict mix. Groups are
// runs of layers in network order, so a bar stands for one stretch of the network's depth.
import type { LayerReport, Verdict } from '../../src/protocol';

/** A report with more layers than this (in the range shown) gets grouped bars; fewer keep one bar per layer. */
export const MAX_BARS = 300;
/** Fewer groups than this at one depth: the largest groups are opened further. */
const MIN_BARS = 40;
/** Siblings beyond this many (256 experts) are put in numbered ranges. */
const MAX_SIBLINGS = 64;
/** How many ranges such siblings are put in, at most. */
const MAX_RANGES = 16;

/** A stretch of layers in network order: [start, end) of the ordered layer list. */
export interface DepthGroup {
  /** The name prefix the layers share (`layers.12.*`), or the layer's name for a group of one. */
  label: string;
  start: number;
  end: number;
}

/** Each layer name cut at its dots, once per report. */
export function nameSegments(names: readonly string[]): string[][] {
  return names.map((n) => n.split('.'));
}

function commonDepth(segs: readonly string[][], start: number, end: number): number {
  const first = segs[start];
  let d = first.length;
  for (let i = start + 1; i < end && d > 0; i++) {
    const s = segs[i];
    let k = 0;
    while (k < d && k < s.length && s[k] === first[k]) k++;
    d = k;
  }
  return d;
}

function groupOf(segs: readonly string[][], start: number, end: number): DepthGroup {
  if (end - start === 1) return { label: segs[start].join('.'), start, end };
  const d = commonDepth(segs, start, end);
  return { label: d ? `${segs[start].slice(0, d).join('.')}.*` : '*', start, end };
}

/**
 * The groups one level down: the layers of [start, end) split where the first name segment
 * they do not share changes. Many siblings (experts 0…255) are put in at most 16 numbered
 * ranges (`experts.0–15.*`).
 */
export function childGroups(segs: readonly string[][], start: number, end: number): DepthGroup[] {
  if (end - start <= 1) return [groupOf(segs, start, end)];
  const d = commonDepth(segs, start, end);
  const runs: { key: string; start: number; end: number }[] = [];
  for (let i = start; i < end; i++) {
    const key = segs[i][d] ?? '';
    const last = runs[runs.length - 1];
    if (last && last.key === key) last.end = i + 1;
    else runs.push({ key, start: i, end: i + 1 });
  }
  if (runs.length <= MAX_SIBLINGS) return runs.map((r) => groupOf(segs, r.start, r.end));
  // A round range size: 256 experts in 16 ranges of 16.
  let size = 2;
  while (Math.ceil(runs.length / size) > MAX_RANGES) size *= 2;
  const prefix = segs[start].slice(0, d).join('.');
  const out: DepthGroup[] = [];
  for (let i = 0; i < runs.length; i += size) {
    const part = runs.slice(i, i + size);
    const a = part[0], b = part[part.length - 1];
    out.push({ label: `${prefix ? `${prefix}.` : ''}${a.key}–${b.key}.*`, start: a.start, end: b.end });
  }
  return out;
}

/**
 * At most `maxBars` groups covering [start, end): each level of the names' hierarchy opened
 * while the whole level fits (every block, then every part of every block, …), so bars stay
 * comparable; when a level leaves fewer than 40, the largest groups are opened one by one.
 */
export function depthGroups(segs: readonly string[][], start: number, end: number, maxBars = MAX_BARS): DepthGroup[] {
  let groups: DepthGroup[] = [{ label: '*', start, end }];
  for (;;) {
    const next = groups.flatMap((g) => (g.end - g.start > 1 ? childGroups(segs, g.start, g.end) : [g]));
    if (next.length > maxBars || next.length === groups.length) break;
    groups = next;
  }
  while (groups.length < MIN_BARS) {
    let best = -1;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (g.end - g.start > 1 && (best < 0 || g.end - g.start > groups[best].end - groups[best].start)) best = i;
    }
    if (best < 0) break;
    const kids = childGroups(segs, groups[best].start, groups[best].end);
    if (kids.length < 2 || groups.length - 1 + kids.length > maxBars) break;
    groups = [...groups.slice(0, best), ...kids, ...groups.slice(best + 1)];
  }
  return groups;
}

export interface GroupStats {
  layers: number;
  /** Over the layers with a value (kernel metric); null when none has one. */
  min: number | null;
  median: number | null;
  max: number | null;
  counts: Partial<Record<Verdict, number>>;
  /** The most frequent verdict (the bar's colour). */
  major: Verdict;
}

/** Min, median and max of the metric and the verdict counts of a group's layers. */
export function groupStats(layers: readonly LayerReport[], g: DepthGroup, value: (l: LayerReport) => number | null): GroupStats {
  const vals: number[] = [];
  const counts: Partial<Record<Verdict, number>> = {};
  for (let i = g.start; i < g.end; i++) {
    const l = layers[i];
    const v = value(l);
    if (v !== null && Number.isFinite(v)) vals.push(v);
    counts[l.verdict] = (counts[l.verdict] ?? 0) + 1;
  }
  vals.sort((a, b) => a - b);
  const m = vals.length >> 1;
  const median = vals.length === 0 ? null : vals.length % 2 ? vals[m] : (vals[m - 1] + vals[m]) / 2;
  let major = layers[g.start].verdict;
  for (const [v, c] of Object.entries(counts) as [Verdict, number][]) if (c > (counts[major] ?? 0)) major = v;
  return { layers: g.end - g.start, min: vals.length ? vals[0] : null, median, max: vals.length ? vals[vals.length - 1] : null, counts, major };
}

/** The group (index) that holds layer position `at`, or -1. */
export function groupAt(groups: readonly DepthGroup[], at: number): number {
  let lo = 0, hi = groups.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (at < groups[mid].start) hi = mid - 1;
    else if (at >= groups[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}
