// The extension host's side of the worker: one child process, started on first need, reused,
// and replaced when it dies. Plain Node (no `vscode` import) so it is tested with a real fork.
//
// Failure handling, since a checkpoint can be huge or hostile:
// - crash / out of memory / killed: pending requests fail with the reason; the next request
//   starts a new worker; `onWorkerLost` tells the UI why.
// - hang (no answer to a ping for `hangTimeoutMs` while requests are pending; 10 s at least
//   before its first answer, as starting one takes seconds on a loaded machine): killed and
//   replaced, requests fail with "stopped responding".
// - cancel: `$/cancelRequest` first; if the request has not ended `cancelGraceMs` later, the
//   worker is killed. Other requests that were running on it are re-sent once to the new worker
//   (inspect/analyze only read files), so cancelling one analysis leaves the others intact.
import { fork, ChildProcess } from 'node:child_process';
import {
  createMessageConnection, IPCMessageReader, IPCMessageWriter, MessageConnection, CancellationTokenSource,
} from 'vscode-jsonrpc/node';
import {
  WorkerMethod, WorkerRequests, InspectParams, AnalyzeParams, ProgressParams, AnalyzeResponse, InspectResponse,
  FilterGridsParams, FilterGridsResponse, PingResponse, ReadTensorParams, ReadTensorResponse, CodeMapParams, CodeMap,
  ExperimentParams, ExperimentResponse, FileExperimentParams, AnalyzeLayersParams, Report,
} from '../../protocol';
import { describeExit } from './exitReason';
import { WorkerRequestError, fromResponseError } from './errors';

/** Structurally both vscode.CancellationToken and vscode-jsonrpc's. */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

export interface WorkerLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface WorkerClientOptions {
  /** Absolute path of dist/worker.js. */
  workerPath: string;
  memoryLimitMb: number;
  /** Seconds one request may run (setting reuseLens.worker.timeLimitSeconds); 0: no limit. */
  timeLimitSeconds?: number;
  log: WorkerLog;
  /** The worker died or was killed while it had work; `reason` is a sentence fragment ("ran out of memory ..."). */
  onWorkerLost?(reason: string): void;
  /** Fired whenever the number of running requests changes (status bar). */
  onBusyChange?(running: number): void;
  pingIntervalMs?: number;
  hangTimeoutMs?: number;
  cancelGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

type KillCause = 'hang' | 'cancel' | 'dispose' | 'restart';

class WorkerLost extends Error {
  constructor(readonly reason: string, readonly killCause: KillCause | 'exit', readonly killedFor?: symbol) { super(reason); }
}

/** Longest a new worker may take to answer its first ping before it counts as hung. */
const STARTUP_MS = 10_000;

interface Generation {
  readonly n: number;
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  readonly died: Promise<never>;
  dead: boolean;
  pending: number;
  stderrTail: string;
  pingSentAt?: number;
  /** It has answered once: it is up. Until then starting it (Node, the bundle) counts as no hang. */
  answered?: boolean;
  lost?: WorkerLost;
  markDead(lost: WorkerLost): void;
}

export class WorkerClient {
  private current: Generation | undefined;
  private generations = 0;
  private disposed = false;
  private running = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly progressListeners = new Map<string, (p: ProgressParams) => void>();
  private readonly layerListeners = new Map<string, (p: AnalyzeLayersParams) => void>();
  private nextProgressId = 1;
  /** Unexpected worker deaths so far (for diagnostics and tests). */
  restarts = 0;

  constructor(private readonly opts: WorkerClientOptions) {}

  get pid(): number | undefined { return this.current?.proc.pid; }

  /** Takes effect on the next start; an idle worker is replaced now. */
  setMemoryLimit(mb: number): void {
    if (mb === this.opts.memoryLimitMb) return;
    this.opts.memoryLimitMb = mb;
    if (this.current && this.current.pending === 0) this.kill(this.current, 'memory limit changed', 'restart');
    else this.restartWhenIdle = true;
  }

  /** Takes effect on the next start; an idle worker is replaced now. */
  setTimeLimit(seconds: number): void {
    if (seconds === (this.opts.timeLimitSeconds ?? 0)) return;
    this.opts.timeLimitSeconds = seconds;
    if (this.current && this.current.pending === 0) this.kill(this.current, 'time limit changed', 'restart');
    else this.restartWhenIdle = true;
  }

