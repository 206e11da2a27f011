import { Checkpoint, FormatName } from '../common/types';

/** One checkpoint format. Readers parse headers/indexes only; tensor bytes are read later via TensorInfo.location. */
export interface FormatReader {
  readonly format: FormatName;
  /** Cheap content check on the first bytes (at least 64 read when the file has them) and the path. */
  sniff(head: Uint8Array, path: string): boolean;
  open(path: string): Promise<Checkpoint>;
}

/** Limits on untrusted headers, so a lying length never turns into a huge allocation. */
export const LIMITS = {
  /** Largest JSON/pickle/protobuf header we parse. */
  maxHeaderBytes: 256 * 1024 * 1024,
  maxTensors: 1_000_000,
};
