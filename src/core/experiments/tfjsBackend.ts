// The TensorFlow.js backend experiments run on, chosen once per process. WebAssembly (with SIMD)
// first: on the demo-sized CNN it evaluates ~20x faster than the plain-JavaScript CPU backend
// (bench/experiments.ts); CPU is the fallback where the .wasm files cannot be found or compiled.
// `REUSE_LENS_TFJS_BACKEND=cpu|wasm` forces one (the benchmark compares them).
// tfjs-node is not used: its install downloads libtensorflow (it fails where that host is
// unreachable), and a bundled engine's tfjs-core could not share a backend with it anyway.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Named imports: the packages declare no side effects, so a bare import would be dropped by the bundler.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export interface TfjsBackend {
  /** `wasm` or `cpu`. */
  name: string;
  /** In words, for the result: `TensorFlow.js 4.22.0, WebAssembly backend (SIMD, 1 thread)`. */
  description: string;
}

const WASM_FILE = 'tfjs-backend-wasm-simd.wasm';

/** Folders that may hold the backend's .wasm files: beside the bundle (dist/tfjs/), or the npm package. */
function wasmFolder(): string | undefined {
  const candidates = [join(__dirname, 'tfjs')];
  try { candidates.push(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')); } catch { /* bundled: not resolvable */ }
  return candidates.find((d) => existsSync(join(d, WASM_FILE)));
}

let chosen: Promise<TfjsBackend> | undefined;

export function tfjsBackend(): Promise<TfjsBackend> {
  chosen ??= choose();
  return chosen;
}

async function choose(): Promise<TfjsBackend> {
  // Production mode: no per-op debug checks, and no "install tfjs-node" banner on stderr.
  tf.enableProdMode();
  const forced = process.env.REUSE_LENS_TFJS_BACKEND;
  const version = `TensorFlow.js ${tf.version_core}`;
  if (forced !== 'cpu') {
    const folder = wasmFolder();
    if (folder) {
      setWasmPaths(folder + '/');
      try {
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
          return { name: 'wasm', description: `${version}, WebAssembly backend (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)` };
        }
      } catch { /* falls back to cpu below */ }
    }
    if (forced === 'wasm') throw new Error(`the TensorFlow.js WebAssembly backend cannot start (${folder ? `files in ${folder}` : `${WASM_FILE} not found`})`);
  }
  if (!version_cpu) throw new Error('the TensorFlow.js CPU backend is missing');
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', description: `${version}, CPU backend (JavaScript)` };
}
