// How the TFLite reader reads: its flatbuffer tables through asynchronous positioned reads
// (RandomAccessFile, which counts every byte), never the weights themselves when listing. The
// model is written here with the flatbuffers runtime's Builder (field numbers of TensorFlow's
// schema.fbs): two layers whose weights are 6.4 MB in all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as flatbuffers from 'flatbuffers';
import { openCheckpoint } from '../../src/core/formats/open';
import { RandomAccessFile } from '../../src/core/common/fileio';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';

const CONV = { out: 256, kh: 3, kw: 3, in: 256 };
const FC = { out: 1000, in: 1024 };

/** A TFLite model: input → CONV_2D(weight [out, kh, kw, in], bias) → FULLY_CONNECTED(weight [out, in]). Weight element i holds i / 1000. */
function buildModel(): Uint8Array {
  const b = new flatbuffers.Builder(1 << 16);
  const floats = (n: number) => { const f = new Float32Array(n); for (let i = 0; i < n; i++) f[i] = i / 1000; return new Uint8Array(f.buffer); };
  const intVector = (xs: number[]) => { b.startVector(4, xs.length, 4); for (const x of [...xs].reverse()) b.addInt32(x); return b.endVector(); };
  const offsets = (xs: number[]) => { b.startVector(4, xs.length, 4); for (const x of [...xs].reverse()) b.addOffset(x); return b.endVector(); };
  const buffer = (data?: Uint8Array) => {
    b.forceDefaults(false);
    const d = data ? (b.startVector(1, data.length, 16), data.slice().reverse().forEach((x) => b.addInt8(x)), b.endVector()) : 0;
    b.startObject(3);
    if (d) b.addFieldOffset(0, d, 0);
    return b.endObject();
  };
  const buffers = [buffer(), buffer(floats(CONV.out * CONV.kh * CONV.kw * CONV.in)), buffer(floats(CONV.out)), buffer(floats(FC.out * FC.in))];
  const tensor = (name: string, shape: number[], bufferIndex: number) => {
    const n = b.createString(name), s = intVector(shape);
    b.startObject(5);
    b.addFieldOffset(0, s, 0);
    b.addFieldInt8(1, 0, -1); // FLOAT32
    b.addFieldInt32(2, bufferIndex, 0);
    b.addFieldOffset(3, n, 0);
    return b.endObject();
  };
  const tensors = [
    tensor('input', [1, 16, 16, CONV.in], 0),
    tensor('model/conv/Conv2D', [CONV.out, CONV.kh, CONV.kw, CONV.in], 1),
    tensor('model/conv/BiasAdd', [CONV.out], 2),
    tensor('model/conv/Relu', [1, 16, 16, CONV.out], 0),
    tensor('model/dense/MatMul', [FC.out, FC.in], 3),
    tensor('output', [1, FC.out], 0),
  ];
  const operator = (code: number, inputs: number[], outputs: number[]) => {
    const i = intVector(inputs), o = intVector(outputs);
    b.startObject(3);
    b.addFieldInt32(0, code, -1);
    b.addFieldOffset(1, i, 0);
    b.addFieldOffset(2, o, 0);
    return b.endObject();
  };
  const ops = [operator(0, [0, 1, 2], [3]), operator(1, [3, 4, -1], [5])];
  const opCode = (builtin: number) => { b.startObject(4); b.addFieldInt8(0, builtin, -1); b.addFieldInt32(3, builtin, -1); return b.endObject(); };
  const codes = [opCode(3), opCode(9)]; // CONV_2D, FULLY_CONNECTED
  const tv = offsets(tensors), ov = offsets(ops), inputs = intVector([0]), outputs = intVector([5]);
  b.startObject(5);
  b.addFieldOffset(0, tv, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  b.addFieldOffset(3, ov, 0);
  const sg = b.endObject();
  const cv = offsets(codes), sv = offsets([sg]), bv = offsets(buffers), desc = b.createString('written by a test');
  b.startObject(5);
  b.addFieldInt32(0, 3, -1);
  b.addFieldOffset(1, cv, 0);
  b.addFieldOffset(2, sv, 0);
  b.addFieldOffset(3, desc, 0);
  b.addFieldOffset(4, bv, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array();
}

let dir: string, file: string, size: number;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rl-tflite-reads-'));
  file = join(dir, 'two_layers.tflite');
  const bytes = buildModel();
  size = bytes.byteLength;
  writeFileSync(file, bytes);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('listing a 6 MB TFLite model reads its tables through positioned reads, not its weights', async () => {
  assert.ok(size > 6e6, `the model is ${size} bytes`);
  // Synchronous reads would hold the worker's thread (and its cancel and progress messages).
  const readSync = fs.readSync;
  let syncReads = 0;
  fs.readSync = ((...args: Parameters<typeof fs.readSync>) => { syncReads++; return readSync(...args); }) as typeof fs.readSync;
  const before = RandomAccessFile.bytesRead;
  let ck;
  try { ck = await openCheckpoint(file); } finally { fs.readSync = readSync; }
  const read = RandomAccessFile.bytesRead - before;
  assert.equal(syncReads, 0, 'no fs.readSync while listing');
  assert.deepEqual(ck.tensors.map((t) => `${t.name} ${t.group?.layer} ${t.group?.role} [${t.shape.join(',')}]`), [
    'model/conv/Conv2D model/conv weight [256,256,3,3]',
    'model/conv/BiasAdd model/conv bias [256]',
    'model/dense/MatMul model/dense weight [1000,1024]',
  ]);
  // The reads go through RandomAccessFile (asynchronous, counted): a few 16 KB pages of tables and
  // one page at the start of each weight (its length), not the 6.4 MB of weights.
  assert.ok(read <= 128 * 1024, `listing read ${read} of ${size} bytes`);
});

test('a TFLite conv kernel reads in PyTorch layout from its [out, kh, kw, in] storage', async () => {
  const ck = await openCheckpoint(file);
  const pool = new FilePool();
  try {
    const v = await readTensor(ck.tensors[0], pool);
    // PyTorch [o, c, y, x] is stored at ((o * kh + y) * kw + x) * in + c.
    for (const [o, c, y, x] of [[0, 0, 0, 0], [0, 1, 0, 0], [5, 7, 2, 1], [255, 255, 2, 2]]) {
      const stored = ((o * CONV.kh + y) * CONV.kw + x) * CONV.in + c;
      assert.equal(v[((o * CONV.in + c) * CONV.kh + y) * CONV.kw + x], Math.fround(stored / 1000), `[${o}, ${c}, ${y}, ${x}]`);
    }
  } finally { await pool.closeAll(); }
});
