// How a report says where a side's network order comes from (see analysis/networkOrder.ts).
import { NetworkOrder } from './reportTypes';

export const ORDER_WORDS: Record<NetworkOrder, string> = {
  stored: 'the order the file stores them in',
  declared: 'the file\'s own layer list or graph',
  paired: 'the paired checkpoint\'s order (this file stores its tensors sorted by dtype and name)',
  names: 'names in numeric-aware order (no file records a network order)',
};
