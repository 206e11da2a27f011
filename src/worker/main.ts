// The background process: serves the engine to the extension host over JSON-RPC (IPC).
// Forked by src/extension/worker/client.ts. Everything that reads tensor data runs here, so a
// slow, huge or hostile checkpoint can cost this process its life but never freeze the editor.
import {
  createMessageConnection, IPCMessageReader, CancellationToken, ResponseError,
} from 'vscode-jsonrpc/node';
import { setFlagsFromString } from 'node:v8';
import type { CancelToken } from '../core/common/errors';
import {
  WorkerMethod, WorkerErrorCode, InspectParams, InspectResponse, AnalyzeParams, AnalyzeResult, AnalyzeLayersParams,
  FilterGridsParams, FilterGridsResponse, PingResponse, ProgressParams, ReadTensorParams, ReadTensorResponse,
  CodeMapParams, CodeMap, ForgetDocumentParams,
  ExperimentParams, ExperimentResponse, FileExperimentParams,
} from '../protocol';

import { inspectPath, analyzeCheckpoints, runExperiment, runFileExperimentInThread } from './engineBridge';
import { toResponseError } from './errors';
import { GridBudget, RecentGrids } from './gridBudget';
import { LayerStream } from './layerStream';
import { DrainingIpcWriter } from './ipcWriter';
import { ProgressThrottle } from './progressThrottle';
import { readTensorValues } from './readTensor';
import { limitsFromEnv, watchMemory } from './limits';
import { withLimits } from '../core/common/limits';

// As in the CLI (src/cli/launch.ts): V8 lets the old generation grow to 4x what survived its last
// full collection; a 100,000-tensor analysis is ~125 MB live, and 1.5x keeps the peak near it.
setFlagsFromString('--heap-growing-percent=50');

if (typeof process.send !== 'function') {
  process.stderr.write('reuse-lens worker: must be started with child_process.fork (no IPC channel)\n');
  process.exit(2);
}

const limits = limitsFromEnv(process.env);
watchMemory(limits);
const connection = createMessageConnection(new IPCMessageReader(process), new DrainingIpcWriter(process));
const recent = new RecentGrids();
let active = 0;
let nextAnalysisId = 1;

/** The engine polls `cancelled` between chunks; the host's `$/cancelRequest` flips it. */
function cancelTokenOf(ct: CancellationToken): CancelToken {
  return { get cancelled() { return ct.isCancellationRequested; } };
}

async function serve<T>(work: () => Promise<T>): Promise<T | ResponseError<unknown>> {
  active++;
  try {
    return await withLimits(limits.request, work);
  } catch (e) {
    return toResponseError(e);
  } finally {
    active--;
  }
}

connection.onRequest(WorkerMethod.inspect, (p: InspectParams, ct: CancellationToken) =>
  serve<InspectResponse>(() => inspectPath(p.path, { stats: p.stats === true, token: cancelTokenOf(ct) })));

connection.onRequest(WorkerMethod.analyze, (p: AnalyzeParams, ct: CancellationToken) =>
  serve<AnalyzeResult>(async () => {
    const started = performance.now();
    const progress = new ProgressThrottle(100, (done, total, message) => {
      const n: ProgressParams = { progressId: p.progressId, done, total, message };
      void connection.sendNotification(WorkerMethod.progress, n);
    });
    // The layers leave as they are judged; this process never holds the whole report.
    const layers = new LayerStream((from, batch) => {
      const n: AnalyzeLayersParams = { progressId: p.progressId, from, layers: batch };
      return connection.sendNotification(WorkerMethod.analyzeLayers, n);
    }, new GridBudget(p.maxGridValues));
    const { report, files } = await analyzeCheckpoints(p.source, p.target, p.options ?? {}, {
      onProgress: (x: { done: number; total: number; message: string }) => progress.report(x.done, x.total, x.message),
      token: cancelTokenOf(ct),
    }, layers);
    await layers.flush();
    progress.flush();
    const analysisId = `a${process.pid}-${nextAnalysisId++}`;
    if (layers.grids.kept.size > 0) recent.put(analysisId, layers.grids.kept);
    return {
      report, layerCount: layers.count, analysisId, gridsOmitted: [...layers.grids.kept.keys()],
      durationMs: Math.round(performance.now() - started), files,
    };
  }));

