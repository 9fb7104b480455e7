/**
 * Float64 reference for sparseMatMul and a tolerance check that names the worst element.
 *
 * Tolerance: the op multiplies by exactly the decoded weights, so its only error is f32 rounding in the
 * sums (and in the activation). Per output element, with s = Σ_k |x[m,k]|·|w[k,n]| + |bias[n]|:
 *
 *     |y − y_ref| ≤ L · (1e-5 · s + 1e-6)
 *
 * where L = max(1, |alpha|) bounds the slope of the activation (alpha of leakyrelu or prelu; 1 for the
 * others). A correct f32 kernel stays orders of magnitude inside this for the sizes used here (K ≤ 4097);
 * a wrong weight, a dropped or misplaced value, or a missing bias term does not.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {Activation} from '../../src/index';

export const REL_TOL = 1e-5;
export const ABS_TOL = 1e-6;

export interface RefOptions {
  bias?: ArrayLike<number>;
  activation?: Activation;
  leakyreluAlpha?: number;
  /** Size 1 or N. */
  prelu?: ArrayLike<number>;
  /**
   * Read f32 subnormals in x and w as 0, as a backend that flushes them does (WGSL allows it; SwiftShader
   * does): there a subnormal x times Inf is NaN, as 0·Inf is. See {@link flushesSubnormals}.
   */
  flushSubnormals?: boolean;
}

const F32_MIN_NORMAL = Math.pow(2, -126);

function flushed(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v) => (Math.abs(v) < F32_MIN_NORMAL ? 0 : v));
}

/** A reference result: pre-activation z, output y and the error scale s, all [M, N] row-major. */
export interface RefResult {
  M: number;
  N: number;
  z: Float64Array;
  y: Float64Array;
  scale: Float64Array;
  /** Per-element tolerance for the op's output. */
  tol: Float64Array;
}

/** Float64 value of a fused activation, as the TF.js op of the same name defines it. */
export function activateRef(z: number, activation: Activation, leakyreluAlpha = 0.2, preluAlpha = 0): number {
  switch (activation) {
    case 'linear': return z;
    case 'relu': return Math.max(z, 0);
    case 'relu6': return Math.min(Math.max(z, 0), 6);
    case 'elu': return z >= 0 ? z : Math.expm1(z);
    case 'leakyrelu': return z >= 0 ? z : leakyreluAlpha * z;
    case 'prelu': return z >= 0 ? z : preluAlpha * z;
    case 'sigmoid': return 1 / (1 + Math.exp(-z));
  }
  throw new Error(`unknown activation ${String(activation)}`);
}

/** Float64 derivative of the activation at z (away from kinks). */
export function activateGradRef(z: number, activation: Activation, leakyreluAlpha = 0.2): number {
  switch (activation) {
    case 'linear': return 1;
    case 'relu': return z > 0 ? 1 : 0;
    case 'relu6': return z > 0 && z < 6 ? 1 : 0;
    case 'elu': return z > 0 ? 1 : Math.exp(z);
    case 'leakyrelu': return z > 0 ? 1 : leakyreluAlpha;
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-z));
      return s * (1 - s);
    }
    case 'prelu': throw new Error('no reference gradient for prelu');
  }
  throw new Error(`unknown activation ${String(activation)}`);
}

/** Points where an activation's slope jumps; tests keep pre-activations away from them. */
export function kinks(activation: Activation): number[] {
  switch (activation) {
    case 'relu': case 'leakyrelu': case 'prelu': case 'elu': return [0];
    case 'relu6': return [0, 6];
    default: return [];
  }
}

/**
 * y = act(x·w + bias) in float64, with dense matMul's IEEE semantics for NaN and ±Inf (in x or w). x is
 * [M, K] row-major, w is [K, N] row-major (use the decoded weights, i.e. what `toDense()` returns).
 */
