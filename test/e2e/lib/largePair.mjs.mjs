// Writes a large source/target pair of safetensors checkpoints (a stack of 512x512 3x3 convs,
// like a VGG-sized backbone) for the cancel and responsiveness steps. Generated at test time
// into the temp workspace: hundreds of MB are not for git.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const SHAPE = [512, 512, 3, 3];
const PER_LAYER = SHAPE.reduce((a, b) => a * b);

/** Deterministic fast noise in [-0.05, 0.05): xorshift32. */
function fill(buf, seed) {
  let x = seed | 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    buf[i] = (x >>> 0) / 4294967296 * 0.1 - 0.05;
  }
}

function writeCheckpoint(path, layers, perturb, dtype) {
  const width = dtype === 'F32' ? 4 : 2;
  const header = {};
  let offset = 0;
  for (let l = 0; l < layers; l++) {
    const bytes = PER_LAYER * width;
    header[`features.${l}.weight`] = { dtype, shape: SHAPE, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    // One random base and one noise pattern, reused for every layer (shifted by a per-layer
    // offset): generating gigabytes of fresh noise would dominate the test's time.
    const base = new Float32Array(PER_LAYER);
    const noise = new Float32Array(PER_LAYER);
    const data = new Float32Array(PER_LAYER);
    const bits = new Uint32Array(data.buffer);
    const bf16 = new Uint16Array(width === 2 ? PER_LAYER : 0);
    fill(base, 1000);
    fill(noise, 9000);
    for (let l = 0; l < layers; l++) {
      const shift = 0.001 * l;
      // Later layers drift further from the source, as after fine-tuning.
      const k = perturb ? (l / layers) * 1.5 : 0;
      for (let i = 0; i < data.length; i++) data[i] = base[i] + shift + noise[i] * k;
      // bfloat16 is the top half of a float32 (truncated).
      if (width === 2) for (let i = 0; i < bits.length; i++) bf16[i] = bits[i] >>> 16;
      if (width === 4) writeSync(fd, new Uint8Array(data.buffer));
      else writeSync(fd, new Uint8Array(bf16.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return offset + 8 + Buffer.byteLength(json);
}

/** Writes dir/source.safetensors and dir/target.safetensors of about `mb` MB each. */
export function writeLargePair(dir, mb = 300, dtype = 'F32') {
  mkdirSync(dir, { recursive: true });
  const layers = Math.max(2, Math.round((mb * 1e6) / (PER_LAYER * (dtype === 'F32' ? 4 : 2))));
  const source = join(dir, 'source.safetensors');
  const target = join(dir, 'target.safetensors');
  const bytes = writeCheckpoint(source, layers, false, dtype);
  writeCheckpoint(target, layers, true, dtype);
  return { source, target, bytes, layers };
}
