/**
 * An independent reader of the tiled-bitmap format, written from docs/format.md for the tests (it shares
 * no code with src/): finds every stored entry through the documented address formula
 *   offsets[t] + prefix[c >> 2] + Σ popcount(bitmap[4·(c>>2) .. c-1]) + popcount(bitmap[c] & ((1 << r) - 1))
 * and decodes f16 by its definition.
 */
import type {EncodedSparseMatrix} from '../../src/index';

function popcount(v: number): number {
  let n = 0;
  for (let b = 0; b < 32; b++) if ((v >>> b) & 1) n++;
  return n;
}

/** f16 bit pattern to number, by the IEEE 754 definition. */
export function halfToNumber(h: number): number {
  const sign = (h & 0x8000) ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * Math.pow(2, -24);
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * Math.pow(2, exp - 25);
}

/** Returns the dense [K, N] matrix (float64) that `e` stores, and its number of stored entries. */
export function readEncoded(e: EncodedSparseMatrix): {dense: Float64Array, stored: number} {
  const [K, N] = e.shape;
  const KT = Math.ceil(K / 32), NT = Math.ceil(N / 32);
  const dense = new Float64Array(K * N);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const element = (i: number): number => {
    const word = e.values[e.valueType === 'float16' ? i >> 1 : i] >>> 0;
    if (e.valueType === 'float32') {
      u32[0] = word;
      return f32[0];
    }
    return halfToNumber((i & 1) ? word >>> 16 : word & 0xffff);
  };
  let stored = 0;
  for (let nt = 0; nt < NT; nt++) {
    for (let kt = 0; kt < KT; kt++) {
      const t = nt * KT + kt;
      const base = t * 36;
      for (let c = 0; c < 32; c++) {
        const bits = e.header[base + c];
        const g = c >> 2;
        const prefixWord = e.header[base + 32 + (g >> 1)] >>> 0;
        const prefix = (g & 1) ? prefixWord >>> 16 : prefixWord & 0xffff;
        let before = 0;
        for (let c2 = 4 * g; c2 < c; c2++) before += popcount(e.header[base + c2]);
        for (let r = 0; r < 32; r++) {
          if (!((bits >>> r) & 1)) continue;
          const below = popcount(bits & ((1 << r) - 1));
          const at = e.offsets[t] + prefix + before + below;
          const k = kt * 32 + r, n = nt * 32 + c;
          if (k >= K || n >= N) throw new Error(`stored bit outside the matrix at (${k}, ${n})`);
          dense[k * N + n] = element(at);
          stored++;
        }
      }
    }
  }
  return {dense, stored};
}
