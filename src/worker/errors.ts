// Turns whatever the engine threw into a JSON-RPC error the extension can tell apart:
// a bad checkpoint (show the message as is), an unsafe pickle, a cancel, or a bug (with stack).
import { ResponseError } from 'vscode-jsonrpc/node';
import { CancelledError, CheckpointError, UnsafePickleError } from '../core/common/errors';
import { LimitError } from '../core/common/limits';
import { WorkerErrorCode, WorkerErrorData } from '../protocol';
import { ExperimentError } from '../core/experiments/driver';

export function toResponseError(e: unknown): ResponseError<WorkerErrorData> {
  if (e instanceof ResponseError) return e as ResponseError<WorkerErrorData>;
  if (e instanceof UnsafePickleError) return new ResponseError(WorkerErrorCode.unsafe, e.message, { file: e.file, global: e.global });
  if (e instanceof CheckpointError) return new ResponseError(WorkerErrorCode.checkpoint, e.message, { file: e.file });
  // A budget of the request (time, memory) ran out: the user's input was too much, not a bug.
  if (e instanceof LimitError) return new ResponseError(WorkerErrorCode.checkpoint, e.message, {});
  if (e instanceof CancelledError) return new ResponseError(WorkerErrorCode.cancelled, 'cancelled');
  if (e instanceof ExperimentError) return new ResponseError(WorkerErrorCode.experiment, e.message);
  const err = e instanceof Error ? e : new Error(String(e));
  // Node's own errors about a path (ENOENT, EACCES, EISDIR) are the user's problem, not a bug.
  const code = (err as NodeJS.ErrnoException).code;
  const path = (err as NodeJS.ErrnoException).path;
  if (typeof code === 'string' && typeof path === 'string') {
    return new ResponseError(WorkerErrorCode.checkpoint, `${path}: ${describeErrno(code, err.message)}`, { file: path });
  }
  return new ResponseError(WorkerErrorCode.internal, `internal error in Reuse Lens: ${err.message}`, { stack: err.stack });
}

function describeErrno(code: string, fallback: string): string {
  switch (code) {
    case 'ENOENT': return 'does not exist (deleted or moved?)';
    case 'EACCES': case 'EPERM': return 'cannot be read (permission denied)';
    case 'EISDIR': return 'is a folder, not a checkpoint file';
    case 'ELOOP': return 'is a symbolic link loop';
    default: return fallback;
  }
}
