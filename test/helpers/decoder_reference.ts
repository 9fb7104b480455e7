/**
 * Float64 reference of the decoder of bench/e2e/model.ts, written from its definition and sharing no
 * code with it: every position recomputed from scratch with causal attention over the whole sequence
 * (no cache), from the same weights (a map from the names of bench/e2e/weights.ts to row-major values).
 */
import type {DecoderConfig} from '../../bench/e2e/config';

export type WeightMap = ReadonlyMap<string, ArrayLike<number>>;

/** erf in float64: its Taylor series below 2.5, erfc's continued fraction above (both to ~1e-14). */
export function erf64(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = a, sum = a;
    for (let n = 1; n < 80; n++) {
      term *= -a * a / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * 2 / Math.sqrt(Math.PI);
  }
  let t = a;
  for (let k = 100; k >= 1; k--) t = a + (k / 2) / t;
  return Math.sign(x) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * t));
}

function get(w: WeightMap, name: string): ArrayLike<number> {
  const v = w.get(name);
  if (!v) throw new Error(`reference: no weight ${name}`);
  return v;
}

/** x [M, K] · W [K, N] (+ bias), float64. */
function linear(x: Float64Array, M: number, K: number, w: ArrayLike<number>, N: number, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const xv = x[m * K + k];
      for (let n = 0; n < N; n++) y[m * N + n] += xv * w[k * N + n];
    }
    if (bias) for (let n = 0; n < N; n++) y[m * N + n] += bias[n];
  }
  return y;
}

function norm(x: Float64Array, T: number, d: number, family: DecoderConfig['family']): Float64Array {
  const y = new Float64Array(T * d);
  for (let t = 0; t < T; t++) {
    const row = x.subarray(t * d, (t + 1) * d);
    let mean = 0;
    if (family === 'gpt2') {
      for (const v of row) mean += v;
      mean /= d;
    }
    let sq = 0;
    for (const v of row) sq += (v - mean) ** 2;
    const r = 1 / Math.sqrt(sq / d + 1e-5);
    for (let i = 0; i < d; i++) y[t * d + i] = (row[i] - mean) * r;
  }
  return y;
}

/** Logits [T, vocab] of every position of one sequence of T tokens. */
export function referenceLogits(c: DecoderConfig, w: WeightMap, tokens: readonly number[]): Float64Array {
  const {dModel: d, heads: H, mlpHidden: F, vocab: V} = c;
  const D = d / H, T = tokens.length;
  const gpt2 = c.family === 'gpt2';
  const emb = get(w, 'embedding'), pos = get(w, 'positions');
  let x = new Float64Array(T * d);
  tokens.forEach((tok, t) => {
    for (let i = 0; i < d; i++) x[t * d + i] = emb[tok * d + i] + pos[t * d + i];
  });
  const bias = (name: string) => gpt2 ? get(w, `${name}.bias`) : undefined;
  for (let l = 0; l < c.layers; l++) {
    const name = (m: string) => `layer${l}.${m}`;
    const qkv = linear(norm(x, T, d, c.family), T, d, get(w, name('qkv')), 3 * d, bias(name('qkv')));
    const ctx = new Float64Array(T * d);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        // q is already scaled by 1/√D (folded into the weights).
        const scores = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < D; i++) dot += qkv[t * 3 * d + h * D + i] * qkv[s * 3 * d + d + h * D + i];
          scores[s] = dot;
        }
        const max = Math.max(...scores);
        let total = 0;
        for (let s = 0; s <= t; s++) total += (scores[s] = Math.exp(scores[s] - max));
        for (let s = 0; s <= t; s++) {
          for (let i = 0; i < D; i++) ctx[t * d + h * D + i] += scores[s] / total * qkv[s * 3 * d + 2 * d + h * D + i];
        }
      }
    }
    const attn = linear(ctx, T, d, get(w, name('o')), d, bias(name('o')));
    x = x.map((v, i) => v + attn[i]);
    const up = linear(norm(x, T, d, c.family), T, d, get(w, name('up')), gpt2 ? F : 2 * F, bias(name('up')));
    const hidden = new Float64Array(T * F);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < F; i++) {
        if (gpt2) {
          const z = up[t * F + i];
          hidden[t * F + i] = 0.5 * z * (1 + erf64(z / Math.SQRT2));
        } else {
          const g = up[t * 2 * F + i], u = up[t * 2 * F + F + i];
          hidden[t * F + i] = g / (1 + Math.exp(-g)) * u;
        }
      }
    }
    const down = linear(hidden, T, F, get(w, name('down')), d, bias(name('down')));
    x = x.map((v, i) => v + down[i]);
  }
  return linear(norm(x, T, d, c.family), T, d, get(w, 'head'), V);
}
