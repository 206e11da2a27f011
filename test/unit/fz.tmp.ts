import { readFileSync, writeFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pytorchReader } from '../../src/core/formats/pytorch';
import { FilePool, readTensor } from '../../src/core/tensorData';
import { CheckpointError } from '../../src/core/errors';
import { RandomAccessFile } from '../../src/core/fileio';
let openCount = 0;
const origOpen = RandomAccessFile.open.bind(RandomAccessFile);
(RandomAccessFile as any).open = async (p: string) => { const r = await origOpen(p); openCount++; const c = r.close.bind(r); let closed = false; r.close = async () => { if (!closed) { closed = true; openCount--; } return c(); }; return r; };
let seed = 12345;
const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
(async () => {
  const dir = join(__dirname, '../fixtures/pytorch');
  const files = readdirSync(dir).filter((f) => /\.(pt|pth|bin|ckpt)$/.test(f));
  const tmp = mkdtempSync(join(tmpdir(), 'fz-'));
  const bad: Record<string, number> = {};
  let n = 0, ok = 0;
  const t0 = Date.now();
  for (let it = 0; it < 3000; it++) {
    const f = files[rnd(files.length)];
    const b = Buffer.from(readFileSync(join(dir, f)));
    const k = rnd(4);
    let m: Buffer = b;
    if (k === 0) for (let j = 0; j < 1 + rnd(4); j++) b[rnd(b.length)] ^= 1 << rnd(8);
    else if (k === 1) m = b.subarray(0, rnd(b.length));
    else if (k === 2) { const p = rnd(b.length); m = Buffer.concat([b.subarray(0, p), Buffer.from([rnd(256)]), b.subarray(p)]); }
    else { for (let j = 0; j < 1 + rnd(3); j++) b[rnd(b.length)] = [0, 0xff, 0x7f, 0x80][rnd(4)]; }
    const p = join(tmp, 'm' + f.slice(f.lastIndexOf('.')));
    writeFileSync(p, m);
    n++;
    const s = Date.now();
    try {
      const c = await pytorchReader.open(p);
      const pool = new FilePool();
      try { for (const t of c.tensors) await readTensor(t, pool); ok++; } finally { await pool.closeAll(); }
    } catch (e) {
      if (!(e instanceof CheckpointError)) { const key = String((e as Error)?.stack ?? e).split('\n').slice(0, 3).join(' | '); bad[key] = (bad[key] ?? 0) + 1; writeFileSync(join(tmp, `crash${it}`), m); }
    }
    if (openCount > 0) { console.log('leak', f, k, openCount, m.length, b.length); openCount = 0; }
    if (Date.now() - s > 2000) console.log('slow', f, k, Date.now() - s);
  }
  console.log(n, 'inputs', ok, 'opened', Date.now() - t0, 'ms', tmp);
  console.log(bad);
})();