connection.onRequest(WorkerMethod.filterGrids, (p: FilterGridsParams) =>
  serve<FilterGridsResponse>(async () => {
    if (!recent.has(p.analysisId)) throw new ResponseError(WorkerErrorCode.unknownAnalysis, `analysis ${p.analysisId} is no longer in the worker's memory; run it again`);
    const grids = recent.get(p.analysisId, p.layer);
    if (!grids) throw new ResponseError(WorkerErrorCode.unknownAnalysis, `analysis ${p.analysisId} kept no filter grids of layer ${p.layer}`);
    return { grids };
  }));

// The experiment runs in a child process (the user's Python): this process only relays its
// progress and kills it on cancel, so it keeps answering pings meanwhile.
connection.onRequest(WorkerMethod.experiment, (p: ExperimentParams, ct: CancellationToken) =>
  serve<ExperimentResponse>(() => {
    const abort = new AbortController();
    const sub = ct.onCancellationRequested(() => abort.abort());
    return runExperiment(p.report, {
      python: p.python, cwd: p.cwd, model: p.model, data: p.data, metric: p.metric, tolerance: p.tolerance, signal: abort.signal,
      onProgress: (x) => {
        const n: ProgressParams = { progressId: p.progressId, done: x.done, total: x.total, message: x.label, etaSeconds: x.etaSeconds };
        void connection.sendNotification(WorkerMethod.progress, n);
      },
      onLog: (line) => process.stderr.write(`experiment: ${line}\n`),
    }).finally(() => sub.dispose());
  }));

// TF.js / Keras / ONNX: the compute runs in the experiment thread, so this thread keeps answering
// pings and cancels; a cancel terminates the thread.
connection.onRequest(WorkerMethod.fileExperiment, (p: FileExperimentParams, ct: CancellationToken) =>
  serve<ExperimentResponse>(() => {
    const abort = new AbortController();
    const sub = ct.onCancellationRequested(() => abort.abort());
    return runFileExperimentInThread(p.report, {
      data: p.data, metric: p.metric, tolerance: p.tolerance, normalize: p.normalize, signal: abort.signal,
      onProgress: (x) => {
        const n: ProgressParams = { progressId: p.progressId, done: x.done, total: x.total, message: x.label, etaSeconds: x.etaSeconds };
        void connection.sendNotification(WorkerMethod.progress, n);
      },
    }).finally(() => sub.dispose());
  }));

connection.onRequest(WorkerMethod.readTensor, (p: ReadTensorParams) => serve<ReadTensorResponse>(() => readTensorValues(p)));

// Python documents' syntax trees, kept so each new version is parsed incrementally. The parser
// and interpreter (dist/codemap.js) load on the first code map, not at start: most workers never need them.
let codemap: { service: typeof import('../core/codemap/service'); documents: import('../core/codemap/service').DocumentTrees } | undefined;
function loadCodemap() {
  if (!codemap) {
    const service = require('../core/codemap/service') as typeof import('../core/codemap/service');
    codemap = { service, documents: new service.DocumentTrees() };
  }
  return codemap;
}
connection.onRequest(WorkerMethod.codeMap, (p: CodeMapParams) =>
  serve<CodeMap>(() => { const c = loadCodemap(); return c.service.codeMapOf(p.text, { trees: c.documents, key: p.key }, p.tokens); }));
connection.onNotification(WorkerMethod.forgetDocument, (p: ForgetDocumentParams) => codemap?.documents.forget(p.key));

connection.onRequest(WorkerMethod.ping, (): PingResponse => {
  const m = process.memoryUsage();
  return { pid: process.pid, rssBytes: m.rss, heapUsedBytes: m.heapUsed, active };
});

// The host went away (window closed, extension host crashed): leave no orphan behind.
process.on('disconnect', () => process.exit(0));
connection.onClose(() => process.exit(0));
// A bug that escaped a request: say what it was on stderr (the host logs it and shows the
// reason) and die, rather than keep serving from a broken state.
process.on('uncaughtException', (e) => {
  process.stderr.write(`reuse-lens worker: uncaught ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(70);
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`reuse-lens worker: unhandled rejection ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
});

connection.listen();
