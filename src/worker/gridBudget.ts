// Big conv layers make big filter grids (out x in numbers each: 1M for a 2048x512 conv). Sent
// whole, a report could be hundreds of MB of JSON, and parsing it would freeze the extension
// host. So grids go to the host with their layers only until a budget of values is spent; the
// rest stay in the worker and are fetched one layer at a time (`filterGrids`).
import type { FilterGridsResponse } from '../protocol';
import type { LayerReport } from '../core/shared/reportTypes';

export const DEFAULT_MAX_GRID_VALUES = 200_000;

type Grids = FilterGridsResponse['grids'];

/** One analysis's grids: which go with their layers, and the ones kept back. */
export class GridBudget {
  private sent = 0;
  /** Layer name -> its grids, for the layers sent without them. */
  readonly kept = new Map<string, Grids>();

  constructor(private readonly maxValues = DEFAULT_MAX_GRID_VALUES) {}

  /** The layer as it goes to the host: itself, or a copy without its grids once they pass the budget. */
  take(layer: LayerReport): LayerReport {
    let n = 0;
    for (const p of layer.params) if (p.filterGrid) n += p.filterGrid.values.length;
    if (n === 0) return layer;
    if (this.kept.size === 0 && this.sent + n <= this.maxValues) { this.sent += n; return layer; }
    // Once one layer's grids are kept back, so are all later ones: the host then knows a grid
    // it lacks is in the worker exactly for the layers named in gridsOmitted.
    this.kept.set(layer.name, layer.params.filter((p) => p.filterGrid).map((p) => ({ role: p.role, ...p.filterGrid! })));
    return { ...layer, params: layer.params.map((p) => {
      if (!p.filterGrid) return p;
      const { filterGrid: _kept, ...rest } = p;
      return rest;
    }) };
  }
}

/** The kept grids of the last few analyses, so the report panel can fetch them later. */
export class RecentGrids {
  private readonly items = new Map<string, Map<string, Grids>>();
  constructor(private readonly capacity = 4) {}
  put(id: string, grids: Map<string, Grids>): void {
    this.items.delete(id);
    this.items.set(id, grids);
    while (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string);
  }
  has(id: string): boolean { return this.items.has(id); }
  get(id: string, layer: string): Grids | undefined { return this.items.get(id)?.get(layer); }
}
