/** Issue #4: the selection rules of magnitude, global magnitude and wanda pruning (pure functions). */
import {rng} from '../helpers/random';
import {pruneMagnitude, pruneMagnitudeGlobal, pruneWanda} from '../../src/prune/select';

function zeros(a: Float32Array): number {
  return a.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
}

describe('pruning selection', () => {
  it('magnitude drops exactly round(s·size) of the smallest |w|, ties by position', () => {
    const w = Float32Array.from([0.5, -0.1, 0.3, -0.3, 0.2, 0.1, -0.9, 0.3]);
    // 4 of 8: 0.1, 0.1, 0.2, then |w| = 0.3 three times (positions 2, 3, 7): the first of them goes.
    expect(Array.from(pruneMagnitude(w, 0.5))).toEqual([0.5, 0, 0, -0.3, 0, 0, -0.9, 0.3].map(Math.fround));
    expect(Array.from(pruneMagnitude(w, 5 / 8))).toEqual([0.5, 0, 0, 0, 0, 0, -0.9, 0.3].map(Math.fround));
    expect(zeros(pruneMagnitude(w, 0))).toBe(0);
    expect(zeros(pruneMagnitude(w, 1))).toBe(8);
    expect(Array.from(w)).toEqual([0.5, -0.1, 0.3, -0.3, 0.2, 0.1, -0.9, 0.3].map(Math.fround));  // a copy
    expect(() => pruneMagnitude(w, -0.1)).toThrowError(/sparsity/);
    expect(() => pruneMagnitude(w, NaN)).toThrowError(/sparsity/);
  });

  it('existing zeros count towards the target', () => {
    const w = Float32Array.from([0, 0, 0, 1, 2, 3, 4, 5]);
    expect(Array.from(pruneMagnitude(w, 0.5))).toEqual([0, 0, 0, 0, 2, 3, 4, 5]);
  });

  it('global magnitude keeps one threshold across layers', () => {
    const r = rng('prune-global');
    const a = r.normals(1000, 1), b = r.normals(3000, 0.01);
    const [pa, pb] = pruneMagnitudeGlobal([a, b], 0.5);
    expect(zeros(pa) + zeros(pb)).toBe(2000);
    expect(zeros(pb)).toBeGreaterThan(1950);  // |b| is 100× smaller than |a|: b goes first
    let maxDropped = 0, minKept = Infinity;
    for (const [w, p] of [[a, pa], [b, pb]] as const) {
      for (let i = 0; i < w.length; i++) {
        if (p[i] === 0) maxDropped = Math.max(maxDropped, Math.abs(w[i]));
        else minKept = Math.min(minKept, Math.abs(w[i]));
      }
    }
    expect(maxDropped).toBeLessThanOrEqual(minKept);
  });

  it('wanda scores |W_kn|·‖X_k‖ within each output column', () => {
    // K = 4, N = 2. Column 0 has equal weights, so the input norms decide; column 1 has weights that
    // win over the norms.
    const w = Float32Array.from([
      1, 10,
      1, 0.01,
      1, 0.05,
      1, 0.02,
    ]);
    const norms = [0.1, 3, 2, 1];
    const p = pruneWanda(w, [4, 2], norms, 0.5);
    expect(Array.from(p)).toEqual([0, 10, 1, 0, 1, 0.05, 0, 0].map(Math.fround));
    expect(() => pruneWanda(w, [4, 2], [1, 2], 0.5)).toThrowError(/norms/);
    expect(() => pruneWanda(w, [3, 2], norms, 0.5)).toThrowError(/fill/);
  });

  it('wanda with equal norms is magnitude per column', () => {
    const r = rng('prune-wanda-eq');
    const K = 40, N = 7;
    const w = r.normals(K * N);
    const p = pruneWanda(w, [K, N], new Float32Array(K).fill(2), 0.3);
    for (let n = 0; n < N; n++) {
      const column = Float32Array.from({length: K}, (_, k) => w[k * N + n]);
      const expected = pruneMagnitude(column, 0.3);
      expect(Array.from({length: K}, (_, k) => p[k * N + n])).toEqual(Array.from(expected));
    }
  });
});