  /** A setting that needs a new process changed while the worker was busy: replace it once idle. */
  private restartWhenIdle = false;

  inspect(params: InspectParams, token?: CancellationLike): Promise<InspectResponse> {
    return this.request(WorkerMethod.inspect, params, token);
  }

  /** The report's layers arrive first, in pieces (`analyzeLayers`); the answer gets them back in place. */
  async analyze(params: Omit<AnalyzeParams, 'progressId'>, onProgress?: (p: ProgressParams) => void, token?: CancellationLike): Promise<AnalyzeResponse> {
    const progressId = `p${this.nextProgressId++}`;
    if (onProgress) this.progressListeners.set(progressId, onProgress);
    let layers: Report['layers'] = [];
    this.layerListeners.set(progressId, (p) => {
      // A request re-sent to a new worker starts again from layer 0.
      if (p.from === 0) layers = [];
      if (p.from !== layers.length) return;
      for (const l of p.layers) layers.push(l);
    });
    try {
      const { layerCount, ...response } = await this.request(WorkerMethod.analyze, { ...params, progressId }, token);
      if (layers.length !== layerCount) {
        throw new WorkerRequestError('crashed', `The Reuse Lens worker sent ${layers.length} of the report's ${layerCount} layers. Run the analysis again.`);
      }
      return { ...response, report: { ...response.report, layers } };
    } finally {
      this.progressListeners.delete(progressId);
      this.layerListeners.delete(progressId);
    }
  }

  /** A replacement experiment: the worker runs the user's Python and relays its progress (with an ETA). */
  experiment(params: Omit<ExperimentParams, 'progressId'>, onProgress?: (p: ProgressParams) => void, token?: CancellationLike): Promise<ExperimentResponse> {
    const progressId = `p${this.nextProgressId++}`;
    if (onProgress) this.progressListeners.set(progressId, onProgress);
    return this.request(WorkerMethod.experiment, { ...params, progressId }, token)
      .finally(() => this.progressListeners.delete(progressId));
  }

  /** A replacement experiment on a TF.js, Keras or ONNX model: the worker runs it in a thread and relays its progress (with an ETA). */
  fileExperiment(params: Omit<FileExperimentParams, 'progressId'>, onProgress?: (p: ProgressParams) => void, token?: CancellationLike): Promise<ExperimentResponse> {
    const progressId = `p${this.nextProgressId++}`;
    if (onProgress) this.progressListeners.set(progressId, onProgress);
    return this.request(WorkerMethod.fileExperiment, { ...params, progressId }, token)
      .finally(() => this.progressListeners.delete(progressId));
  }

  filterGrids(params: FilterGridsParams): Promise<FilterGridsResponse> {
    return this.request(WorkerMethod.filterGrids, params);
  }

  readTensor(params: ReadTensorParams, token?: CancellationLike): Promise<ReadTensorResponse> {
    return this.request(WorkerMethod.readTensor, params, token);
  }

  /** The code map of a Python document; quiet (no busy status, no log line): it runs on every edit. */
  codeMap(params: CodeMapParams, token?: CancellationLike): Promise<CodeMap> {
    return this.request(WorkerMethod.codeMap, params, token);
  }

  /** The document is closed: the worker drops its tree (nothing when no worker runs). */
  forgetDocument(key: string): void {
    const gen = this.current;
    if (gen && !gen.dead) void gen.conn.sendNotification(WorkerMethod.forgetDocument, { key }).catch(() => undefined);
  }

  ping(): Promise<PingResponse> {
    return this.request(WorkerMethod.ping, {});
  }

  dispose(): void {
    this.disposed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.current) this.kill(this.current, 'Reuse Lens was deactivated', 'dispose');
  }

  private async request<M extends keyof WorkerRequests>(method: M, params: WorkerRequests[M]['params'], token?: CancellationLike): Promise<WorkerRequests[M]['result']> {
    const me = Symbol(method);
    for (let attempt = 0; ; attempt++) {
      if (this.disposed) throw new WorkerRequestError('crashed', 'Reuse Lens is shutting down');
      if (token?.isCancellationRequested) throw new WorkerRequestError('cancelled', 'cancelled');
      const gen = this.ensureStarted();
      try {
        return await this.requestOn(gen, me, method, params, token);
      } catch (e) {
        // Killed because *another* request ignored its cancel: ours did nothing wrong, run it again.
        if (e instanceof WorkerLost && e.killCause === 'cancel' && e.killedFor !== me && attempt === 0) {
          this.opts.log.info(`${method}: re-sent to a new worker (the previous one was stopped for a cancelled request)`);
          continue;
        }
        if (e instanceof WorkerLost) {
          throw new WorkerRequestError('crashed', `The Reuse Lens worker ${e.reason}. The request failed; a new worker will serve the next one.`);
        }
        throw e;
      }
    }
  }

