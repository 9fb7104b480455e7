/**
 * L2-regularised logistic regression trained by Newton's method (IRLS) in float64: a deterministic head
 * for 512-dimensional embeddings, with no learning rate to tune.
 */
import {cholesky} from '../../src/prune/linalg';

export interface LogisticHead {
  /** dim weights, then the bias. */
  w: Float64Array;
  dim: number;
}

/** Fits p(y=1|x) = σ(w·x + b) minimising Σ log-loss + λ/2·‖w‖² (the bias is not penalised). */
export function fitLogistic(x: Float32Array, y: ArrayLike<number>, dim: number, lambda = 1, iterations = 25): LogisticHead {
  const n = y.length, D = dim + 1;
  const w = new Float64Array(D);
  const feature = (i: number, j: number) => j === dim ? 1 : x[i * dim + j];
  for (let it = 0; it < iterations; it++) {
    const grad = new Float64Array(D), hess = new Float64Array(D * D);
    for (let i = 0; i < n; i++) {
      let z = w[dim];
      for (let j = 0; j < dim; j++) z += w[j] * x[i * dim + j];
      const p = 1 / (1 + Math.exp(-z));
      const r = p - y[i], s = p * (1 - p);
      for (let j = 0; j < D; j++) {
        const fj = feature(i, j);
        grad[j] += r * fj;
        const sj = s * fj, row = j * D;
        for (let k = 0; k <= j; k++) hess[row + k] += sj * feature(i, k);
      }
    }
    for (let j = 0; j < D; j++) for (let k = 0; k < j; k++) hess[k * D + j] = hess[j * D + k];
    for (let j = 0; j < dim; j++) {
      grad[j] += lambda * w[j];
      hess[j * D + j] += lambda;
    }
    hess[dim * D + dim] += 1e-9;
    const l = cholesky(hess, D);
    if (l == null) throw new Error('fitLogistic: the Hessian is not positive definite');
    // Solve L·Lᵀ·step = grad.
    const z = new Float64Array(D), step = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      let s = grad[i];
      for (let k = 0; k < i; k++) s -= l[i * D + k] * z[k];
      z[i] = s / l[i * D + i];
    }
    for (let i = D - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = i + 1; k < D; k++) s -= l[k * D + i] * step[k];
      step[i] = s / l[i * D + i];
    }
    let size = 0;
    for (let j = 0; j < D; j++) {
      w[j] -= step[j];
      size = Math.max(size, Math.abs(step[j]));
    }
    if (size < 1e-9) break;
  }
  return {w, dim};
}

/** For each row, whether its predicted class (p ≥ 0.5) matches the label. */
export function correct(head: LogisticHead, x: Float32Array, y: ArrayLike<number>): boolean[] {
  return Array.from({length: y.length}, (_, i) => {
    let z = head.w[head.dim];
    for (let j = 0; j < head.dim; j++) z += head.w[j] * x[i * head.dim + j];
    return (z >= 0 ? 1 : 0) === y[i];
  });
}

/** Fraction of rows whose predicted class matches the label. */
export function accuracy(head: LogisticHead, x: Float32Array, y: ArrayLike<number>): number {
  return correct(head, x, y).filter((r) => r).length / y.length;
}
