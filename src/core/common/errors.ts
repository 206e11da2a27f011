/**
 * An error about a user's input: names the file and the problem in one line.
 * The CLI prints `message` and exits 1; the extension shows it as is.
 * Any other thrown error is a bug in Reuse Lens.
 */
export class CheckpointError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

/** Thrown when a pickle names a global outside the allow-list. Nothing was executed. */
export class UnsafePickleError extends CheckpointError {
  constructor(file: string, readonly global: string) {
    super(file, `refused to load: pickle calls ${global}, which is not a tensor type; nothing was executed`);
    this.message = `refused to load ${file}: pickle calls ${global}, which is not a tensor type; nothing was executed`;
    this.name = 'UnsafePickleError';
  }
}

/** The problem text of a checkpoint rewritten while it was read; the extension re-runs on it. */
export const CHANGED_WHILE_READING = 'changed while reading, run again';

export class CancelledError extends Error {
  constructor() { super('cancelled'); this.name = 'CancelledError'; }
}

/** Checked by long loops; the worker and CLI pass one in. */
export interface CancelToken { readonly cancelled: boolean }
export const NEVER_CANCELLED: CancelToken = { cancelled: false };
/**
 * The request's time and memory budgets, checked with every cancel check. Installed by
 * common/limits.ts when the engine loads it; this module stays free of node imports (the
 * webviews bundle it through protocol.ts).
 */
let budgetCheck: () => void = () => undefined;
export function setBudgetCheck(fn: () => void): void { budgetCheck = fn; }

/** Called between chunks of every long loop. */
export function throwIfCancelled(token: CancelToken | undefined): void {
  if (token?.cancelled) throw new CancelledError();
  budgetCheck();
}
