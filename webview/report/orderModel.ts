// Which network order the report used, as the header says it: the table's order, the "first N
// kernel layers transfer" split point and the reuse plan all follow it, so a user who sees a
// surprising split point can tell whether the order came from the file or was inferred.
import type { Report } from '../../src/protocol';
import type { NetworkOrder } from '../../src/core/shared/reportTypes';
import { ORDER_WORDS } from '../../src/core/shared/orderWords';

const EXPLAIN: Record<NetworkOrder, string> = {
  stored: 'stored: the order the tensors are written in the file (a PyTorch state dict keeps the order its modules were created in)',
  declared: 'declared: the file\'s own layer list or graph (Keras config, TF.js/ONNX/TFLite graph nodes)',
  paired: 'paired: this file records no order (safetensors are stored sorted by dtype and name), so the other checkpoint\'s order is used, matching layers by name',
  names: 'names: no file records an order, so layer names are sorted numeric-aware (features.3 before features.12), a module\'s children before the next module',
};

/** The header's line on network order, with its tooltip; null for reports written before orders were recorded. */
export function networkOrderLine(report: Report): { text: string; title: string } | null {
  const s = report.source.order, t = report.target.order;
  if (!s || !t) return null;
  const text = s === t ? `Network order: both from ${ORDER_WORDS[s]}` : `Network order: source from ${ORDER_WORDS[s]}; target from ${ORDER_WORDS[t]}`;
  const used = [...new Set([s, t])].map((o) => EXPLAIN[o]);
  return {
    text,
    title: ['Layers are listed, the "first N kernel layers transfer" split point is found and the reuse plan is written in network order.', ...used].join('\n'),
  };
}
