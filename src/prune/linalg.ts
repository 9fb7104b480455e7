/** Dense float64 linear algebra on row-major n×n arrays, for SparseGPT's inverse Hessian. */

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

/** A⁻¹ from A's lower Cholesky factor L: (L⁻¹)ᵀ·L⁻¹. */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  // M = L⁻¹ (lower triangular), row by row: M[i][j] = -(Σ_{j≤k<i} L[i][k]·M[k][j]) / L[i][i], which reads
  // rows of M (contiguous) rather than columns.
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
  // A⁻¹[i][j] = Σ_k M[k][i]·M[k][j] over k ≥ max(i, j); symmetric.
  const inv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const mki = m[rk + i];
      if (mki === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) inv[ri + j] += mki * m[rk + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inv[j * n + i] = inv[i * n + j];
  return inv;
}

/** Upper Cholesky factor U of A (A = Uᵀ·U), i.e. the transpose of the lower factor; null if A is not SPD. */
export function choleskyUpper(a: Float64Array, n: number): Float64Array | null {
  const l = cholesky(a, n);
  if (l == null) return null;
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l[i * n + j];
  return u;
}
