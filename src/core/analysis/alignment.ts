// Order-and-shape alignment of two sequences of layer signatures, in time and memory that fit
// checkpoints of tens of thousands of layers. A layer is reduced to two integers: `main` (kind
// and main weight's role and shape) and `all` (every tensor's role and shape). Two layers can
// pair when their `main` ids are equal; the pair scores 3 when their `all` ids are equal too,
// else 2. The alignment maximises the total score, like an edit distance where a gap is free.
//
// Small inputs get the exact dynamic programme (a table of (m+1)(n+1) cells). Large ones:
//   1. source layers whose `main` never occurs in the target are dropped (they cannot pair);
//      when none is left, the work ends there: an unrelated pair costs one pass;
//   2. heads that pair with the top score are paired (the same network renamed pairs here,
//      in one pass);
//   3. what is left is solved exactly when small enough, else in a band of bounded width
//      around the diagonal (exact when the best alignment stays within the band: layers
//      inserted or removed in fewer than `band` places), and the caller is told.
// Steps 1 and 2 change no result of the exact programme (same pairs, not only the same
// score), which the property test checks; the caller (matching.ts) first cuts a large input
// at the layers paired by name, so gaps are between name anchors.

/** Signature ids of one side. */
export interface Signatures { main: Int32Array; all: Int32Array }

export interface AlignLimits {
  /** Largest table (cells) solved by the exact programme. */
  exactCells: number;
  /** Most cells a banded alignment of one gap may use. */
  bandCells: number;
}

/** 16M cells: a 64 MB table, ~50 ms; past it the pieces. */
export const DEFAULT_LIMITS: AlignLimits = { exactCells: 16_000_000, bandCells: 16_000_000 };

export interface Alignment {
  /** Index pairs, increasing in both. */
  pairs: [number, number][];
  /** Why the alignment may not be the best one: gaps aligned in a band (the number of them). */
  banded: number;
}

function score(s: Signatures, t: Signatures, i: number, j: number): number {
  if (s.main[i] !== t.main[j]) return 0;
  return s.all[i] === t.all[j] ? 3 : 2;
}

/**
 * The exact alignment of s[i0..i1) with t[j0..j1): a suffix table best[i][j] = best score of
 * aligning the rest, traced forward taking a pair whenever it is optimal, so among equal
 * scores the earliest pairing wins (a layer inserted in the middle is skipped where it stands,
 * not where the sequences end).
 */
export function exactAlign(s: Signatures, t: Signatures, i0 = 0, i1 = s.main.length, j0 = 0, j1 = t.main.length): [number, number][] {
  const m = i1 - i0, n = j1 - j0;
  if (m <= 0 || n <= 0) return [];
  const W = n + 1;
  const best = new Int32Array((m + 1) * W);
  for (let i = m - 1; i >= 0; i--) {
    const sm = s.main[i0 + i], sa = s.all[i0 + i];
    for (let j = n - 1; j >= 0; j--) {
      let b = best[(i + 1) * W + j];
      const r = best[i * W + j + 1];
      if (r > b) b = r;
      if (sm === t.main[j0 + j]) {
        const d = best[(i + 1) * W + j + 1] + (sa === t.all[j0 + j] ? 3 : 2);
        if (d > b) b = d;
      }
      best[i * W + j] = b;
    }
  }
  const pairs: [number, number][] = [];
  let i = 0, j = 0;
  while (i < m && j < n) {
    const here = best[i * W + j];
    const p = score(s, t, i0 + i, j0 + j);
    if (p > 0 && here === best[(i + 1) * W + j + 1] + p) { pairs.push([i0 + i, j0 + j]); i++; j++; }
    else if (here === best[(i + 1) * W + j]) i++;
    else j++;
  }
  return pairs;
}

/**
 * Aligns in a band around the diagonal from (i0, j0) to (i1, j1), `half` cells either side:
 * bounded work where no anchor splits a long gap. Exact when the best alignment stays in the band.
 */
function bandAlign(s: Signatures, t: Signatures, i0: number, i1: number, j0: number, j1: number, half: number): [number, number][] {
  const m = i1 - i0, n = j1 - j0;
  const W = 2 * half + 1;
  // Row i covers columns centre(i) - half .. centre(i) + half (clipped), centre on the diagonal.
  const lo = (i: number) => Math.max(0, Math.min(n, Math.round((i * n) / m)) - half);
  const NEG = -1;
  const best = new Int32Array((m + 1) * (W + 1)).fill(NEG);
  const at = (i: number, j: number): number => {
    if (i === m || j === n) return 0;
    const k = j - lo(i);
    return k < 0 || k >= W ? NEG : best[i * (W + 1) + k];
  };
  for (let i = m - 1; i >= 0; i--) {
    const l = lo(i);
    for (let k = Math.min(W, n - l) - 1; k >= 0; k--) {
      const j = l + k;
      let b = Math.max(at(i + 1, j), at(i, j + 1));
      const p = score(s, t, i0 + i, j0 + j);
      if (p > 0) { const d = at(i + 1, j + 1); if (d >= 0) b = Math.max(b, d + p); }
      best[i * (W + 1) + k] = b;
    }
  }
  const pairs: [number, number][] = [];
  let i = 0, j = Math.max(0, lo(0));
  // Start where the band begins (lo(0) is 0); walk like the exact trace, staying inside the band.
  while (i < m && j < n) {
    const here = at(i, j);
    if (here < 0) { j++; continue; }
    const p = score(s, t, i0 + i, j0 + j);
    if (p > 0 && here === at(i + 1, j + 1) + p) { pairs.push([i0 + i, j0 + j]); i++; j++; }
    else if (here === at(i + 1, j)) i++;
    else j++;
  }
  return pairs;
}

