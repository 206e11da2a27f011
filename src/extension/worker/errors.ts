// What a failed worker request looks like to the rest of the extension: one error class with a
// kind, so callers can show a bad checkpoint differently from a cancel or a crash.
import type { ResponseError as ResponseErrorType } from 'vscode-jsonrpc/node';
import { WorkerErrorCode, WorkerErrorData } from '../../protocol';

export type WorkerErrorKind = 'checkpoint' | 'unsafe' | 'cancelled' | 'crashed' | 'internal' | 'unknownAnalysis' | 'experiment';

export class WorkerRequestError extends Error {
  constructor(readonly kind: WorkerErrorKind, message: string, readonly data?: WorkerErrorData) {
    super(message);
    this.name = 'WorkerRequestError';
  }
}

export function isCancelled(e: unknown): boolean {
  return e instanceof WorkerRequestError && e.kind === 'cancelled';
}

export function fromResponseError(e: unknown): WorkerRequestError {
  if (e instanceof WorkerRequestError) return e;
  // Required here, not imported: isCancelled is used at activation and must not load
  // vscode-jsonrpc; only the worker client (which has loaded it already) calls this.
  const { ResponseError } = require('vscode-jsonrpc/node') as { ResponseError: typeof ResponseErrorType };
  if (e instanceof ResponseError) {
    const data = (e.data ?? undefined) as WorkerErrorData | undefined;
    switch (e.code) {
      case WorkerErrorCode.checkpoint: return new WorkerRequestError('checkpoint', e.message, data);
      case WorkerErrorCode.unsafe: return new WorkerRequestError('unsafe', e.message, data);
      case WorkerErrorCode.cancelled: return new WorkerRequestError('cancelled', 'cancelled', data);
      case WorkerErrorCode.unknownAnalysis: return new WorkerRequestError('unknownAnalysis', e.message, data);
      case WorkerErrorCode.experiment: return new WorkerRequestError('experiment', e.message, data);
      default: return new WorkerRequestError('internal', e.message, data);
    }
  }
  return new WorkerRequestError('internal', e instanceof Error ? e.message : String(e));
}
