// The workspace's checkpoints: found with findFiles from the include/exclude settings (and the
// user's files.exclude), kept current by file watchers and by changes to those settings, and
// inspected (headers only, in the worker) when first needed.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import type { InspectResponse } from '../protocol';
import { foldersHoldingCheckpoints, hideShards, withoutEvaluationSets } from './model/discovery';
import { combineExcludes, enabledPatterns } from './model/searchExcludes';
import { realRoots, symlinkProblem } from './model/symlinks';
import { readSettings } from './settings';
import { worker } from './workerHost';
import { log } from './log';

/** Files listed per include glob and workspace folder; more would make the tree useless and the scan slow. */
const MAX_LISTED = 5000;

export type InspectOutcome = { ok: true; result: InspectResponse } | { ok: false; message: string };

export class CheckpointIndex implements vscode.Disposable {
  private files: string[] = [];
  private readonly blocked = new Map<string, string>();
  private readonly inspected = new Map<string, { stamp: string; outcome: Promise<InspectOutcome> }>();
  private watchers: vscode.Disposable[] = [];
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescanAfter: Promise<void> | undefined;
  /** Folders of the listed files (a listed index's shards change there too). */
  private listedDirs = new Set<string>();
  private readonly configSub: vscode.Disposable;
  scanned = false;
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** Fires with a file path when that file changed, or undefined when the list changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.watch();
    this.configSub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('reuseLens.include') || e.affectsConfiguration('reuseLens.exclude') || e.affectsConfiguration('reuseLens.followSymlinks')) this.rewatch();
      // files.exclude narrows the search too (see model/searchExcludes.ts), and an evaluation set
      // chosen for an experiment leaves the list; the watchers stay.
      else if (e.affectsConfiguration('files.exclude') || e.affectsConfiguration('reuseLens.experiments.evaluationSet')) void this.scan();
    });
  }

  roots(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  }

  /** Discovered checkpoints (shards hidden), after the first scan. */
  async list(): Promise<string[]> {
    if (!this.scanned) await this.scan();
    return this.files;
  }

  blockedReason(file: string): string | undefined { return this.blocked.get(file); }

  /** Warn once per session that the listing was cut, not at every rescan. */
  private warnedCut = false;

  /** Scans; when a scan is already running (with the settings and files of before), one more follows it. */
  scan(): Promise<void> {
    if (!this.scanning) {
      this.scanning = this.doScan().finally(() => { this.scanning = undefined; });
      return this.scanning;
    }
    this.rescanAfter ??= this.scanning.catch(() => undefined).then(() => { this.rescanAfter = undefined; return this.scan(); });
    return this.rescanAfter;
  }

  /** Patterns of files.exclude that could not go into a search glob, logged once each. */
  private readonly warnedSkipped = new Set<string>();

  private async doScan(): Promise<void> {
    const s = readSettings();
    const t0 = Date.now();
    const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
    // One search per workspace folder (files.exclude may differ per folder) and per include glob
    // (VS Code's search takes no nested braces), run together.
    const searches = workspaceFolders.flatMap((folder) => {
      const { glob: exclude, skipped } = combineExcludes(s.exclude, enabledPatterns(vscode.workspace.getConfiguration('files', folder.uri).get('exclude')));
      for (const p of skipped) {
        if (this.warnedSkipped.has(p)) continue;
        this.warnedSkipped.add(p);
        log().warn(`exclude pattern ${JSON.stringify(p)} is not applied to the search for checkpoints (unbalanced braces, or more than a few hundred alternatives)`);
      }
      return s.include.map((glob) => ({ folder, glob, exclude }));
    });
    const results = await Promise.all(searches.map((q) => vscode.workspace.findFiles(new vscode.RelativePattern(q.folder, q.glob), q.exclude, MAX_LISTED)));
    const found = new Set<string>();
    for (const uris of results) for (const u of uris) if (u.scheme === 'file') found.add(u.fsPath);
    const cut = [...new Set(searches.filter((_, i) => results[i].length >= MAX_LISTED).map((q) => (workspaceFolders.length > 1 ? `${q.glob} (in ${q.folder.name})` : q.glob)))];
    if (cut.length) {
      const msg = `more than ${MAX_LISTED} files match ${cut.join(', ')}; the Checkpoints view lists the first ${MAX_LISTED}. Narrow reuseLens.include or widen reuseLens.exclude.`;
      log().warn(msg);
      if (!this.warnedCut) { this.warnedCut = true; void vscode.window.showWarningMessage(`Reuse Lens: ${msg}`); }
    }
    const evaluationSets = workspaceFolders.map((folder) => ({
      folder: folder.uri.fsPath, value: vscode.workspace.getConfiguration('reuseLens', folder.uri).get<string>('experiments.evaluationSet'),
    }));
    const files = hideShards(withoutEvaluationSets([...found], evaluationSets)).sort();
    this.blocked.clear();
    const roots = await realRoots(this.roots());
    await Promise.all(files.map(async (f) => {
      try {
        const real = await fs.realpath(f);
        const problem = symlinkProblem(f, real, roots, s.followSymlinks);
        if (problem) this.blocked.set(f, problem);
      } catch { /* vanished: the watcher will rescan */ }
    }));
    this.files = files;
    this.listedDirs = new Set(files.map((f) => path.dirname(f)));
    this.scanned = true;
    log().info(`found ${files.length} checkpoint(s) in ${Date.now() - t0} ms`);
    const folders = foldersHoldingCheckpoints(files, this.roots());
    // Both spellings: `resourcePath` in a `when` clause is the fsPath; keep the URI path too.
    const keys = new Set<string>();
    for (const d of folders) { keys.add(d); keys.add(vscode.Uri.file(d).path); }
    void vscode.commands.executeCommand('setContext', 'reuseLens.checkpointFolders', [...keys]);
    void vscode.commands.executeCommand('setContext', 'reuseLens.hasCheckpoints', files.length > 0);
    void vscode.commands.executeCommand('setContext', 'reuseLens.scanned', true);
    this.changed.fire(undefined);
  }

  /** Headers of one checkpoint, from the worker; cached while the file's size and mtime stay. */
  async inspect(file: string): Promise<InspectOutcome> {
    const blocked = this.blocked.get(file);
    if (blocked) return { ok: false, message: `${file} ${blocked}` };
    let stamp: string;
    try {
      const st = await fs.stat(file);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch (e) {
      return { ok: false, message: `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no longer exists' : (e as Error).message}` };
    }
    const hit = this.inspected.get(file);
    if (hit && hit.stamp === stamp) return hit.outcome;
    const outcome = worker(this.context).inspect({ path: file }).then(
      (result): InspectOutcome => ({ ok: true, result }),
      (e): InspectOutcome => ({ ok: false, message: (e as Error).message }),
    );
    this.inspected.set(file, { stamp, outcome });
    return outcome;
  }

  /** The last inspect outcome, if one finished (for descriptions without waiting). */
  peek(file: string): Promise<InspectOutcome> | undefined { return this.inspected.get(file)?.outcome; }

  refresh(): Promise<void> {
    this.inspected.clear();
    return this.scan();
  }

  /** Settings changed: new globs mean new watchers and a new scan. */
  rewatch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
    this.watch();
    void this.refresh();
  }

  private watch(): void {
    for (const glob of readSettings().include) {
      const w = vscode.workspace.createFileSystemWatcher(glob);
      w.onDidCreate(() => this.rescanSoon());
      w.onDidDelete((u) => { this.inspected.delete(u.fsPath); this.rescanSoon(); });
      // The watchers see excluded files too (they take no exclude): a write there (a training
      // run's folder the user hid) redraws nothing. Creates and deletes rescan, which excludes.
      w.onDidChange((u) => { this.inspected.delete(u.fsPath); if (this.listedDirs.has(path.dirname(u.fsPath))) this.changed.fire(u.fsPath); });
      this.watchers.push(w);
    }
  }

  /** A training loop writes many files in a burst: one scan after it settles. */
  private rescanSoon(): void {
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => void this.scan(), 300);
  }

  dispose(): void {
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.configSub.dispose();
    for (const w of this.watchers) w.dispose();
    this.changed.dispose();
  }
}
