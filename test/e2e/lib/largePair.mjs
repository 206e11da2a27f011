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

function writeCheckpoint(path, layers, perturb) {
  const header = {};
  let offset = 0;
  for (let l = 0; l < layers; l++) {
    const bytes = PER_LAYER * 4;
    header[`features.${l}.weight`] = { dtype: 'F32', shape: SHAPE, data_offsets: [offset, offset + bytes] };
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
    fill(base, 1000);
    fill(noise, 9000);
    for (let l = 0; l < layers; l++) {
      const shift = 0.001 * l;
      // Later layers drift further from the source, as after fine-tuning.
      const k = perturb ? (l / layers) * 1.5 : 0;
      for (let i = 0; i < data.length; i++) data[i] = base[i] + shift + noise[i] * k;
      writeSync(fd, new Uint8Array(data.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return offset + 8 + Buffer.byteLength(json);
}

/** Writes dir/source.safetensors and dir/target.safetensors of about `mb` MB each. */
export function writeLargePair(dir, mb = 300) {
  mkdirSync(dir, { recursive: true });
  const layers = Math.max(2, Math.round((mb * 1e6) / (PER_LAYER * 4)));
  const source = join(dir, 'source.safetensors');
  const target = join(dir, 'target.safetensors');
  const bytes = writeCheckpoint(source, layers, false);
  writeCheckpoint(target, layers, true);
  return { source, target, bytes, layers };
}
