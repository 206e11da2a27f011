// The engine may report progress per tensor (thousands per second on small tensors); one IPC
// message each would cost more than the work. Pass on at most one per `intervalMs`, plus the last.
export class ProgressThrottle {
  private last = 0;
  private pending: [number, number, string] | undefined;
  constructor(private readonly intervalMs: number, private readonly send: (done: number, total: number, message: string) => void) {}

  report(done: number, total: number, message: string): void {
    const now = Date.now();
    if (now - this.last >= this.intervalMs || done >= total) {
      this.last = now;
      this.pending = undefined;
      this.send(done, total, message);
    } else {
      this.pending = [done, total, message];
    }
  }

  flush(): void {
    if (this.pending) { const [d, t, m] = this.pending; this.pending = undefined; this.send(d, t, m); }
  }
}
