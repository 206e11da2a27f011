// The one place the worker touches the engine. Keeping the engine's entry points behind this
// module means the RPC layer (main.ts) can be read without knowing the engine's shape.
export { inspectPath, analyzeCheckpoints } from '../core/analysis/engine';
export type { LayerSink } from '../core/analysis/engine';
export { runExperiment } from '../core/experiments/experiment';
export { runFileExperimentInThread } from '../core/experiments/fileExperimentClient';

import { setCallerTakesShare } from '../core/tensor/pairThreads';

// This process's main thread answers the extension (pings, cancel): it leaves the reading of
// large pairs to the pair threads instead of taking a share, which the CLI does.
setCallerTakesShare(false);