export function refMatMul(
    x: ArrayLike<number>, w: ArrayLike<number>, M: number, K: number, N: number, opts: RefOptions = {}): RefResult {
  if (x.length !== M * K) throw new Error(`refMatMul: x has ${x.length} values, expected ${M}×${K}`);
  if (w.length !== K * N) throw new Error(`refMatMul: w has ${w.length} values, expected ${K}×${N}`);
  if (opts.flushSubnormals) {
    x = flushed(x);
    w = flushed(w);
  }
  const activation = opts.activation ?? 'linear';
  const alpha = opts.leakyreluAlpha ?? 0.2;
  const z = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  // Every product of the dense sum, with IEEE semantics: a zero weight is skipped only where x is finite
  // (x·0 is NaN for a NaN or ±Inf x), and a zero x is not skipped (0·Inf is NaN).
  const nonzero: number[][] = [];
  for (let k = 0; k < K; k++) {
    const cols: number[] = [];
    for (let n = 0; n < N; n++) if (w[k * N + n] !== 0) cols.push(n);
    nonzero.push(cols);
  }
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const xv = x[m * K + k];
      const ax = Math.abs(xv);
      const row = k * N, out = m * N;
      if (!Number.isFinite(xv)) {
        for (let n = 0; n < N; n++) z[out + n] += xv * w[row + n];
        continue;
      }
      for (const n of nonzero[k]) {
        const wv = w[row + n];
        z[out + n] += xv * wv;
        scale[out + n] += ax * Math.abs(wv);
      }
    }
  }
  const y = new Float64Array(M * N);
  const tol = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const i = m * N + n;
      if (opts.bias) {
        z[i] += opts.bias[n];
        scale[i] += Math.abs(opts.bias[n]);
      }
      const p = opts.prelu ? opts.prelu[opts.prelu.length === 1 ? 0 : n] : 0;
      y[i] = activateRef(z[i], activation, alpha, p);
      const slope = activation === 'leakyrelu' ? Math.max(1, Math.abs(alpha)) :
          activation === 'prelu' ? Math.max(1, Math.abs(p)) : 1;
      tol[i] = slope * (REL_TOL * scale[i] + ABS_TOL);
    }
  }
  return {M, N, z, y, scale, tol};
}

/** Transposes a row-major [R, C] array. */
export function transpose2d(a: ArrayLike<number>, R: number, C: number): Float32Array {
  const t = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) t[c * R + r] = a[r * C + c];
  return t;
}

function index(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${idx.join(', ')}]`;
}

function same(a: number, b: number): boolean {
  return Number.isNaN(a) ? Number.isNaN(b) : a === b;
}

/**
 * Compares every element: |actual − expected| ≤ tol (a per-element array or one number). NaN must match
 * NaN and infinities must match exactly. Returns null when all match, else a message that names how
 * many elements are off and the worst one (largest |err| / tol), with its index in `shape`.
 */
export function mismatch(
    actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number> | number,
    shape: readonly number[], what = 'result'): string | null {
  const total = shape.reduce((a, b) => a * b, 1);
  if (actual.length !== total) return `${what}: ${actual.length} elements, expected ${total}`;
  if (expected.length !== total) return `${what}: ${expected.length} reference elements, expected ${total}`;
  let bad = 0, worst = -1, worstRatio = -1;
  for (let i = 0; i < total; i++) {
    const a = actual[i], e = expected[i];
    const t = typeof tol === 'number' ? tol : tol[i];
    let ratio: number;
    if (!Number.isFinite(e) || !Number.isFinite(a)) ratio = same(a, e) ? 0 : Infinity;
    else ratio = Math.abs(a - e) / t;
    if (!(ratio <= 1)) bad++;
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (bad === 0) return null;
  const t = typeof tol === 'number' ? tol : tol[worst];
  return `${what}: ${bad} of ${total} elements outside tolerance; worst at ${index(worst, shape)}: ` +
      `got ${actual[worst]}, expected ${expected[worst]}, |err| = ${Math.abs(actual[worst] - expected[worst])} ` +
      `> tol ${t} (${worstRatio.toPrecision(3)}× the tolerance)`;
}

/** {@link mismatch} as a jasmine expectation. */
export function expectAllClose(
    actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number> | number,
    shape: readonly number[], what = 'result'): void {
  const msg = mismatch(actual, expected, tol, shape, what);
  expect(msg === null).withContext(msg ?? '').toBeTrue();
}

/** The largest |err| / tol over all elements (for reporting how much headroom a result has). */
export function worstRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < expected.length; i++) w = Math.max(w, Math.abs(actual[i] - expected[i]) / tol[i]);
  return w;
}

/**
 * Whether dense tf.matMul on the active backend flushes f32 subnormals to 0 (a subnormal times Inf is
 * then NaN), so that the reference can do as it does.
 */
export async function flushesSubnormals(): Promise<boolean> {
  const [a, b] = [tf.tensor2d([Math.pow(2, -140)], [1, 1]), tf.tensor2d([Infinity], [1, 1])];
  const y = tf.matMul(a, b);
  const flushes = Number.isNaN((await y.data())[0]);
  tf.dispose([a, b, y]);
  return flushes;
}
