/**
 * sparseProjection and denseProjection: both compute x·W + bias (+ residual), and an MLP activation of it
 * (float64 reference, same decoded weight), report their bytes, own their tensors, and name a bad weight or bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {expectNoLeakedTensors} from './helpers/leaks';
import {rng} from './helpers/random';
import {mlpRef} from './helpers/decoder_ops_reference';
import {expectAllClose, refMatMul} from './helpers/reference';
import {denseProjection, sparseProjection, SparseMatrix} from '../src/index';

describeEachBackend('Projection', (backend) => {
  expectNoLeakedTensors();

  for (const bias of [true, false]) {
    it(`sparse and dense give x·W${bias ? ' + bias' : ''}, with and without a residual (float64 reference)`, async () => {
      const r = rng(`projection ${bias} ${backend}`);
      const [M, K, N] = [3, 70, 45];
      const w = SparseMatrix.fromDense(r.sparse(K, N, 0.6), [K, N]);
      const wDense = w.toDense();
      const wData = await wDense.data() as Float32Array;
      const b = bias ? r.normals(N) : undefined;
      const sparse = sparseProjection(w, b && tf.tensor1d(b));
      const dense = denseProjection(wDense, b && tf.tensor1d(b));
      expect(sparse.shape).toEqual([K, N]);
      expect(dense.shape).toEqual([K, N]);
      expect(sparse.byteSize).toBe(w.byteSize + (bias ? 4 * N : 0));
      expect(dense.byteSize).toBe(4 * K * N + (bias ? 4 * N : 0));
      const xs = r.normals(M * K);
      const x = tf.tensor2d(xs, [M, K]);
      const ref = refMatMul(xs, wData, M, K, N, {bias: b});
      const res = r.normals(M * N);
      const residual = tf.tensor2d(res, [M, N]);
      const withResidual = ref.y.map((v, i) => v + res[i]);
      const tol = ref.tol.map((t, i) => t + 1e-6 * Math.abs(res[i]));
      for (const [name, p] of [['sparse', sparse], ['dense', dense]] as const) {
        const y = p.apply(x);
        expect(y.shape).toEqual([M, N]);
        expectAllClose(await y.data(), ref.y, ref.tol, [M, N], `${name} projection on ${backend}`);
        const yr = p.apply(x, residual);
        expectAllClose(await yr.data(), withResidual, tol, [M, N], `${name} projection + residual on ${backend}`);
        tf.dispose([y, yr]);
      }
      tf.dispose([x, residual]);
      sparse.dispose();
      dense.dispose();
      expect(w.isDisposed).withContext('the projection owns its weight').toBeTrue();
      expect(wDense.isDisposed).toBeTrue();
    });
  }

  for (const kind of ['swiglu', 'gelu'] as const) {
    it(`sparse and dense applyActivated give mlpActivation ${kind} of x·W + bias (float64 reference)`, async () => {
      const r = rng(`projection ${kind} ${backend}`);
      const [M, K, N] = [3, 70, 46];
      const w = SparseMatrix.fromDense(r.sparse(K, N, 0.6), [K, N]);
      const wDense = w.toDense();
      const wData = await wDense.data() as Float32Array;
      const b = r.normals(N);
      const projections = [['sparse', sparseProjection(w, tf.tensor1d(b))], ['dense', denseProjection(wDense, tf.tensor1d(b))]] as const;
      const xs = r.normals(M * K);
      const x = tf.tensor2d(xs, [M, K]);
      const ref = refMatMul(xs, wData, M, K, N, {bias: b});
      const F = kind === 'swiglu' ? N / 2 : N;
      const want = mlpRef(Float32Array.from(ref.z), M, N, kind);
      // z's own error, through activations whose slopes stay under 1.2 (times |up| for SwiGLU's gate).
      const zTol = Math.max(...ref.tol), zMax = Math.max(...ref.z.map(Math.abs));
      const tol = want.map((v) => 1.2 * (1 + zMax) * zTol + 1e-5 * (1 + Math.abs(v)));
      for (const [name, p] of projections) {
        const y = p.applyActivated(x, kind);
        expect(y.shape).toEqual([M, F]);
        expectAllClose(await y.data(), want, tol, [M, F], `${name} ${kind} projection on ${backend}`);
        y.dispose();
        p.dispose();
      }
      x.dispose();
    });
  }

  it('names a bad weight or bias', () => tf.tidy(() => {
    const w = SparseMatrix.fromDense(new Float32Array(12).fill(1), [3, 4]);
    expect(() => sparseProjection(w, tf.zeros([3]) as tf.Tensor1D)).toThrowError(/sparseProjection: bias must be a float32 tensor of shape \[4\], got float32 \[3\]/);
    expect(() => sparseProjection({} as SparseMatrix)).toThrowError(/w must be a SparseMatrix/);
    expect(() => denseProjection(tf.zeros([3, 4, 1]) as unknown as tf.Tensor2D)).toThrowError(/w must be a 2-D float32 tensor, got float32 \[3, 4, 1\]/);
    expect(() => denseProjection(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([4], 'int32') as tf.Tensor1D)).toThrowError(/bias must be a float32 tensor of shape \[4\], got int32 \[4\]/);
    w.dispose();
  }));
});
