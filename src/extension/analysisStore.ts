// The analyses run so far in this workspace: a short list (kept in workspaceState) pointing at
// full reports in the report cache (global storage). The Reuse Analysis view, the report panel
// and the inline hints read from here.
//
// For the report panel (src/extension/report/**): `getAnalysisStore().getReport(id)` gives the
// Report of an analysis id (the id passed to `reuseLens.showReport`), and `filterGrids(id, layer)`
// the conv filter grids the worker left out of a big report.
import * as vscode from 'vscode';
import type { AnalyzeResponse, FilterGridsResponse, Report } from '../protocol';
import { ReportCache } from './cache/reportCache';
import { analysisDescription, analysisLabel } from './model/analysisNodes';
import { JudgedReports } from './model/currentVerdicts';
import { readSettings } from './settings';

export interface AnalysisEntry {
  /** The cache key: stable for the same files and options. */
  id: string;
  source: string;
  target: string;
  createdAt: number;
  label: string;
  description: string;
  /** The worker's id for filterGrids (valid until the worker restarts). */
  workerAnalysisId?: string;
  gridsOmitted: string[];
}

const STATE_KEY = 'reuseLens.analyses';
const MAX_ENTRIES = 30;

export class AnalysisStore implements vscode.Disposable {
  private entries: AnalysisEntry[];
  private readonly judged = new JudgedReports();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento, readonly cache: ReportCache,
    private readonly grids: (workerAnalysisId: string, layer: string) => Promise<FilterGridsResponse>) {
    this.entries = state.get<AnalysisEntry[]>(STATE_KEY, []).filter((e) => typeof e?.id === 'string');
  }

  list(): AnalysisEntry[] { return this.entries; }
  get(id: string): AnalysisEntry | undefined { return this.entries.find((e) => e.id === id); }
  /** The newest analysis first. */
  latest(): AnalysisEntry | undefined { return this.entries[0]; }

  /** The report of an analysis, judged under the thresholds in the settings now. */
  async getReport(id: string): Promise<Report | undefined> {
    const r = (await this.cache.get(id))?.response.report;
    return r && this.judged.get(id, r, readSettings().options);
  }

  /** Thresholds changed: labels and every view follow (the reports are re-judged on read). */
  async rejudgeAll(): Promise<void> {
    for (const e of this.entries) {
      const r = await this.getReport(e.id);
      if (r) { e.label = analysisLabel(r); e.description = analysisDescription(r); }
    }
    await this.save();
  }

  /** Filter grids of one layer; from the report when it kept them, else from the worker. */
  async filterGrids(id: string, layer: string): Promise<FilterGridsResponse | undefined> {
    const report = await this.getReport(id);
    const l = report?.layers.find((x) => x.name === layer);
    if (l && l.params.some((p) => p.filterGrid)) {
      return { grids: l.params.filter((p) => p.filterGrid).map((p) => ({ role: p.role, ...p.filterGrid! })) };
    }
    const e = this.get(id);
    if (!e?.workerAnalysisId || !e.gridsOmitted.includes(layer)) return undefined;
    try { return await this.grids(e.workerAnalysisId, layer); } catch { return undefined; }
  }

  async add(id: string, response: AnalyzeResponse): Promise<AnalysisEntry> {
    const r = response.report;
    const entry: AnalysisEntry = {
      id, source: r.source.path, target: r.target.path, createdAt: Date.now(),
      label: analysisLabel(r), description: analysisDescription(r),
      workerAnalysisId: response.analysisId, gridsOmitted: response.gridsOmitted,
    };
    const all = [entry, ...this.entries.filter((e) => e.id !== id)];
    this.entries = all.slice(0, MAX_ENTRIES);
    // Evicted analyses leave no report behind, on disk or re-judged in memory.
    for (const e of all.slice(MAX_ENTRIES)) this.judged.forget(e.id);
    await Promise.all(all.slice(MAX_ENTRIES).map((e) => this.cache.delete(e.id)));
    await this.save();
    return entry;
  }

  async remove(id: string): Promise<void> {
    this.entries = this.entries.filter((e) => e.id !== id);
    this.judged.forget(id);
    await this.cache.delete(id);
    await this.save();
  }

  /** Forgets this workspace's analyses. The report cache is shared by all workspaces (global storage): only ours are deleted. */
  async clear(): Promise<void> {
    const ids = this.entries.map((e) => e.id);
    this.entries = [];
    this.judged.forget();
    await Promise.all(ids.map((id) => this.cache.delete(id)));
    await this.save();
  }

  private async save(): Promise<void> {
    await this.state.update(STATE_KEY, this.entries);
    void vscode.commands.executeCommand('setContext', 'reuseLens.hasAnalyses', this.entries.length > 0);
    this.changed.fire();
  }

  dispose(): void { this.changed.dispose(); }
}

let store: AnalysisStore | undefined;
export function setAnalysisStore(s: AnalysisStore): void { store = s; }
/** The extension's store (set during activation). */
export function getAnalysisStore(): AnalysisStore {
  if (!store) throw new Error('Reuse Lens is not activated');
  return store;
}
