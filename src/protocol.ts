// Types shared by the extension host, the worker and the webviews. Nothing here runs;
// each side imports these types so a message cannot drift between sender and receiver.
// Report and inspect results are the engine's own schemas (src/core/reportTypes.ts).
export type {
  Report, InspectResult, AnalyzeOptions, LayerReport, ParamReport, Verdict, LayerKind, MatchedBy,
  CheckpointSummary, ReportSummary, InspectTensor, InspectLayer,
} from './core/reportTypes';

// ---- Worker RPC (extension host <-> worker, JSON-RPC over IPC) ----
// (owned by the extension/worker work; see src/worker and src/extension)

// ---- Webview messages (extension host <-> report panel / checkpoint summary) ----
// (owned by the report panel work; see webview/)