  private async requestOn<M extends keyof WorkerRequests>(gen: Generation, me: symbol, method: M, params: WorkerRequests[M]['params'], token?: CancellationLike): Promise<WorkerRequests[M]['result']> {
    const started = Date.now();
    const cts = new CancellationTokenSource();
    let graceTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const sub = token?.onCancellationRequested(() => {
      cts.cancel();
      this.opts.log.info(`${method}: cancel sent to worker ${gen.proc.pid}`);
      graceTimer = setTimeout(() => {
        if (!settled && !gen.dead) this.kill(gen, `did not stop within ${this.grace} ms of Cancel and was stopped`, 'cancel', me);
      }, this.grace);
    });
    // Code maps run on every edit of a Python file: neither a busy status bar nor a log line each time.
    const quiet = method === WorkerMethod.codeMap;
    gen.pending++;
    if (!quiet) this.setRunning(+1);
    try {
      const result = await Promise.race([gen.conn.sendRequest(method, params, cts.token), gen.died]);
      gen.answered = true;
      if (method !== WorkerMethod.ping && !quiet) this.opts.log.info(`${method} ${describeParams(params)}: done in ${Date.now() - started} ms`);
      return result as WorkerRequests[M]['result'];
    } catch (e) {
      if (token?.isCancellationRequested) {
        this.opts.log.info(`${method} ${describeParams(params)}: cancelled after ${Date.now() - started} ms`);
        throw new WorkerRequestError('cancelled', 'cancelled');
      }
      if (e instanceof WorkerLost) throw e;
      const err = fromResponseError(e);
      this.opts.log.warn(`${method} ${describeParams(params)}: ${err.kind}: ${err.message}`);
      throw err;
    } finally {
      settled = true;
      if (graceTimer) clearTimeout(graceTimer);
      sub?.dispose();
      cts.dispose();
      gen.pending--;
      if (!quiet) this.setRunning(-1);
      if (this.restartWhenIdle && gen.pending === 0 && !gen.dead && gen === this.current) {
        this.restartWhenIdle = false;
        this.kill(gen, 'memory limit changed', 'restart');
      }
    }
  }

  private get grace(): number { return this.opts.cancelGraceMs ?? 1000; }

  private setRunning(delta: number): void {
    this.running += delta;
    this.opts.onBusyChange?.(this.running);
    if (this.running > 0 && !this.pingTimer) {
      this.pingTimer = setInterval(() => this.checkAlive(), this.opts.pingIntervalMs ?? 2000);
      this.pingTimer.unref();
    } else if (this.running === 0 && this.pingTimer) {
      clearInterval(this.pingTimer);
      this.pingTimer = undefined;
    }
  }

  /** A worker that answers no ping for hangTimeoutMs while it has work is stuck: replace it. */
  private checkAlive(): void {
    const gen = this.current;
    if (!gen || gen.dead || gen.pending === 0) return;
    // A worker still starting up (seconds on a loaded machine) is given STARTUP_MS at least.
    const hangMs = gen.answered ? this.opts.hangTimeoutMs ?? 15000 : Math.max(this.opts.hangTimeoutMs ?? 15000, STARTUP_MS);
    if (gen.pingSentAt !== undefined) {
      if (Date.now() - gen.pingSentAt > hangMs) {
        this.kill(gen, `stopped responding for ${Math.round(hangMs / 1000)} s and was restarted`, 'hang');
      }
      return;
    }
    gen.pingSentAt = Date.now();
    gen.conn.sendRequest(WorkerMethod.ping, {}).then(
      () => { gen.pingSentAt = undefined; gen.answered = true; },
      () => { /* the worker is gone; its exit handler reports why */ },
    );
  }

