/** Dense float64 linear algebra on row-major n×n arrays: SparseGPT's inverse Hessian factor. */

/** Lower Cholesky factor L of a symmetric positive definite A (A = L·Lᵀ); null if A is not. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= l[rj + k] * l[rj + k];
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    l[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= l[ri + k] * l[rj + k];
      l[ri + j] = s / ljj;
    }
  }
  return l;
}

/** L⁻¹ of a lower triangular L (lower triangular too). */
export function lowerInverse(l: Float64Array, n: number): Float64Array {
  // Row by row: M[i][j] = -(Σ_{j≤k<i} L[i][k]·M[k][j]) / L[i][i], which reads rows of M (contiguous)
  // rather than columns.
  const m = new Float64Array(n * n);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s.fill(0, 0, i);
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const lik = l[ri + k];
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) s[j] += lik * m[rk + j];
    }
    const d = l[ri + i];
    for (let j = 0; j < i; j++) m[ri + j] = -s[j] / d;
    m[ri + i] = 1 / d;
  }
  return m;
}

/**
 * The upper Cholesky factor U of A⁻¹ (Uᵀ·U = A⁻¹) for a symmetric positive definite A; null if A is not.
 * With P the reversal permutation and P·A·P = L·Lᵀ, U = P·L⁻¹·P: one factorisation and one triangular
 * inverse, instead of inverting A and factoring the inverse.
 */
export function inverseUpperFactor(a: Float64Array, n: number): Float64Array | null {
  const reversed = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) reversed[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)];
  const l = cholesky(reversed, n);
  if (l == null) return null;
  const m = lowerInverse(l, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = m[(n - 1 - i) * n + (n - 1 - j)];
  return u;
}
