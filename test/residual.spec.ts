/**
 * sparseMatMul's fused residual: `x·W + bias + residual` in one kernel (a transformer's skip connection).
 * Checked against float64 on both backends through every webgpu path that writes the result: the fused
 * skinny program (one and several row groups), the split-K reduce pass (long K, few columns), column
 * strips (an artificial binding limit), rank-3 and transposed x; then its gradient and its errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachProgram} from './helpers/backends';
import {withBindingLimit} from './helpers/binding_limit';
import {expectNoLeakedTensors} from './helpers/leaks';
import {expectAllClose, refMatMul, transpose2d} from './helpers/reference';
import {rng} from './helpers/random';
import {SparseMatrix, sparseMatMul} from '../src/index';

interface Case {
  M: number;
  K: number;
  N: number;
  bias: boolean;
  layout?: 'rank3' | 'transposeX';
  /** An artificial binding limit in bytes, to split the weight into column strips. */
  limit?: number;
}

const CASES: Case[] = [
  {M: 1, K: 127, N: 45, bias: false},
  {M: 3, K: 4097, N: 33, bias: true},  // long K, few columns: split-K and its reduce pass
  {M: 20, K: 64, N: 70, bias: true},   // several row groups
  {M: 4, K: 33, N: 5, bias: true, layout: 'rank3'},
  {M: 5, K: 40, N: 3, bias: false, layout: 'transposeX'},
  {M: 4, K: 160, N: 200, bias: true, limit: 8192},
];

describeEachProgram('sparseMatMul residual', (backend) => {
  expectNoLeakedTensors();

  for (const c of CASES) {
    const label = `${c.M}×${c.K}·${c.K}×${c.N}${c.bias ? ' + bias' : ''}${c.layout ? `, ${c.layout}` : ''}${c.limit ? ', column strips' : ''}`;
    it(`adds the residual in the kernel (${label})`, async () => {
      const r = rng(`residual ${label} ${backend}`);
      const {M, K, N} = c;
      // f16 values where the weight must split into strips under the limit; the reference takes the decoded weight.
      const w = SparseMatrix.fromDense(r.sparse(K, N, 0.6), [K, N], {valueType: c.limit ? 'float16' : 'float32'});
      const wDense = w.toDense();
      const wData = await wDense.data() as Float32Array;
      wDense.dispose();
      const x = r.normals(M * K), b = r.normals(N), res = r.normals(M * N, 3);
      const xt = c.layout === 'transposeX' ? tf.tensor2d(transpose2d(x, M, K), [K, M]) :
          c.layout === 'rank3' ? tf.tensor3d(x, [1, M, K]) : tf.tensor2d(x, [M, K]);
      const rt = c.layout === 'rank3' ? tf.tensor3d(res, [1, M, N]) : tf.tensor2d(res, [M, N]);
      const bt = tf.tensor1d(b);
      const run = () => sparseMatMul(xt, w, {bias: c.bias ? bt : undefined, residual: rt, transposeX: c.layout === 'transposeX'});
      const y = c.limit == null ? run() : await withBindingLimit(c.limit, async () => {
        expect(w.columnParts().length).withContext('column strips').toBeGreaterThan(1);
        return run();
      });
      expect(y.shape).toEqual(rt.shape);
      const ref = refMatMul(x, wData, M, K, N, {bias: c.bias ? b : undefined});
      const want = ref.y.map((v, i) => v + res[i]);
      const tol = ref.tol.map((t, i) => t + 1e-6 * Math.abs(res[i]));
      expectAllClose(await y.data(), want, tol, [M, N], `residual ${label} on ${backend}`);
      tf.dispose([xt, rt, bt, y]);
      w.dispose();
    });
  }

  it('has the gradient of an add: dy for the residual, unchanged for x and bias', async () => {
    const r = rng(`residual gradient ${backend}`);
    const [M, K, N] = [3, 50, 7];
    const wData = r.sparse(K, N, 0.5);
    const w = SparseMatrix.fromDense(wData, [K, N], {valueType: 'float32'});
    const [x, b, res, dy] = [tf.tensor2d(r.normals(M * K), [M, K]), tf.tensor1d(r.normals(N)), tf.tensor2d(r.normals(M * N), [M, N]), tf.tensor2d(r.normals(M * N), [M, N])];
    const f = (a: tf.Tensor, bias: tf.Tensor, residual: tf.Tensor) => sparseMatMul(a, w, {bias, residual});
    const [dx, db, dr] = tf.grads(f)([x, b, res], dy);
    const dyData = await dy.data();
    expect(Array.from(await dr.data())).toEqual(Array.from(dyData));
    const ref = refMatMul(dyData, transpose2d(wData, K, N), M, N, K);
    expectAllClose(await dx.data(), ref.y, ref.tol, [M, K], `dx on ${backend}`);
    const dbRef = Array.from({length: N}, (_, n) => dyData[n] + dyData[N + n] + dyData[2 * N + n]);
    expectAllClose(await db.data(), dbRef, 1e-5, [N], `dbias on ${backend}`);
    tf.dispose([x, b, res, dy, dx, db, dr]);
    w.dispose();
  });

  it('names a residual of the wrong shape or with a non-linear activation', () => {
    const w = SparseMatrix.fromDense(new Float32Array(12).fill(1), [3, 4]);
    const x = tf.ones([2, 3]);
    const good = tf.zeros([2, 4]), bad = tf.zeros([4]), int = tf.zeros([2, 4], 'int32');
    expect(() => sparseMatMul(x, w, {residual: bad})).toThrowError("sparseMatMul: residual must have the result's shape [2, 4], got [4]");
    expect(() => sparseMatMul(x, w, {residual: good, activation: 'relu'})).toThrowError("sparseMatMul: residual needs activation 'linear', got 'relu'");
    expect(() => sparseMatMul(x, w, {residual: int})).toThrowError('sparseMatMul: residual must be float32, got int32');
    const {header, offsets, values} = w.tensors();
    const wrong = tf.zeros([3, 4]);
    expect(() => tf.engine().runKernel('SparseMatMul', {x, header, offsets, values, residual: wrong},
        {K: 3, N: 4, valueType: 'float16', transposeX: false, transposeW: false, activation: 'linear', leakyreluAlpha: 0.2} as never))
        .toThrowError('SparseMatMul: residual must be float32 of shape [2, 4], got float32 [3, 4]');
    tf.dispose([x, good, bad, int, wrong]);
    w.dispose();
  });
});
