// Writes a mixture-of-experts-shaped safetensors pair with ~20,000 tiny tensors (the layout of
// bench/generate_many.py: per block an attention projection, a norm and experts × 3
// projections) for the report panel's large-report step: a 20,020-layer report from ~3 MB of
// files, written at test time into the temp workspace. The target drifts more the deeper the
// block, so its verdicts run from reuse through fine-tune to retrain.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIM = 2;

function layout(blocks, experts) {
  const out = [];
  for (let b = 0; b < blocks; b++) {
    out.push([`model.layers.${b}.attn.proj.weight`, [DIM, DIM]]);
    out.push([`model.layers.${b}.post_norm.weight`, [DIM]]);
    for (let e = 0; e < experts; e++) {
      out.push([`model.layers.${b}.mlp.experts.${e}.gate_proj.weight`, [4 * DIM, DIM]]);
      out.push([`model.layers.${b}.mlp.experts.${e}.up_proj.weight`, [4 * DIM, DIM]]);
      out.push([`model.layers.${b}.mlp.experts.${e}.down_proj.weight`, [DIM, 4 * DIM]]);
    }
  }
  return out;
}

function write(path, tensors) {
  const header = {};
  let off = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + data.byteLength] };
    off += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...tensors.map((t) => Buffer.from(t[2].buffer))]));
}

/** Writes DIR/moe-source.safetensors and DIR/moe-target.safetensors; returns their paths and the layer count. */
export function writeManyPair(dir, blocks = 26, experts = 256) {
  mkdirSync(dir, { recursive: true });
  let x = 12345;
  const rand = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 4294967296 - 0.5; };
  const src = [], tgt = [];
  for (const [name, shape] of layout(blocks, experts)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const s = new Float32Array(n), t = new Float32Array(n);
    const parts = name.split('.');
    const block = Number(parts[2]);
    const expert = parts[4] === 'experts' ? Number(parts[5]) : 0;
    const drift = 0.02 + 1.2 * (block / Math.max(1, blocks - 1)) * (0.5 + ((expert * 37) % 64) / 64);
    for (let i = 0; i < n; i++) { s[i] = rand() * 3.4; t[i] = s[i] + drift * rand() * 3.4; }
    src.push([name, shape, s]);
    tgt.push([name, shape, t]);
  }
  const source = join(dir, 'moe-source.safetensors'), target = join(dir, 'moe-target.safetensors');
  write(source, src);
  write(target, tgt);
  return { source, target, layers: blocks * (2 + 3 * experts) };
}
