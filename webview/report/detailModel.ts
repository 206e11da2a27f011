// The numbers behind the detail pane's pictures: a histogram of per-filter RMSE, heatmap
// colours for the filter x input-channel grid, and pixels of a first-layer conv filter.
import type { FilterTensor, LayerReport, ParamReport } from '../../src/protocol';

export interface Histogram { edges: number[]; counts: number[] }

/** Equal-width bins over [min, max] of the finite values; one bin when all are equal. */
export function histogram(values: readonly number[], bins: number): Histogram {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { edges: [], counts: [] };
  let lo = Infinity, hi = -Infinity;
  for (const v of finite) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const n = hi > lo ? Math.max(1, Math.floor(bins)) : 1;
  const width = hi > lo ? (hi - lo) / n : 1;
  const counts = new Array<number>(n).fill(0);
  for (const v of finite) counts[Math.min(n - 1, Math.floor((v - lo) / width))]++;
  const edges = Array.from({ length: n + 1 }, (_, i) => (hi > lo ? lo + i * width : lo + (i - 0.5) * width));
  return { edges, counts };
}

/** A reasonable number of histogram bins for n values (Sturges, capped). */
export function binCount(n: number): number {
  return Math.max(1, Math.min(40, Math.ceil(Math.log2(Math.max(1, n)) + 1)));
}

// Viridis at 9 stops: perceptually even, readable by colour-blind users, and its ends differ
// in lightness so the heatmap reads in light, dark and high-contrast themes alike.
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** Colour of t in [0, 1] (clamped) on the viridis scale. */
export function heatColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** RGBA pixels of a rows x cols grid, one pixel per cell, scaled to the grid's own max. */
export function heatmapPixels(grid: { rows: number; cols: number; values: readonly number[] }): { pixels: Uint8ClampedArray<ArrayBuffer>; max: number } {
  let max = 0;
  for (const v of grid.values) if (Number.isFinite(v) && v > max) max = v;
  const pixels = new Uint8ClampedArray(grid.rows * grid.cols * 4);
  for (let i = 0; i < grid.rows * grid.cols; i++) {
    const [r, g, b] = heatColor(max > 0 ? grid.values[i] / max : 0);
    pixels[i * 4] = r; pixels[i * 4 + 1] = g; pixels[i * 4 + 2] = b; pixels[i * 4 + 3] = 255;
  }
  return { pixels, max };
}

/** The conv weight with per-filter data, if the layer has one. */
export function convWeight(layer: LayerReport): ParamReport | undefined {
  return layer.params.find((p) => p.role === 'weight' && p.shape.length === 4);
}

/** Whether the layer's filters can be drawn as images: a conv whose kernels see 1 (grey) or 3 (RGB) channels. */
export function canDrawFilters(layer: LayerReport): boolean {
  const w = convWeight(layer);
  return layer.kind === 'conv' && !!w && (w.shape[1] === 1 || w.shape[1] === 3) && layer.sourceName !== null && layer.targetName !== null;
}

/** Largest |value| over the tensors: one scale for source and target so their images compare. */
export function sharedScale(...tensors: (FilterTensor | null)[]): number {
  let m = 0;
  for (const t of tensors) if (t) for (const v of t.values) { const a = Math.abs(v); if (Number.isFinite(a) && a > m) m = a; }
  return m;
}

/**
 * RGBA pixels (kh x kw) of output filter `o`: 3 input channels as R, G, B; 1 channel as grey.
 * Values map from [-scale, scale] to [0, 255], so 0 is mid grey in every filter.
 */
export function filterPixels(t: FilterTensor, o: number, scale: number): Uint8ClampedArray<ArrayBuffer> {
  const [, cin, kh, kw] = t.shape;
  const px = new Uint8ClampedArray(kh * kw * 4);
  const to255 = (v: number) => (scale > 0 && Number.isFinite(v) ? Math.round(((v / scale) + 1) * 127.5) : 128);
  const base = o * cin * kh * kw;
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    const p = (y * kw + x) * 4;
    const ch = (c: number) => to255(t.values[base + (c * kh + y) * kw + x]);
    if (cin === 3) { px[p] = ch(0); px[p + 1] = ch(1); px[p + 2] = ch(2); }
    else { const g = ch(0); px[p] = g; px[p + 1] = g; px[p + 2] = g; }
    px[p + 3] = 255;
  }
  return px;
}
