// The workspace's checkpoints: found with findFiles from the include/exclude settings, kept
// current by file watchers, and inspected (headers only, in the worker) when first needed.
import * as vscode from 'vscode';
import { promises as fs } from 'node:fs';
import type { InspectResponse } from '../protocol';
import { foldersHoldingCheckpoints, hideShards } from './model/discovery';
import { realRoots, symlinkProblem } from './model/symlinks';
import { readSettings } from './settings';
import { worker } from './workerHost';

/** Files listed per include glob; more would make the tree useless and the scan slow. */
const MAX_LISTED = 5000;
import { log } from './log';

export type InspectOutcome = { ok: true; result: InspectResponse } | { ok: false; message: string };

export class CheckpointIndex implements vscode.Disposable {
  private files: string[] = [];
  private readonly blocked = new Map<string, string>();
  private readonly inspected = new Map<string, { stamp: string; outcome: Promise<InspectOutcome> }>();
  private watchers: vscode.Disposable[] = [];
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  scanned = false;
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** Fires with a file path when that file changed, or undefined when the list changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.watch();
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

  scan(): Promise<void> {
    this.scanning ??= this.doScan().finally(() => { this.scanning = undefined; });
    return this.scanning;
  }

  private async doScan(): Promise<void> {
    const s = readSettings();
    const t0 = Date.now();
    const exclude = s.exclude.length === 0 ? null : s.exclude.length === 1 ? s.exclude[0] : `{${s.exclude.join(',')}}`;
    const found = new Set<string>();
    // One search per glob (VS Code's search takes no nested braces), run together.
    const results = await Promise.all(s.include.map((glob) => vscode.workspace.findFiles(glob, exclude, MAX_LISTED)));
    for (const uris of results) for (const u of uris) if (u.scheme === 'file') found.add(u.fsPath);
    const cut = s.include.filter((_, i) => results[i].length >= MAX_LISTED);
    if (cut.length) {
      const msg = `more than ${MAX_LISTED} files match ${cut.join(', ')}; the Checkpoints view lists the first ${MAX_LISTED}. Narrow reuseLens.include or widen reuseLens.exclude.`;
      log().warn(msg);
      if (!this.warnedCut) { this.warnedCut = true; void vscode.window.showWarningMessage(`Reuse Lens: ${msg}`); }
    }
    const files = hideShards([...found]).sort();
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
      w.onDidChange((u) => { this.inspected.delete(u.fsPath); this.changed.fire(u.fsPath); });
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
    for (const w of this.watchers) w.dispose();
    this.changed.dispose();
  }
}
