// Big conv layers make big filter grids (out x in numbers each: 1M for a 2048x512 conv). Sent
// whole, a report could be hundreds of MB of JSON, and parsing it would freeze the extension
// host. So the answer to `analyze` keeps grids only while their total is small; the rest stay
// in the worker and are fetched one layer at a time (`filterGrids`).
import type { Report } from '../core/shared/reportTypes';

export const DEFAULT_MAX_GRID_VALUES = 200_000;

export function gridValueCount(report: Report): number {
  let n = 0;
  for (const l of report.layers) for (const p of l.params) if (p.filterGrid) n += p.filterGrid.values.length;
  return n;
}

/** A copy of `report` without filter grids when they hold more than `maxValues` numbers in total. */
export function stripLargeGrids(report: Report, maxValues = DEFAULT_MAX_GRID_VALUES): { report: Report; omitted: string[] } {
  if (gridValueCount(report) <= maxValues) return { report, omitted: [] };
  const omitted: string[] = [];
  const layers = report.layers.map((l) => {
    if (!l.params.some((p) => p.filterGrid)) return l;
    omitted.push(l.name);
    return { ...l, params: l.params.map((p) => {
      if (!p.filterGrid) return p;
      const { filterGrid: _dropped, ...rest } = p;
      return rest;
    }) };
  });
  return { report: { ...report, layers }, omitted };
}

/** Keeps the last few full reports so their grids can be served later. */
export class RecentReports {
  private readonly items = new Map<string, Report>();
  constructor(private readonly capacity = 4) {}
  put(id: string, report: Report): void {
    this.items.delete(id);
    this.items.set(id, report);
    while (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string);
  }
  get(id: string): Report | undefined { return this.items.get(id); }
}
