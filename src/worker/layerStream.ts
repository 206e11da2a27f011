// The layers of an analysis go to the host as the engine judges them (engine.ts LayerSink), a
// batch per notification, instead of one answer holding the whole report: at 100,000 layers the
// worker would hold the report as objects, as JSON text and as bytes in the pipe at once.
import type { LayerSink } from './engineBridge';
import type { LayerReport } from '../core/shared/reportTypes';
import { GridBudget } from './gridBudget';

/** Layers per notification: ~0.7 MB of JSON for plain layers, few messages for a big report. */
export const LAYERS_PER_MESSAGE = 1000;

export class LayerStream implements LayerSink {
  private batch: LayerReport[] = [];
  /** Layers handed to `send` so far. */
  count = 0;

  /** `send` resolves when the batch has left this process (back-pressure). */
  constructor(private readonly send: (from: number, layers: LayerReport[]) => Promise<void>, readonly grids: GridBudget) {}

  head(): void { /* the head goes with the answer */ }

  layer(layer: LayerReport): void | Promise<void> {
    this.batch.push(this.grids.take(layer));
    if (this.batch.length >= LAYERS_PER_MESSAGE) return this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const layers = this.batch, from = this.count;
    this.batch = [];
    this.count += layers.length;
    await this.send(from, layers);
  }
}
