// Children of a tree item shown a page at a time: a checkpoint of 50,000 layers, or a report
// of as many, would otherwise make VS Code build 50,000 tree rows the moment it is expanded.
// The last row of a page is "Show more…", which shows the next page. Pure, tested without VS Code.

/** Rows shown at first, and added by each "Show more…". */
export const PAGE_SIZE = 500;

export interface Page<T> {
  items: T[];
  /** How many are not shown yet (0: none, no "Show more…" row). */
  more: number;
}

/** The first `shown` of `all` (at least one page). */
export function pageOf<T>(all: readonly T[], shown = PAGE_SIZE): Page<T> {
  const n = Math.max(PAGE_SIZE, shown);
  return all.length <= n ? { items: [...all], more: 0 } : { items: all.slice(0, n), more: all.length - n };
}

/** The label and description of the "Show more…" row. */
export function moreLabel(more: number): { label: string; description: string } {
  const next = Math.min(more, PAGE_SIZE);
  return { label: 'Show more…', description: `next ${next.toLocaleString('en-US')} of ${more.toLocaleString('en-US')} more` };
}

/** How many rows each parent shows; "Show more…" adds a page. */
export class PageSizes {
  private readonly shown = new Map<string, number>();
  get(key: string): number { return this.shown.get(key) ?? PAGE_SIZE; }
  more(key: string): void { this.shown.set(key, this.get(key) + PAGE_SIZE); }
  clear(): void { this.shown.clear(); }
}
