// The order-and-shape alignment on large inputs: the pieces it is cut into (dropping what
// cannot pair, pairing equal heads, a bounded band) give the pairs the exact alignment gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignSignatures, exactAlign, Signatures } from '../../src/core/analysis/alignment';
import { matchLayersExplained } from '../../src/core/analysis/matching';
import { groupLayers } from '../../src/core/analysis/layers';
import { TensorInfo } from '../../src/core/common/types';

/** A seeded generator, so a failure names a case that can be replayed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

/** Two edits of one random network: layers removed, inserted and reshaped at random places. */
function editedPair(seed: number, maxEdits = Infinity): [Signatures, Signatures] {
  const r = rng(seed);
  const kinds = 2 + r(6); // few distinct shapes: repeats everywhere, as in real networks
  const base = Array.from({ length: 5 + r(60) }, () => r(2 * kinds));
  const edit = () => {
    let budget = maxEdits;
    const out: number[] = [];
    for (const x of base) {
      const e = budget > 0 ? r(10) : 9;
      if (e === 0) { budget--; continue; } // removed
      if (e === 1) { budget--; out.push(r(2 * kinds)); } // inserted before
      out.push(e === 2 ? (x ^ 1) : x); // e === 2: same main weight, another bias
    }
    return out;
  };
  // Signature x: main weight x >> 1, every tensor x (two layers with equal main, other bias).
  const sig = (xs: number[]): Signatures => ({ main: Int32Array.from(xs, (x) => x >> 1), all: Int32Array.from(xs) });
  return [sig(edit()), sig(edit())];
}

const score = (s: Signatures, t: Signatures, pairs: [number, number][]) => pairs.reduce((a, [i, j]) => a + (s.all[i] === t.all[j] ? 3 : 2), 0);

test('the alignment used for large inputs gives the pairs of the exact alignment (2,000 random edited networks)', () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const [s, t] = editedPair(seed);
    // exactCells 4: every input takes the large path (drop what cannot pair, pair equal heads, then the gaps).
    const large = alignSignatures(s, t, { exactCells: 4, bandCells: 1e9 });
    assert.deepEqual(large.pairs, exactAlign(s, t), `seed ${seed}`);
    assert.equal(large.banded, 0);
  }
});

test('a band of bounded width loses nothing when layers are inserted or removed in fewer places than its width', () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const [s, t] = editedPair(seed, 3);
    const band = alignSignatures(s, t, { exactCells: 4, bandCells: 2 * 8 * (s.main.length + 1) }); // 8 either side
    const exact = exactAlign(s, t);
    assert.equal(score(s, t, band.pairs), score(s, t, exact), `seed ${seed}`);
    for (let k = 1; k < band.pairs.length; k++) assert.ok(band.pairs[k][0] > band.pairs[k - 1][0] && band.pairs[k][1] > band.pairs[k - 1][1]);
  }
});

function tensor(name: string, shape: number[]): TensorInfo {
  return { name, dtype: 'F32', shape, location: { kind: 'loader', load: async () => new Uint8Array(0), littleEndian: true } };
}
/** A mixture-of-experts state dict: per block an attention projection, a norm, and experts × 3 projections. */
function moe(prefix: string, blocks: number, experts: number, d: number, rename = (n: string) => n): TensorInfo[] {
  const out: TensorInfo[] = [];
  for (let b = 0; b < blocks; b++) {
    out.push(tensor(rename(`${prefix}.${b}.attn.proj.weight`), [d, d]), tensor(rename(`${prefix}.${b}.post_norm.weight`), [d]));
    for (let e = 0; e < experts; e++) {
      for (const p of ['gate', 'up']) out.push(tensor(rename(`${prefix}.${b}.mlp.experts.${e}.${p}_proj.weight`), [4 * d, d]));
      out.push(tensor(rename(`${prefix}.${b}.mlp.experts.${e}.down_proj.weight`), [d, 4 * d]));
    }
  }
  return out;
}

