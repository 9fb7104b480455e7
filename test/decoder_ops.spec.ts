/**
 * rowNorm, mlpActivation, rowArgMax and decodeAttention against float64 references written from their
 * definitions, on fresh random inputs of odd sizes (rows and columns that fill no workgroup, lengths
 * that leave cache positions unused, which must not count), plus their argument errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {attentionRef, AttentionCase, mlpRef, rowNormRef} from './helpers/decoder_ops_reference';
import {expectNoLeakedTensors} from './helpers/leaks';
import {rng} from './helpers/random';
import {expectAllClose} from './helpers/reference';
import {decodeAttention, DECODE_ATTENTION_MAX_LENGTH, mlpActivation, rowArgMax, rowNorm} from '../src/index';

/** Float32 inputs through float32 kernels: relative 2e-5 of the result's scale, plus a floor. */
function tolerance(want: Float64Array, scale: ArrayLike<number> = want.map(Math.abs)): Float64Array {
  return Float64Array.from(want, (_, i) => 2e-5 * (1 + Math.abs(scale[i])));
}

describeEachBackend('decoder ops', (backend) => {
  expectNoLeakedTensors();

  for (const kind of ['rms', 'layer'] as const) {
    // C % 4 = 0 reads vec4; 4096 is a 7B-slice row, 1028 more than one vec4 per thread.
    for (const [rows, C] of [[1, 1], [3, 37], [5, 300], [2, 1029], [1, 4096], [3, 1028], [2, 4]]) {
      it(`rowNorm ${kind} of [${rows}, ${C}] matches the float64 reference`, async () => {
        const r = rng(`rowNorm ${kind} ${rows} ${C} ${backend}`);
        // An offset and a spread per row, so LayerNorm's centring matters.
        const x = Float32Array.from(r.normals(rows * C), (v, i) => 3 * v + 2 + Math.floor(i / C));
        const eps = 1e-5;
        const xt = tf.tensor2d(x, [rows, C]);
        const y = rowNorm(xt, {kind, epsilon: eps});
        expect(y.shape).toEqual([rows, C]);
        const want = rowNormRef(x, rows, C, kind, eps);
        expectAllClose(await y.data(), want, tolerance(want), [rows, C], `rowNorm ${kind}`);
        tf.dispose([xt, y]);
      });
    }
  }

  for (const kind of ['swiglu', 'gelu'] as const) {
    for (const [rows, N] of [[1, 2], [3, 74], [7, 522]]) {
      it(`mlpActivation ${kind} of [${rows}, ${N}] matches the float64 reference`, async () => {
        const r = rng(`mlpActivation ${kind} ${rows} ${N} ${backend}`);
        const z = r.normals(rows * N, 2.5);
        const zt = tf.tensor2d(z, [rows, N]);
        const y = mlpActivation(zt, kind);
        const F = kind === 'swiglu' ? N / 2 : N;
        expect(y.shape).toEqual([rows, F]);
        const want = mlpRef(z, rows, N, kind);
        // erf is approximated to 1.5e-7 absolute; the tolerance's floor covers it.
        expectAllClose(await y.data(), want, tolerance(want), [rows, F], `mlpActivation ${kind}`);
        tf.dispose([zt, y]);
      });
    }
  }

  // Ties (values on a coarse grid), NaN that must never win, -Inf, and rows of NaN and of -Inf.
  for (const [rows, C] of [[1, 1], [5, 3], [3, 127], [2, 4097], [1, 32000]]) {
    it(`rowArgMax of [${rows}, ${C}] gives each row's first largest entry, skipping NaN`, async () => {
      const r = rng(`rowArgMax ${rows} ${C} ${backend}`);
      const x = Float32Array.from(r.normals(rows * C), (v) => Math.round(2 * v) / 2);
      for (let i = 0; i < x.length; i++) if (r.int(17) === 0) x[i] = r.int(2) ? NaN : -Infinity;
      if (rows > 2) {
        x.fill(NaN, 0, C);
        x.fill(-Infinity, C, 2 * C);
      }
      const want = Array.from({length: rows}, (_, row) => {
        const entries = Array.from(x.subarray(row * C, (row + 1) * C));
        const best = Math.max(...entries.filter((v) => !Number.isNaN(v)));
        const at = entries.indexOf(best);
        return at < 0 ? 0 : at;
      });
      const xt = tf.tensor2d(x, [rows, C]);
      const y = rowArgMax(xt);
      expect(y.shape).toEqual([rows]);
      expect(y.dtype).toBe('int32');
      expect(Array.from(await y.data())).toEqual(want);
      tf.dispose([xt, y]);
    });
  }

  const cases: AttentionCase[] = [
    {B: 1, H: 1, L: 1, D: 1, C: 1, column: 0, length: 1, scale: 1},
    {B: 1, H: 3, L: 9, D: 5, C: 45, column: 0, length: 4, scale: 0.5},
    {B: 3, H: 2, L: 70, D: 7, C: 43, column: 29, length: 67, scale: 1 / Math.sqrt(7)},
    {B: 2, H: 5, L: 200, D: 67, C: 3 * 335, column: 0, length: 131, scale: 0.2},
    // D a multiple of 4 (vec4 reads): 8 slices of positions for ·V; then elements past one pass (R > 256).
    {B: 1, H: 4, L: 256, D: 128, C: 3 * 512, column: 512, length: 200, scale: 1 / Math.sqrt(128)},
    {B: 2, H: 1, L: 40, D: 1200, C: 1203, column: 3, length: 33, scale: 0.03},
    {B: 1, H: 2, L: 20, D: 301, C: 605, column: 3, length: 20, scale: 0.05},
    {B: 1, H: 2, L: 2048, D: 8, C: 16, column: 0, length: 2048, scale: 0.3},
  ];
  for (const c of cases) {
    it(`decodeAttention B ${c.B}, H ${c.H}, L ${c.L}, D ${c.D}, length ${c.length}, q at column ${c.column} of ${c.C} matches the float64 reference`, async () => {
      const r = rng(`decodeAttention ${JSON.stringify(c)} ${backend}`);
      const q = r.normals(c.B * c.C), k = r.normals(c.B * c.H * c.L * c.D), v = r.normals(c.B * c.H * c.L * c.D);
      // Huge entries past `length`: any use of an unused position shows.
      for (let i = 0; i < k.length; i++) {
        if (Math.floor(i / c.D) % c.L >= c.length) k[i] = v[i] = 1e4;
      }
      const [qt, kt, vt] = [tf.tensor2d(q, [c.B, c.C]), tf.tensor4d(k, [c.B, c.H, c.L, c.D]), tf.tensor4d(v, [c.B, c.H, c.L, c.D])];
      const opts = {length: c.length, column: c.column, scale: c.scale};
      const y = decodeAttention(qt, kt, vt, opts);
      expect(y.shape).toEqual([c.B, c.H * c.D]);
      const {out, scale} = attentionRef(q, k, v, c);
      expectAllClose(await y.data(), out, tolerance(out, scale), [c.B, c.H * c.D], 'decodeAttention');
      // The same keys and values as one [B, 2H, L, D] cache: keys in heads [0, H), values in [H, 2H).
      const jt = tf.concat([kt, vt], 1) as tf.Tensor4D;
      const yj = decodeAttention(qt, jt, opts);
      expect(yj.shape).toEqual([c.B, c.H * c.D]);
      expectAllClose(await yj.data(), out, tolerance(out, scale), [c.B, c.H * c.D], 'decodeAttention, joint cache');
      tf.dispose([qt, kt, vt, y, jt, yj]);
    });
  }

  it('name bad arguments', () => tf.tidy(() => {
    const x = tf.zeros([2, 6]) as tf.Tensor2D, i = tf.zeros([2, 6], 'int32') as tf.Tensor2D;
    const cache = tf.zeros([2, 2, 4, 3]) as tf.Tensor4D, other = tf.zeros([2, 2, 5, 3]) as tf.Tensor4D;
    expect(() => rowNorm(tf.zeros([6]) as never, {kind: 'rms'})).toThrowError(/rowNorm: x must be a 2-D tensor/);
    expect(() => rowNorm(i, {kind: 'rms'})).toThrowError(/rowNorm: x must be float32, got int32/);
    expect(() => rowNorm(x, {kind: 'batch' as never})).toThrowError(/rowNorm: kind must be 'rms' or 'layer'/);
    expect(() => rowNorm(x, {kind: 'layer', epsilon: -1})).toThrowError(/rowNorm: epsilon/);
    expect(() => mlpActivation(tf.zeros([2, 5]) as tf.Tensor2D, 'swiglu')).toThrowError(/even number of columns, got 5/);
    expect(() => mlpActivation(x, 'relu' as never)).toThrowError(/mlpActivation: kind must be/);
    expect(() => rowArgMax(i)).toThrowError(/rowArgMax: x must be float32, got int32/);
    expect(() => rowArgMax(tf.zeros([3]) as never)).toThrowError(/rowArgMax: x must be a 2-D tensor \[rows, C\], got shape \[3\]/);
    expect(() => rowArgMax(tf.zeros([2, 0]) as tf.Tensor2D)).toThrowError('rowArgMax: x has no columns');
    expect(() => decodeAttention(x, cache, other, {length: 1})).toThrowError(/values \[2, 2, 5, 3\] and keys \[2, 2, 4, 3\] differ/);
    expect(() => decodeAttention(tf.zeros([3, 6]) as tf.Tensor2D, cache, cache, {length: 1})).toThrowError(/q has 3 rows, the cache's batch is 2/);
    expect(() => decodeAttention(x, cache, cache, {length: 5})).toThrowError(/length must be an integer in \[1, 4\]/);
    expect(() => decodeAttention(x, cache, cache, {length: 0})).toThrowError(/length must be/);
    expect(() => decodeAttention(x, cache, cache, {length: 2, column: 1})).toThrowError(/columns \[1, 7\) for 2 heads × 3 are not within q's 6 columns/);
    expect(() => decodeAttention(x, tf.zeros([2, 3, 4, 3]) as tf.Tensor4D, {length: 1})).toThrowError(/a joint cache holds keys and values as \[B, 2H, L, D\], got an odd 3 heads/);
    expect(() => decodeAttention(x, tf.zeros([2, 4, 4, 3]) as tf.Tensor4D, {length: 2, column: 1})).toThrowError(/columns \[1, 7\) for 2 heads × 3 are not within q's 6 columns/);
    expect(() => decodeAttention(x, tf.zeros([2, 4, 4, 3], 'int32') as tf.Tensor4D, {length: 1})).toThrowError(/decodeAttention: cache must be float32/);
    const long = tf.zeros([1, 1, DECODE_ATTENTION_MAX_LENGTH + 1, 1]) as tf.Tensor4D;
    expect(() => decodeAttention(tf.zeros([1, 1]) as tf.Tensor2D, long, long, {length: DECODE_ATTENTION_MAX_LENGTH + 1}))
        .toThrowError(/kernel limit 2048/);
  }));
});
