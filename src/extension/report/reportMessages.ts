// How the host sends a report to the panel: a small one as one message; a large one (tens of
// thousands of layers) in pieces, the first screen first, so the page shows rows while the rest
// is still on its way (VS Code JSON-serialises each message; one 50 MB message is seconds of
// serialising, copying and parsing before anything shows). Pure: the bench sends exactly these.
import type { Report, Thresholds, ToReportWebview } from '../../protocol';

/** Layers in the first message: more than a screen of table rows. */
export const FIRST_LAYERS = 200;
/** Layers in each following message (~3 MB of JSON for MoE-sized layers). */
export const CHUNK_LAYERS = 5000;

export function reportMessages(analysisId: string, report: Report, settings: Thresholds | undefined, select: string | undefined): ToReportWebview[] {
  const n = report.layers.length;
  if (n <= FIRST_LAYERS + CHUNK_LAYERS) return [{ type: 'report', analysisId, report, settings, select }];
  const out: ToReportWebview[] = [{ type: 'report', analysisId, report: { ...report, layers: report.layers.slice(0, FIRST_LAYERS) }, settings, select, pending: n - FIRST_LAYERS }];
  for (let from = FIRST_LAYERS; from < n; from += CHUNK_LAYERS) {
    out.push({ type: 'reportLayers', analysisId, from, layers: report.layers.slice(from, from + CHUNK_LAYERS) });
  }
  return out;
}
