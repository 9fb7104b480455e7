/**
 * SparseGPT (Frantar & Alistarh, ICML 2023): one-shot pruning with weight reconstruction. It walks the
 * inputs of a [K, N] kernel in order; each pruned weight's error is spread onto the not yet visited
 * inputs' weights through the inverse of the layer's Hessian H = XᵀX (X: calibration inputs, rows by K),
 * the Optimal Brain Surgeon update, so that x·W moves as little as possible on the calibration data.
 * Which weights to drop is chosen per block of `blockSize` inputs by w² / [H⁻¹]_kk², across all outputs.
 */
import {inverseUpperFactor} from './linalg.js';
import {dropLowest} from './select.js';

/** Options of {@link pruneSparseGPT}. */
export interface SparseGPTOptions {
  /** Inputs per block: masks are chosen, and updates batched, per block. Defaults to 128. */
  blockSize?: number;
  /** Added to H's diagonal, as a fraction of its mean, to keep it invertible. Defaults to 0.01. */
  damp?: number;
}

/** Factors already computed, by Hessian: auto sparsity prunes one layer at several levels. */
const factors = new WeakMap<Float64Array, {damp: number, u: Float64Array}>();

/** The upper Cholesky factor of H⁻¹ (after damping), retrying with more damping if H is singular. */
function inverseHessianFactor(gram: Float64Array, K: number, damp: number): Float64Array {
  const known = factors.get(gram);
  if (known != null && known.damp === damp) return known.u;
  const u = computeFactor(gram, K, damp);
  factors.set(gram, {damp, u});
  return u;
}

function computeFactor(gram: Float64Array, K: number, damp: number): Float64Array {
  let mean = 0;
  for (let k = 0; k < K; k++) mean += gram[k * K + k];
  mean = mean / K || 1;
  for (let d = damp; d <= 1e6 * Math.max(damp, 1e-6); d *= 10) {
    const h = gram.slice();
    // An input that never fires gets a unit diagonal (its weights are dropped anyway).
    for (let k = 0; k < K; k++) h[k * K + k] += h[k * K + k] === 0 ? 1 : d * mean;
    const u = inverseUpperFactor(h, K);
    if (u != null) return u;
  }
  throw new Error('pruneSparseGPT: the calibration Hessian is not positive definite even after damping');
}

/**
 * Prunes a [K, N] kernel (row-major, `y = x·W`) to `sparsity` with SparseGPT's reconstruction. `gram` is
 * XᵀX [K, K] over the calibration rows. Returns a new kernel with round(sparsity·K·N) zeros in all,
 * the same count in each block of inputs.
 */
export function pruneSparseGPT(
    w: Float32Array, shape: [number, number], gram: Float64Array, sparsity: number,
    opts: SparseGPTOptions = {}): Float32Array {
  const [K, N] = shape;
  if (!(sparsity >= 0 && sparsity <= 1)) throw new Error(`pruneSparseGPT: sparsity must be in [0, 1], got ${sparsity}`);
  if (w.length !== K * N) throw new Error(`pruneSparseGPT: ${w.length} weights do not fill [${K}, ${N}]`);
  if (gram.length !== K * K) throw new Error(`pruneSparseGPT: the Hessian has ${gram.length} entries, expected ${K}×${K}`);
  const blockSize = opts.blockSize ?? 128;
  const damp = opts.damp ?? 0.01;
  const W = Float64Array.from(w);
  // Inputs that never fire carry no information: their weights go first.
  for (let k = 0; k < K; k++) if (gram[k * K + k] === 0) W.fill(0, k * N, (k + 1) * N);
  const U = inverseHessianFactor(gram, K, damp);
  const out = new Float32Array(K * N);
  const err = new Float64Array(blockSize * N);
  for (let i1 = 0; i1 < K; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, K);
    const rows = i2 - i1;
    // Mask of the block: the lowest w² / U_kk² across its rows and all outputs.
    const keep = new Float32Array(rows * N).fill(1);
    const scores = new Float64Array(rows * N);
    for (let r = 0; r < rows; r++) {
      const d = U[(i1 + r) * K + i1 + r];
      for (let n = 0; n < N; n++) scores[r * N + n] = (W[(i1 + r) * N + n] / d) ** 2;
    }
    const all = new Int32Array(rows * N).map((_, i) => i);
    dropLowest(keep, (i) => scores[i], all, Math.round(sparsity * rows * N));
    for (let r = 0; r < rows; r++) {
      const k = i1 + r;
      const d = U[k * K + k];
      const rowW = k * N;
      for (let n = 0; n < N; n++) {
        const wv = W[rowW + n];
        const q = keep[r * N + n] === 0 ? 0 : wv;
        out[rowW + n] = q;
        err[r * N + n] = (wv - q) / d;
      }
      // Spread this row's error onto the block's later rows.
      for (let r2 = r + 1; r2 < rows; r2++) {
        const u = U[k * K + i1 + r2];
        if (u === 0) continue;
        const row2 = (i1 + r2) * N;
        for (let n = 0; n < N; n++) W[row2 + n] -= u * err[r * N + n];
      }
    }
    // Then the block's errors onto every row after the block, at once.
    for (let k2 = i2; k2 < K; k2++) {
      const row2 = k2 * N;
      for (let r = 0; r < rows; r++) {
        const u = U[(i1 + r) * K + k2];
        if (u === 0) continue;
        for (let n = 0; n < N; n++) W[row2 + n] -= u * err[r * N + n];
      }
    }
  }
  return out;
}
