/**
 * Which weights to drop: the lowest scores, counted exactly. Scores are |W| (magnitude) or
 * |W_ij| · ‖X_i‖₂ (wanda). Ties at the threshold are broken by position, so results are deterministic.
 */

/** Zeroes, in place, the `count` entries of `w` (among `indices`) whose scores are lowest. */
export function dropLowest(w: Float32Array, score: (i: number) => number, indices: ArrayLike<number>, count: number): void {
  if (count <= 0) return;
  const n = indices.length;
  if (count >= n) {
    for (let j = 0; j < n; j++) w[indices[j]] = 0;
    return;
  }
  const scores = new Float64Array(n);
  for (let j = 0; j < n; j++) scores[j] = score(indices[j]);
  const sorted = scores.slice().sort();
  const threshold = sorted[count - 1];
  let below = 0;
  for (let j = 0; j < n; j++) if (scores[j] < threshold) below++;
  let ties = count - below;
  for (let j = 0; j < n; j++) {
    if (scores[j] < threshold) {
      w[indices[j]] = 0;
    } else if (scores[j] === threshold && ties > 0) {
      w[indices[j]] = 0;
      ties--;
    }
  }
}

function checkSparsity(s: number): void {
  if (!(s >= 0 && s <= 1)) throw new Error(`sparsity must be in [0, 1], got ${s}`);
}

function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/** Magnitude pruning of one layer: a copy of `w` with the round(s·size) smallest |w| set to 0. */
export function pruneMagnitude(w: Float32Array, sparsity: number): Float32Array {
  checkSparsity(sparsity);
  const out = w.slice();
  dropLowest(out, (i) => Math.abs(w[i]), range(w.length), Math.round(sparsity * w.length));
  return out;
}

/**
 * Global magnitude pruning: one threshold across all `ws`, so that round(s·Σ size) weights are dropped in
 * all; each layer ends with its own sparsity. Returns pruned copies.
 */
export function pruneMagnitudeGlobal(ws: Float32Array[], sparsity: number): Float32Array[] {
  checkSparsity(sparsity);
  const total = ws.reduce((a, w) => a + w.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const w of ws) {
    all.set(w, at);
    at += w.length;
  }
  const pruned = pruneMagnitude(all, sparsity);
  at = 0;
  return ws.map((w) => {
    const out = pruned.slice(at, at + w.length);
    at += w.length;
    return out;
  });
}

/**
 * Wanda (Sun et al., ICLR 2024): score |W_kn| · ‖X_k‖₂, compared within each output column n of the
 * [K, N] kernel, so every column keeps the same count. `inputNorms` holds ‖X_k‖₂ over the calibration
 * rows. Returns a pruned copy.
 */
export function pruneWanda(w: Float32Array, shape: [number, number], inputNorms: ArrayLike<number>, sparsity: number): Float32Array {
  checkSparsity(sparsity);
  const [K, N] = shape;
  if (w.length !== K * N) throw new Error(`pruneWanda: ${w.length} weights do not fill [${K}, ${N}]`);
  if (inputNorms.length !== K) throw new Error(`pruneWanda: ${inputNorms.length} input norms for ${K} inputs`);
  const out = w.slice();
  const count = Math.round(sparsity * K);
  const column = new Int32Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) column[k] = k * N + n;
    dropLowest(out, (i) => Math.abs(w[i]) * inputNorms[Math.floor(i / N)], column, count);
  }
  return out;
}