test('an unrelated pair of 47,000-layer networks ends at once with everything unmatched and the reason said', () => {
  const src = groupLayers(moe('model.layers', 61, 256, 8));
  const tgt = groupLayers(moe('net.h', 61, 256, 9));
  const m = matchLayersExplained(src, tgt, []);
  assert.equal(m.pairs.length, src.length + tgt.length);
  assert.ok(m.pairs.every((p) => p.matchedBy === 'none'));
  assert.match(m.notes.join('\n'), /No layer pairs: none of the 46970 source layers .* 46970 target layers; these look like different networks/);
});

test('a renamed 47,000-layer network pairs every layer by order and shape, in order', () => {
  const src = groupLayers(moe('model.layers', 61, 256, 8));
  const tgt = groupLayers(moe('model.layers', 61, 256, 8, (n) => n.replace('model.layers', 'backbone').replace('experts', 'ffn')));
  const m = matchLayersExplained(src, tgt, []);
  assert.equal(m.pairs.length, src.length);
  m.pairs.forEach((p, k) => { assert.equal(p.matchedBy, 'order+shape'); assert.equal(p.source, src[k]); assert.equal(p.target, tgt[k]); });
  assert.deepEqual(m.notes, []);
});

test('a large renamed network with an expert removed and a block added pairs as the exact alignment pairs a small one', () => {
  // The same edit on a network small enough for the exact alignment and on one of 23,000 layers.
  const edit = (blocks: number, experts: number) => {
    const mid = Math.floor(blocks / 2);
    const tgt = moe('b', blocks, experts, 8)
      .filter((t) => !t.name.startsWith(`b.${mid}.mlp.experts.3.`)) // one expert gone
      .concat(moe('b.extra', 1, 2, 16)); // a new block of another width at the end
    return { mid, experts, m: matchLayersExplained(groupLayers(moe('a', blocks, experts, 8)), groupLayers(tgt), []) };
  };
  // Experts of one block have the same shapes: neither alignment can tell which one went, and
  // both pair the earliest, leaving the block's last expert source-only.
  const unpaired = ({ mid, experts, m }: ReturnType<typeof edit>) => m.pairs.filter((p) => p.matchedBy === 'none')
    .map((p) => (p.source ? `-${p.source.name}` : `+${p.target!.name}`).replace(`a.${mid}.mlp.experts.${experts - 1}.`, 'a.MID.mlp.experts.LAST.'));
  const small = edit(3, 6), large = edit(61, 128);
  assert.deepEqual(unpaired(small).slice(0, 4), ['-a.MID.mlp.experts.LAST.gate_proj', '-a.MID.mlp.experts.LAST.up_proj', '-a.MID.mlp.experts.LAST.down_proj', '+b.extra.0.attn.proj']);
  assert.deepEqual(unpaired(large), unpaired(small));
  assert.equal(large.m.pairs.filter((p) => p.matchedBy === 'order+shape').length, 61 * (2 + 128 * 3) - 3);
  assert.deepEqual(large.m.notes, []);
});

test('a long stretch the band may have misaligned is said in the notes', () => {
  // Target: the source's layers with every fourth one moved to the end, too far for a band.
  const shapes = Array.from({ length: 6000 }, (_, k) => [8 + (k % 97), 8 + (k % 89)]);
  const src = shapes.map((s, k) => tensor(`s${k}.weight`, s));
  const tgt = [...shapes.filter((_, k) => k % 4 !== 0), ...shapes.filter((_, k) => k % 4 === 0)].map((s, k) => tensor(`t${k}.weight`, s));
  const m = matchLayersExplained(groupLayers(src), groupLayers(tgt), [], { exactCells: 1_000_000, bandCells: 1_000_000 });
  assert.match(m.notes.join('\n'), /pairing of 6000 source and 6000 target layers .* was bounded .* may be left unpaired/);
});
