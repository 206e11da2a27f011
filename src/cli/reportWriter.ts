// Writes a compare's --json report while the engine judges it: the head first, each layer as
// it comes (engine.ts LayerSink), then the rest. The text is the same, byte for byte, as
// toJsonText of the whole report, but a 100,000-layer report is never held whole, neither as
// objects nor as text.
import type { LayerSink } from '../core/analysis/engine';
import type { Report } from '../core/shared/reportTypes';
import { text } from './jsonText';

/** Text is handed to `write` in pieces of about this many characters. */
const PIECE_CHARS = 1 << 16;

export class JsonReportWriter implements LayerSink {
  private out = '';
  private layers = 0;
  private written = new Set<string>();

  /** `write` resolves when the piece may be followed by the next (stdout drained). */
  constructor(private readonly write: (piece: string) => void | Promise<void>) {}

  head(head: Record<string, unknown>): void {
    this.out = '{';
    for (const [key, value] of Object.entries(head)) {
      if (value === undefined) continue;
      this.out += `\n  ${JSON.stringify(key)}: ${text(value, '  ')},`;
      this.written.add(key);
    }
    this.out += '\n  "layers": [';
    this.written.add('layers');
  }

  layer(layer: Report['layers'][number]): void | Promise<void> {
    this.out += (this.layers++ === 0 ? '\n    ' : ',\n    ') + text(layer, '    ');
    if (this.out.length >= PIECE_CHARS) { const piece = this.out; this.out = ''; return this.write(piece); }
  }

  /** The keys of the finished report not written yet (its summary, unmatched names, warnings). */
  async end(report: Report): Promise<void> {
    this.out += this.layers === 0 ? ']' : '\n  ]';
    for (const [key, value] of Object.entries(report)) {
      if (this.written.has(key) || value === undefined) continue;
      this.out += `,\n  ${JSON.stringify(key)}: ${text(value, '  ')}`;
    }
    this.out += '\n}\n';
    const piece = this.out;
    this.out = '';
    await this.write(piece);
  }
}
