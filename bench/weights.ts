/** Random matrices for the benchmark, and exact magnitude pruning. Fast enough for 8192×8192 in Node. */

/**
 * About-normal values (mean 0, variance 1): the scaled sum of four 16-bit uniforms (Irwin-Hall, n = 4),
 * from xorshift32. About 12 ns per value; Box-Muller costs four times more and speed does not depend on
 * the distribution's tails. Written into `out` (its first n entries) when given.
 */
export function randn(n: number, seed: number, out: Float32Array = new Float32Array(n)): Float32Array {
  let s = (Math.imul(seed | 0, 2654435761) ^ 0x9e3779b9) >>> 0 || 1;
  const k = Math.sqrt(3) / 65536;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const a = s >>> 0;
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const b = s >>> 0;
    out[i] = ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) - 131070) * k;
  }
  return out;
}

const BINS = 1 << 16;

/** Histogram of |v| over [0, max|v|], reused to prune one matrix at several sparsities. */
export interface MagnitudeHistogram {
  scale: number;  // bin = min(BINS - 1, floor(|v| * scale))
  counts: Uint32Array;
}

export function magnitudeHistogram(v: Float32Array): MagnitudeHistogram {
  let max = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > max) max = a;
  }
  const scale = max > 0 ? BINS / max : 0;
  const counts = new Uint32Array(BINS);
  for (let i = 0; i < v.length; i++) counts[Math.min(BINS - 1, Math.floor(Math.abs(v[i]!) * scale))]!++;
  return {scale, counts};
}

/**
 * A copy of v with exactly round(sparsity · n) entries set to 0: those of smallest magnitude (ties broken
 * by index). Entries of v that are already 0 count among them. For i.i.d. values this is uniform
 * unstructured sparsity.
 */
export function pruneCopy(v: Float32Array, sparsity: number, h: MagnitudeHistogram): {values: Float32Array; zeros: number} {
  const n = v.length;
  const k = Math.round(sparsity * n);
  const out = new Float32Array(n);
  if (k <= 0) {
    out.set(v);
    return {values: out, zeros: countZeros(out)};
  }
  if (k >= n) return {values: out, zeros: n};
  // Bin b holds the k-th smallest magnitude: all bins below it go, `need` entries of bin b go.
  let below = 0, b = 0;
  while (below + h.counts[b]! <= k) below += h.counts[b++]!;
  const need = k - below;
  const boundary: number[] = [];
  const scale = h.scale;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    const bin = Math.min(BINS - 1, Math.floor(Math.abs(x) * scale));
    if (bin > b) out[i] = x;
    else if (bin === b) {
      out[i] = x;
      boundary.push(i);
    }
  }
  boundary.sort((i, j) => Math.abs(v[i]!) - Math.abs(v[j]!) || i - j);
  for (let t = 0; t < need; t++) out[boundary[t]!] = 0;
  return {values: out, zeros: countZeros(out)};
}

function countZeros(v: Float32Array): number {
  let z = 0;
  for (let i = 0; i < v.length; i++) if (v[i] === 0) z++;
  return z;
}
