// The status bar item shown while the worker works: what it is doing and how far, click to cancel.
import * as vscode from 'vscode';

export class WorkerStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('reuseLens.status', vscode.StatusBarAlignment.Left, 10);
  private analyses = new Map<number, { label: string; pct: number }>();
  private busy = 0;
  private next = 1;

  constructor() {
    this.item.name = 'Reuse Lens';
    this.item.command = 'reuseLens.cancelAnalysis';
  }

  setWorkerBusy(n: number): void { this.busy = n; this.render(); }

  startAnalysis(label: string): { update(pct: number): void; done(): void } {
    const id = this.next++;
    this.analyses.set(id, { label, pct: 0 });
    this.render();
    return {
      update: (pct) => { const a = this.analyses.get(id); if (a) { a.pct = pct; this.render(); } },
      done: () => { this.analyses.delete(id); this.render(); },
    };
  }

  private render(): void {
    const list = [...this.analyses.values()];
    if (list.length > 0) {
      const a = list[0];
      this.item.text = `$(loading~spin) Reuse Lens: ${Math.round(a.pct)}%${list.length > 1 ? ` (+${list.length - 1})` : ''}`;
      this.item.tooltip = `Analyzing ${list.map((x) => x.label).join(', ')}. Click to cancel.`;
      this.item.show();
    } else if (this.busy > 0) {
      this.item.text = '$(loading~spin) Reuse Lens';
      this.item.tooltip = 'Reading checkpoints in the background worker';
      this.item.show();
    } else {
      this.item.hide();
    }
  }

  dispose(): void { this.item.dispose(); }
}
