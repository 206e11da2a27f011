// Which rows of a long table to put in the DOM. Rows have one fixed height, so the window
// is arithmetic: a 500-layer (or 50 000-row) table costs the same few dozen DOM rows.

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  rowCount: number;
  /** Extra rows drawn above and below, so fast scrolling does not show blank space. */
  overscan?: number;
}

export interface RowWindow {
  /** First row drawn (inclusive). */
  start: number;
  /** Row after the last drawn (exclusive). */
  end: number;
  /** Height of the spacer above the drawn rows. */
  padTop: number;
  /** Height of the spacer below the drawn rows. */
  padBottom: number;
  totalHeight: number;
}

export function visibleWindow({ scrollTop, viewportHeight, rowHeight, rowCount, overscan = 8 }: WindowInput): RowWindow {
  const h = Math.max(1, rowHeight);
  const totalHeight = rowCount * h;
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, totalHeight - viewportHeight));
  const first = Math.floor(top / h);
  const visible = Math.ceil(Math.max(0, viewportHeight) / h) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(rowCount, first + visible + overscan);
  return { start, end: Math.max(start, end), padTop: start * h, padBottom: (rowCount - Math.max(start, end)) * h, totalHeight };
}

/** The scrollTop that brings row `index` into view, or the current one when it already is. */
export function scrollToRow(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = index * rowHeight, bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return bottom - viewportHeight;
  return scrollTop;
}
