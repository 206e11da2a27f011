// The latest replacement experiment of each analysis in this workspace (workspaceState), and
// which analyses have one running: the report panel shows both and follows their changes.
import * as vscode from 'vscode';
import type { ExperimentResult } from '../../protocol';

const STATE_KEY = 'reuseLens.experiments';
const MAX_ENTRIES = 30;

export class ExperimentStore implements vscode.Disposable {
  private results: Record<string, ExperimentResult>;
  private readonly running = new Set<string>();
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with the analysis id whose experiment (or running state) changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {
    const stored = state.get<Record<string, ExperimentResult>>(STATE_KEY, {});
    this.results = stored && typeof stored === 'object' ? stored : {};
  }

  get(analysisId: string): ExperimentResult | undefined { return this.results[analysisId]; }
  isRunning(analysisId: string): boolean { return this.running.has(analysisId); }

  setRunning(analysisId: string, on: boolean): void {
    if (on) this.running.add(analysisId); else this.running.delete(analysisId);
    this.changed.fire(analysisId);
  }

  async put(analysisId: string, result: ExperimentResult): Promise<void> {
    // Newest last; the oldest go when there are too many (each holds tensor names per layer).
    const { [analysisId]: _old, ...rest } = this.results;
    const entries = Object.entries(rest).slice(-(MAX_ENTRIES - 1));
    this.results = { ...Object.fromEntries(entries), [analysisId]: result };
    await this.state.update(STATE_KEY, this.results);
    this.changed.fire(analysisId);
  }

  dispose(): void { this.changed.dispose(); }
}

let store: ExperimentStore | undefined;
export function setExperimentStore(s: ExperimentStore): void { store = s; }
export function getExperimentStore(): ExperimentStore {
  if (!store) throw new Error('Reuse Lens is not activated');
  return store;
}
