/**
 * SparseGPT (src/prune/sparsegpt.ts) and its inverse-Hessian factor (src/prune/linalg.ts), on plain
 * arrays: the factor against its definition in float64, the mask counts, and the point of the method:
 * on correlated inputs, x·Ŵ stays closer to x·W than with magnitude or wanda pruning.
 */
import {inverseUpperFactor} from '../../src/prune/linalg';
import {pruneSparseGPT} from '../../src/prune/sparsegpt';
import {pruneMagnitude, pruneWanda} from '../../src/prune/select';
import {rng, Rng} from '../helpers/random';

/** Rows of inputs whose features are correlated (an AR(1) walk along k), as real activations are. */
function correlated(r: Rng, rows: number, K: number): Float64Array {
  const x = new Float64Array(rows * K);
  for (let i = 0; i < rows; i++) {
    let prev = 0;
    for (let k = 0; k < K; k++) {
      prev = 0.85 * prev + r.normal();
      x[i * K + k] = prev * (1 + (k % 7) / 3);
    }
  }
  return x;
}

function gramOf(x: Float64Array, rows: number, K: number): Float64Array {
  const g = new Float64Array(K * K);
  for (let i = 0; i < rows; i++) {
    for (let a = 0; a < K; a++) {
      const xa = x[i * K + a];
      for (let b = 0; b < K; b++) g[a * K + b] += xa * x[i * K + b];
    }
  }
  return g;
}

/** ‖X·(W − Ŵ)‖_F². */
function outputError(x: Float64Array, rows: number, K: number, N: number, w: Float32Array, pruned: Float32Array): number {
  let e = 0;
  for (let i = 0; i < rows; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[i * K + k] * (w[k * N + n] - pruned[k * N + n]);
      e += s * s;
    }
  }
  return e;
}

describe('SparseGPT', () => {
  it('factors the inverse Hessian: U upper triangular with A·UᵀU = I', () => {
    const r = rng('sparsegpt factor');
    const n = 37;
    const a = gramOf(correlated(r, 80, n), 80, n);
    const u = inverseUpperFactor(a, n)!;
    let below = 0, worst = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) below = Math.max(below, Math.abs(u[i * n + j]));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) {
          let inv = 0;
          for (let m = 0; m <= Math.min(k, j); m++) inv += u[m * n + k] * u[m * n + j];
          s += a[i * n + k] * inv;
        }
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    expect(below).toBe(0);
    expect(worst).toBeLessThan(1e-8);
    expect(inverseUpperFactor(new Float64Array([1, 2, 2, 1]), 2)).withContext('not positive definite').toBeNull();
  });

  it('drops round(s·rows·N) weights in every block of inputs', () => {
    const r = rng('sparsegpt counts');
    const K = 100, N = 24, rows = 150, block = 32;
    const x = correlated(r, rows, K);
    const w = r.sparse(K, N, 0);
    for (const s of [0.3, 0.5, 0.9]) {
      const pruned = pruneSparseGPT(w, [K, N], gramOf(x, rows, K), s, {blockSize: block});
      for (let k0 = 0; k0 < K; k0 += block) {
        const k1 = Math.min(k0 + block, K);
        let zeros = 0;
        for (let i = k0 * N; i < k1 * N; i++) if (pruned[i] === 0) zeros++;
        expect(zeros).withContext(`sparsity ${s}, block at ${k0}`).toBe(Math.round(s * (k1 - k0) * N));
      }
    }
  });

  it('keeps x·W closer than magnitude and wanda pruning on correlated inputs', () => {
    const r = rng('sparsegpt error');
    const K = 96, N = 40, rows = 400;
    const x = correlated(r, rows, K);
    const w = r.normals(K * N);
    const gram = gramOf(x, rows, K);
    const norms = Array.from({length: K}, (_, k) => Math.sqrt(gram[k * K + k]));
    for (const s of [0.5, 0.7]) {
      const sparsegpt = outputError(x, rows, K, N, w, pruneSparseGPT(w, [K, N], gram, s));
      const magnitude = outputError(x, rows, K, N, w, pruneMagnitude(w, s));
      const wanda = outputError(x, rows, K, N, w, pruneWanda(w, [K, N], norms, s));
      expect(sparsegpt).withContext(`sparsity ${s}: sparsegpt ${sparsegpt} vs wanda ${wanda}`).toBeLessThan(0.7 * wanda);
      expect(sparsegpt).withContext(`sparsity ${s}: sparsegpt ${sparsegpt} vs magnitude ${magnitude}`).toBeLessThan(0.7 * magnitude);
    }
  });

  it('changes nothing at sparsity 0, and drops the weights of inputs that never fire first', () => {
    const r = rng('sparsegpt edges');
    const K = 40, N = 8, rows = 60;
    const x = correlated(r, rows, K);
    for (let i = 0; i < rows; i++) x[i * K + 3] = 0;
    const w = r.normals(K * N);
    const gram = gramOf(x, rows, K);
    const same = pruneSparseGPT(w, [K, N], gram, 0);
    for (let i = 0; i < w.length; i++) {
      if (Math.floor(i / N) !== 3) expect(same[i]).withContext(`weight ${i}`).toBe(w[i]);
      else expect(same[i]).withContext(`dead input weight ${i}`).toBe(0);
    }
    expect(() => pruneSparseGPT(w, [K, N + 1], gram, 0.5)).toThrowError(/do not fill \[40, 9\]/);
    expect(() => pruneSparseGPT(w, [K, N], gram.subarray(1), 0.5)).toThrowError(/Hessian has 1599 entries, expected 40×40/);
    expect(() => pruneSparseGPT(w, [K, N], gram, 1.2)).toThrowError(/sparsity must be in \[0, 1\]/);
  });
});
