/**
 * References of the decoder ops (rowNorm, mlpActivation, decodeAttention in float64; kvCacheWrite),
 * written from their definitions.
 */
import {erf64} from './decoder_reference';

/** RMSNorm or LayerNorm of each row, without scale or shift. */
export function rowNormRef(x: Float32Array, rows: number, C: number, kind: 'rms' | 'layer', eps: number): Float64Array {
  const out = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    if (kind === 'layer') {
      for (let c = 0; c < C; c++) mean += x[r * C + c];
      mean /= C;
    }
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (x[r * C + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) out[r * C + c] = (x[r * C + c] - mean) * inv;
  }
  return out;
}

/** SwiGLU of a fused gate|up row (N = 2F), or the erf GELU. */
export function mlpRef(z: ArrayLike<number>, rows: number, N: number, kind: 'swiglu' | 'gelu'): Float64Array {
  const F = kind === 'swiglu' ? N / 2 : N;
  const out = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < F; i++) {
      const v = z[r * N + i];
      out[r * F + i] = kind === 'swiglu' ? v / (1 + Math.exp(-v)) * z[r * N + F + i] : 0.5 * v * (1 + erf64(v / Math.SQRT2));
    }
  }
  return out;
}

export interface AttentionCase {B: number; H: number; L: number; D: number; C: number; column: number; length: number; scale: number}

/** The result and the scale of its terms (Σ p·|v|), for the tolerance. */
export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, c: AttentionCase): {out: Float64Array, scale: Float64Array} {
  const out = new Float64Array(c.B * c.H * c.D), scale = new Float64Array(out.length);
  for (let b = 0; b < c.B; b++) {
    for (let h = 0; h < c.H; h++) {
      const base = (b * c.H + h) * c.L * c.D;
      const s = Array.from({length: c.length}, (_, t) => {
        let dot = 0;
        for (let d = 0; d < c.D; d++) dot += q[b * c.C + c.column + h * c.D + d] * k[base + t * c.D + d];
        return c.scale * dot;
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const total = e.reduce((a, x) => a + x, 0);
      for (let d = 0; d < c.D; d++) {
        for (let t = 0; t < c.length; t++) {
          out[b * c.H * c.D + h * c.D + d] += e[t] / total * v[base + t * c.D + d];
          scale[b * c.H * c.D + h * c.D + d] += e[t] / total * Math.abs(v[base + t * c.D + d]);
        }
      }
    }
  }
  return {out, scale};
}

/**
 * A [B, H, L, D] cache after kvCacheWrite of x [B·S, C] at `position`, heads from `column`, from its
 * definition.
 */
export function kvCacheWriteRef(cache: Float32Array, x: ArrayLike<number>,
    c: {B: number, H: number, L: number, D: number, S: number, position: number, C: number, column: number}): Float32Array {
  const out = cache.slice();
  for (let b = 0; b < c.B; b++) {
    for (let h = 0; h < c.H; h++) {
      for (let s = 0; s < c.S; s++) {
        for (let d = 0; d < c.D; d++) {
          out[((b * c.H + h) * c.L + c.position + s) * c.D + d] = x[(b * c.S + s) * c.C + c.column + h * c.D + d];
        }
      }
    }
  }
  return out;
}
