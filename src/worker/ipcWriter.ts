// JSON-RPC messages to the host over the IPC channel, each write resolving once its bytes are
// in the pipe. vscode-jsonrpc's IPCMessageWriter resolves at once: a worker streaming a report
// faster than a busy extension host reads it would queue the whole report in its own memory.
// With this writer, awaiting `sendNotification` is the back-pressure.
import { AbstractMessageWriter, MessageWriter, Message } from 'vscode-jsonrpc/node';

export class DrainingIpcWriter extends AbstractMessageWriter implements MessageWriter {
  private errorCount = 0;

  constructor(private readonly proc: NodeJS.Process) {
    super();
    proc.on('error', (e: Error) => this.fireError(e));
  }

  write(msg: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => { this.errorCount++; this.fireError(e, msg, this.errorCount); reject(e); };
      try {
        this.proc.send!(msg, undefined, undefined, (e: Error | null) => {
          if (e) fail(e);
          else { this.errorCount = 0; resolve(); }
        });
      } catch (e) { fail(e as Error); }
    });
  }

  end(): void { /* the channel closes with the process */ }
}
