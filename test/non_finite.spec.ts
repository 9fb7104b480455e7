/**
 * Issue #7: NaN and ±Inf propagate through sparseMatMul exactly as through dense tf.matMul, on every
 * backend: a non-finite x times a weight that is not stored (a 0) is NaN, as x·0 is; a stored NaN or
 * ±Inf weight meets every x, 0 included. Checked against the float64 reference (IEEE semantics) and
 * against tf.matMul on the decoded weights, for the fused and split-K programs, transposeX, and the
 * x·Wᵀ of the gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachProgram} from './helpers/backends';
import {expectNoLeakedTensors} from './helpers/leaks';
import {expectAllClose, refMatMul, transpose2d} from './helpers/reference';
import {rng} from './helpers/random';
import {SparseMatrix, sparseMatMul, ValueType} from '../src/index';

interface Case {
  M: number;
  K: number;
  N: number;
  valueType?: ValueType;
  transposeX?: boolean;
  /** (m, k, value) placed in x. */
  xSpecial: Array<[number, number, number]>;
  /** (k, n, value) placed in w. */
  wSpecial?: Array<[number, number, number]>;
  /** Rows of w made empty. */
  emptyRows?: number[];
}

/** The non-finite class of each element, for a message: how many NaN, +Inf and -Inf. */
function census(a: ArrayLike<number>): string {
  let nan = 0, pos = 0, neg = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i])) nan++;
    else if (a[i] === Infinity) pos++;
    else if (a[i] === -Infinity) neg++;
  }
  return `${nan} NaN, ${pos} +Inf, ${neg} -Inf`;
}

async function check(c: Case, label: string): Promise<void> {
  const r = rng(label);
  const {M, K, N} = c;
  const dense = r.sparse(K, N, 0.7);
  for (const k of c.emptyRows ?? []) dense.fill(0, k * N, (k + 1) * N);
  for (const [k, n, v] of c.wSpecial ?? []) dense[k * N + n] = v;
  const w = SparseMatrix.fromDense(dense, [K, N], {valueType: c.valueType});
  const wDense = w.toDense();
  const wData = await wDense.data() as Float32Array;
  const x = r.normals(M * K);
  for (const [m, k, v] of c.xSpecial) x[m * K + k] = v;
  const xt = c.transposeX ? tf.tensor2d(transpose2d(x, M, K), [K, M]) : tf.tensor2d(x, [M, K]);
  const y = sparseMatMul(xt, w, {transposeX: c.transposeX});
  const got = await y.data();
  const ref = refMatMul(x, wData, M, K, N);
  const what = `${M}×${K}·${K}×${N} ${c.valueType ?? 'float16'}${c.transposeX ? ' transposeX' : ''} on ${tf.getBackend()}`;
  expect(census(ref.y)).withContext(`${what}: the case must produce non-finite outputs`).not.toBe('0 NaN, 0 +Inf, 0 -Inf');
  expectAllClose(got, ref.y, ref.tol, [M, N], `${what} vs float64 (${census(ref.y)} expected)`);
  const yDense = tf.matMul(xt, wDense, c.transposeX, false);
  expectAllClose(got, await yDense.data(), ref.tol.map((t) => 2 * t), [M, N], `${what} vs tf.matMul`);
  tf.dispose([xt, y, yDense, wDense]);
  w.dispose();
}

describeEachProgram('sparseMatMul with NaN and ±Inf', (backend) => {
  expectNoLeakedTensors();

  // K = 70, N = 45: 3 × 2 tiles with partial edge tiles. Row 40 of w is empty, so an Inf there meets
  // only absent weights; (5, 3) holds +Inf, (6, 4) NaN, (7, 5) a value that is 0 in f16 but stored.
  const base = {K: 70, N: 45, emptyRows: [40], wSpecial: [[5, 3, Infinity], [6, 4, NaN], [7, 5, 1e-9]] as Array<[number, number, number]>};
  const cases: Case[] = [
    {...base, M: 1, xSpecial: [[0, 40, Infinity]]},
    {...base, M: 3, xSpecial: [[0, 12, NaN], [2, 69, -Infinity], [1, 7, Infinity]]},
    {...base, M: 4, valueType: 'float32', xSpecial: [[3, 0, Infinity], [1, 40, -Infinity], [2, 5, 0]]},
    {...base, M: 3, transposeX: true, xSpecial: [[1, 33, NaN], [2, 40, Infinity]]},
    // 16 rows per workgroup, with a non-finite x in only some of them.
    {...base, M: 17, xSpecial: [[16, 3, Infinity], [9, 64, NaN]]},
  ];
  for (const c of cases) {
    it(`propagates like tf.matMul: M ${c.M}, ${c.valueType ?? 'float16'}${c.transposeX ? ', transposeX' : ''}`, async () => {
      await check(c, `${backend} nonfinite ${c.M} ${c.valueType} ${c.transposeX}`);
    });
  }

  it('propagates through the split-K program (long K) and in edge tiles', async () => {
    // K = 3000 over few columns: webgpu splits K. An Inf in the last tile row and one early on.
    await check({M: 2, K: 3000, N: 40, xSpecial: [[0, 2999, Infinity], [1, 31, -Infinity]], emptyRows: [31]}, `${backend} nonfinite split`);
  });

  it('gives the same values as before for finite x (no non-finite path taken)', async () => {
    await check({M: 3, K: 70, N: 45, xSpecial: [], wSpecial: [[5, 3, Infinity]]}, `${backend} nonfinite only w`);
  });

  it('propagates through x·Wᵀ of the gradient', async () => {
    const K = 70, N = 45, M = 3;
    const r = rng(`${backend} nonfinite grad`);
    const dense = r.sparse(K, N, 0.7);
    for (let k = 0; k < K; k++) dense[k * N + 20] = 0;  // column 20 empty: an Inf dy there meets only zeros
    const w = SparseMatrix.fromDense(dense, [K, N]);
    const wDense = w.toDense();
    const wData = await wDense.data() as Float32Array;
    const x = tf.tensor2d(r.normals(M * K), [M, K]);
    const dyData = r.normals(M * N);
    dyData[0 * N + 20] = Infinity;
    dyData[2 * N + 7] = NaN;
    const dy = tf.tensor2d(dyData, [M, N]);
    const dx = tf.grad((xv: tf.Tensor) => sparseMatMul(xv, w))(x, dy);
    const ref = refMatMul(dyData, transpose2d(wData, K, N), M, N, K);
    expectAllClose(await dx.data(), ref.y, ref.tol, [M, K], `dx on ${backend} (${census(ref.y)} expected)`);
    const dense2 = tf.matMul(dy, wDense, false, true);
    expectAllClose(await dx.data(), await dense2.data(), ref.tol.map((t) => 2 * t), [M, K], `dx on ${backend} vs tf.matMul`);
    tf.dispose([wDense, x, dy, dx, dense2]);
    w.dispose();
  });
});
