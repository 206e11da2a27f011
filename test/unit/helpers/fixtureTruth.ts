// The committed truth of the fixtures (numpy/torch/onnx/h5py readings written by the generators
// under test/fixtures/), in one shape for every format: per tensor its name, element count, sum,
// sum of squares, and the leading values (all of them where the generator wrote all).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');

export interface TensorTruth { name: string; shape: number[]; n: number; sum: number; sumsq: number; first: number[]; min?: number; max?: number }

const json = (rel: string) => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function fromValues(name: string, shape: number[], values: number[]): TensorTruth {
  let sum = 0, sumsq = 0, min = Infinity, max = -Infinity;
  for (const v of values) { sum += v; sumsq += v * v; if (v < min) min = v; if (v > max) max = v; }
  return { name, shape, n: values.length, sum, sumsq, first: values, min, max };
}

/** keras/, tfjs/, onnx/: `{ tensors: [{ name, shape, values }] }` in the engine's canonical layout. */
export function valuesTruth(rel: string): TensorTruth[] {
  return (json(rel).tensors as { name: string; shape: number[]; values: number[] }[]).map((t) => fromValues(t.name, t.shape, t.values));
}

/** numpy/, safetensors/: `{ "<dir>/<file>": [{ name, shape, first, sum, sumsq }] }`. */
export function listTruth(rel: string, key: string): TensorTruth[] {
  const all = json(rel) as Record<string, { name: string; shape: number[]; first: number[]; sum: number; sumsq: number }[]>;
  if (!all[key]) throw new Error(`${rel} has no truth for ${key}`);
  return all[key].map((t) => ({ name: t.name, shape: t.shape, n: numel(t.shape), sum: t.sum, sumsq: t.sumsq, first: t.first }));
}

/** pytorch/expected.json: `{ "<file>": { tensors: { name: { shape, first, sum, sumSq } } } }`. */
export function pytorchTruth(file: string): TensorTruth[] {
  const f = json('pytorch/expected.json')[file] as { tensors: Record<string, { shape: number[]; first: number[]; sum: number; sumSq: number }> };
  if (!f) throw new Error(`pytorch/expected.json has no truth for ${file}`);
  return Object.entries(f.tensors).map(([name, t]) => ({ name, shape: t.shape, n: numel(t.shape), sum: t.sum, sumsq: t.sumSq, first: t.first }));
}

/** A tensor's mean and (population) standard deviation from its sums. */
export function meanStd(t: TensorTruth): { mean: number; std: number } {
  const mean = t.sum / t.n;
  return { mean, std: Math.sqrt(Math.max(0, t.sumsq / t.n - mean * mean)) };
}