/** The longest chain of (i, j) pairs increasing in both (pairs come sorted by i). */
export function longestIncreasing(pairs: [number, number][]): [number, number][] {
  const tails: number[] = []; // index into pairs of the chain's end, for each length
  const prev = new Int32Array(pairs.length).fill(-1);
  for (let k = 0; k < pairs.length; k++) {
    const j = pairs[k][1];
    let a = 0, b = tails.length;
    while (a < b) { const mid = (a + b) >> 1; if (pairs[tails[mid]][1] < j) a = mid + 1; else b = mid; }
    if (a > 0) prev[k] = tails[a - 1];
    tails[a] = k;
  }
  const out: [number, number][] = [];
  for (let k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = prev[k]) out.push(pairs[k]);
  return out.reverse();
}

/** Aligns two signature sequences; see the file comment for how large inputs are cut. */
export function alignSignatures(s: Signatures, t: Signatures, limits: AlignLimits = DEFAULT_LIMITS): Alignment {
  const m = s.main.length, n = t.main.length;
  if (m === 0 || n === 0) return { pairs: [], banded: 0 };
  if ((m + 1) * (n + 1) <= limits.exactCells) return { pairs: exactAlign(s, t), banded: 0 };
  // Source layers that cannot pair at all are dropped first (the exact trace skips them where
  // they stand, so this changes no result); when none can pair, the work ends here.
  const mainT = new Set<number>(t.main);
  const keepS: number[] = [];
  for (let i = 0; i < m; i++) if (mainT.has(s.main[i])) keepS.push(i);
  if (keepS.length === 0) return { pairs: [], banded: 0 };
  const ss: Signatures = { main: Int32Array.from(keepS, (k) => s.main[k]), all: Int32Array.from(keepS, (k) => s.all[k]) };
  const out: [number, number][] = [];
  const state = { banded: 0 };
  alignGap(ss, t, 0, keepS.length, 0, n, limits, out, state);
  return { pairs: out.map(([i, j]) => [keepS[i], j]), banded: state.banded };
}

/** Appends the alignment of s[i0..i1) with t[j0..j1) to `out`, in order. */
function alignGap(s: Signatures, t: Signatures, i0: number, i1: number, j0: number, j1: number, limits: AlignLimits, out: [number, number][], state: { banded: number }): void {
  // Heads that pair with the top score: always in an optimal alignment, and the pair the
  // exact trace takes first, so this changes no result.
  while (i0 < i1 && j0 < j1 && s.all[i0] === t.all[j0] && s.main[i0] === t.main[j0]) out.push([i0++, j0++]);
  const m = i1 - i0, n = j1 - j0;
  if (m <= 0 || n <= 0) return;
  if ((m + 1) * (n + 1) <= limits.exactCells) { out.push(...exactAlign(s, t, i0, i1, j0, j1)); return; }
  // At least as wide as the diagonal's slope, so that consecutive rows' bands overlap.
  const half = Math.max(1, Math.ceil(n / m) + 1, Math.floor(limits.bandCells / (2 * (m + 1))));
  if (2 * half + 1 >= n) { out.push(...exactAlign(s, t, i0, i1, j0, j1)); return; }
  const band = bandAlign(s, t, i0, i1, j0, j1, half);
  // When the band reached the most any alignment could score, nothing was lost to it.
  if (gapScore(s, t, band) < scoreBound(s, t, i0, i1, j0, j1)) state.banded++;
  out.push(...band);
}

function gapScore(s: Signatures, t: Signatures, pairs: [number, number][]): number {
  let sum = 0;
  for (const [i, j] of pairs) sum += score(s, t, i, j);
  return sum;
}

/** No alignment scores more: 2 per possible pair of equal `main`, 1 more per possible pair of equal `all`. */
function scoreBound(s: Signatures, t: Signatures, i0: number, i1: number, j0: number, j1: number): number {
  const bound = (a: Int32Array, b: Int32Array) => {
    const count = new Map<number, number>();
    for (let i = i0; i < i1; i++) count.set(a[i], (count.get(a[i]) ?? 0) + 1);
    let sum = 0;
    for (let j = j0; j < j1; j++) { const c = count.get(b[j]); if (c) { sum++; count.set(b[j], c - 1); } }
    return sum;
  };
  return 2 * bound(s.main, t.main) + bound(s.all, t.all);
}
