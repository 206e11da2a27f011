// The streaming kernel alone, timed in-process (no start-up, no report): opens two checkpoints
// with the engine's readers, pairs tensors by name and shape, and accumulates the comparison
// sums over every pair as metrics.ts does. Prints one JSON line: wall ms, peak RSS, pairs,
// elements, a checksum of the RMSEs. bench/run.mjs uses it for the half-float and inspect rows.
//
//   node driver.js SRC TGT [--mode=pair|stream] [--chunk=ELEMENTS]
//   node driver.js --inspect FILE   ms and bytes read to open FILE's headers
//   --mode=pair   (default) tensorData.streamPair: float32 chunks, prefetch, both files at once
//   --mode=stream streamTensor + accumulatePair in lockstep, the simple API
//   --mode=read / --mode=compute  only the reading / only the arithmetic of `pair`
import { openCheckpoint } from '../src/core/formats/open';
import { FilePool, streamTensor, streamPair, DEFAULT_CHUNK_ELEMENTS } from '../src/core/tensor/tensorData';
import { accumulatePair, emptySums, metricsOf } from '../src/core/tensor/kernels';
import { RandomAccessFile } from '../src/core/common/fileio';
import { numel } from '../src/core/tensor/dtypes';

/** `--inspect FILE`: time and bytes read to open a checkpoint's headers (what `inspect` does). */
async function inspect(path: string): Promise<void> {
  const before = RandomAccessFile.bytesRead;
  const t0 = performance.now();
  try {
    const c = await openCheckpoint(path);
    const ms = performance.now() - t0;
    process.stdout.write(JSON.stringify({ ms, bytesRead: RandomAccessFile.bytesRead - before, tensors: c.tensors.length }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--inspect');
  if (i >= 0) return inspect(process.argv[i + 1]);
  const [srcPath, tgtPath] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const mode = process.argv.find((a) => a.startsWith('--mode='))?.slice(7) ?? 'pair';
  const chunk = Number(process.argv.find((a) => a.startsWith('--chunk='))?.slice(8) ?? DEFAULT_CHUNK_ELEMENTS);
  const t0 = performance.now();
  const [src, tgt] = await Promise.all([openCheckpoint(srcPath), openCheckpoint(tgtPath)]);
  const byName = new Map(tgt.tensors.map((t) => [t.name, t]));
  const pool = new FilePool();
  let pairs = 0, elements = 0, checksum = 0;
  for (const s of src.tensors) {
    const t = byName.get(s.name);
    if (!t || t.shape.join() !== s.shape.join()) continue;
    let acc = emptySums();
    if (mode === 'stream') {
      const gs = streamTensor(s, pool, chunk), gt = streamTensor(t, pool, chunk);
      for (;;) {
        const [a, b] = await Promise.all([gs.next(), gt.next()]);
        if (a.done || b.done) break;
        accumulatePair(acc, a.value.data, b.value.data, a.value.length);
      }
    } else if (mode === 'read') {
      // Reading alone (no arithmetic): with `compute`, shows how much of the two overlaps.
      for await (const c of streamPair(s, t, pool, chunk)) acc.n += c.length;
    } else if (mode === 'compute') {
      // Arithmetic alone, on the first chunk of the pair over and over (in the arena, in cache).
      const it = streamPair(s, t, pool, chunk);
      const first = await it.next();
      if (!first.done) {
        const c = first.value, n = numel(s.shape);
        for (let done = 0; done < n; done += c.length) accumulatePair(acc, c.source, c.target, Math.min(c.length, n - done));
      }
      await it.return(undefined);
    } else {
      for await (const c of streamPair(s, t, pool, chunk)) accumulatePair(acc, c.source, c.target, c.length);
    }
    pairs++; elements += acc.n;
    checksum += metricsOf(acc).rmse ?? 0;
  }
  await pool.closeAll();
  const wall = performance.now() - t0;
  process.stdout.write(JSON.stringify({ wallMs: wall, peakRssMB: process.resourceUsage().maxRSS / 1024, pairs, elements, checksum, mode }) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