  private kill(gen: Generation, reason: string, cause: KillCause, killedFor?: symbol): void {
    if (gen.dead) return;
    const hadWork = gen.pending > 0;
    this.opts.log.warn(`worker ${gen.proc.pid}: ${reason}`);
    gen.markDead(new WorkerLost(reason, cause, killedFor));
    gen.proc.kill('SIGKILL');
    if (cause === 'hang' && hadWork) { this.restarts++; this.opts.onWorkerLost?.(reason); }
  }

  private ensureStarted(): Generation {
    if (this.current && !this.current.dead) return this.current;
    const n = ++this.generations;
    const mb = this.opts.memoryLimitMb;
    const proc = fork(this.opts.workerPath, [], {
      // The heap limit, and the worker's own limit on all it holds (ArrayBuffers included, see
      // src/worker/limits.ts; --expose-gc lets it collect before judging the resident set).
      // A young generation of 8 MB semi-spaces (V8's default is 16): 20-30 MB less peak at
      // 100,000 tensors, at no CPU cost measured (bench/scale.mjs); it cannot be set once running.
      execArgv: [`--max-old-space-size=${mb}`, '--expose-gc', '--max-semi-space-size=8'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // In VS Code the extension host runs in Electron; this makes the child plain Node.
      env: {
        ...(this.opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1',
        REUSE_LENS_MEMORY_LIMIT_MB: String(mb), REUSE_LENS_TIME_LIMIT_S: String(this.opts.timeLimitSeconds ?? 0),
      },
    });
    const conn = createMessageConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
    let rejectDied!: (e: WorkerLost) => void;
    const died = new Promise<never>((_, reject) => { rejectDied = reject; });
    died.catch(() => { /* observed by requests; never unhandled */ });
    const gen: Generation = {
      n, proc, conn, died, dead: false, pending: 0, stderrTail: '',
      markDead: (lost) => {
        if (gen.dead) return;
        gen.dead = true;
        gen.lost = lost;
        rejectDied(lost);
        conn.dispose();
        if (this.current === gen) this.current = undefined;
      },
    };
    conn.onNotification(WorkerMethod.progress, (p: ProgressParams) => this.progressListeners.get(p.progressId)?.(p));
    conn.onNotification(WorkerMethod.analyzeLayers, (p: AnalyzeLayersParams) => this.layerListeners.get(p.progressId)?.(p));
    conn.onError(([e]) => this.opts.log.warn(`worker ${proc.pid}: connection error: ${e.message}`));
    const onStd = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stream === 'stderr') gen.stderrTail = (gen.stderrTail + text).slice(-8192);
      for (const line of text.split('\n')) if (line.trim()) this.opts.log.info(`worker ${proc.pid} ${stream}: ${line}`);
    };
    proc.stdout?.on('data', onStd('stdout'));
    proc.stderr?.on('data', onStd('stderr'));
    proc.on('error', (e) => {
      const reason = `could not be started: ${e.message}`;
      this.opts.log.error(`worker: ${reason}`);
      if (!gen.dead) { gen.markDead(new WorkerLost(reason, 'exit')); this.opts.onWorkerLost?.(reason); }
    });
    // 'close' comes after stderr is drained, so an out-of-memory message is in stderrTail.
    proc.on('close', (code, signal) => {
      if (gen.dead) {
        this.opts.log.info(`worker ${proc.pid} stopped (${gen.lost?.reason ?? 'stopped'})`);
        return;
      }
      const reason = describeExit(code, signal, gen.stderrTail, mb);
      this.opts.log.error(`worker ${proc.pid} ${reason}`);
      const hadWork = gen.pending > 0;
      gen.markDead(new WorkerLost(reason, 'exit'));
      this.restarts++;
      if (hadWork || !this.disposed) this.opts.onWorkerLost?.(reason);
    });
    conn.listen();
    this.current = gen;
    this.opts.log.info(`worker ${proc.pid} started (#${n}, memory limit ${mb} MB)`);
    return gen;
  }
}

function describeParams(p: unknown): string {
  const o = p as Partial<InspectParams & AnalyzeParams & FilterGridsParams & ReadTensorParams & ExperimentParams>;
  if (o.source && o.target) return `${o.source} -> ${o.target}`;
  if (o.report && o.model) return `${o.report.source.path} -> ${o.report.target.path} (${o.model}, ${o.data})`;
  if (o.path) return `${o.path}${o.name ? `#${o.name}` : ''}${o.stats ? ' (stats)' : ''}`;
  if (o.analysisId) return `${o.analysisId}/${o.layer}`;
  return '';
}
