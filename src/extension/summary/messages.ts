// The summary webview may only send the messages the protocol lists; anything else is dropped.
import type { SummaryFromWebview } from '../../protocol';

const TYPES = new Set<SummaryFromWebview['type']>(['ready', 'reload', 'analyze', 'selectSource', 'compareWithSource']);

export function parseSummaryMessage(m: unknown): SummaryFromWebview | undefined {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const keys = Object.keys(m);
  const type = (m as { type?: unknown }).type;
  if (keys.length !== 1 || typeof type !== 'string' || !TYPES.has(type as SummaryFromWebview['type'])) return undefined;
  return { type } as SummaryFromWebview;
}
