// Number formatting shared by the chart, the table and the detail pane, so the same metric
// reads the same everywhere.

/** A metric in at most 4 significant digits; tiny and huge values in exponent form; null as an em dash. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
  return Number(x.toPrecision(4)).toString();
}

/** A parameter count: 1 234 -> "1.2k", 3 400 000 -> "3.4M". */
export function fmtCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}B`;
}

export function fmtShape(shape: number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/** Last path component, for headers (the full path goes in the tooltip). */
export function baseName(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? path : path.slice(cut + 1);
}
