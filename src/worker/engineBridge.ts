// The one place the worker touches the engine. Keeping the engine's entry points behind this
// module means the RPC layer (main.ts) can be read without knowing the engine's shape.
export { inspectPath, analyzePaths } from '../core/engine';
