/**
 * Issue #2: gradients of sparseMatMul with respect to x and bias, against a float64 reference and against
 * tf.grads of the dense equivalent, on every backend that has the kernel.
 *
 * The loss is Σ y ⊙ R with a random R, so every gradient element matters. Pre-activations are kept away
 * from the kinks of relu, relu6 and leakyrelu (the data are redrawn until every |z − kink| exceeds 100×
 * the forward tolerance), where the one-sided slopes differ.
 *
 * Tolerance, per element of dx (and likewise db): with dz = R ⊙ act'(z),
 *   1e-5 · Σ_n |dz[m,n]|·|w[k,n]|  +  Σ_n |R[m,n]|·c·tol_y[m,n]·|w[k,n]|  +  1e-6,
 * where the middle term carries the forward error of y into dz for the activations whose slope is
 * computed from y (elu, sigmoid: c = 1; the others 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {activateGradRef, ABS_TOL, expectAllClose, kinks, refMatMul, REL_TOL} from './helpers/reference';
import {rng} from './helpers/random';
import {Activation, SparseMatrix, sparseMatMul} from '../src/index';

function denseAct(z: tf.Tensor, activation: Activation, alpha: number): tf.Tensor {
  switch (activation) {
    case 'linear': return z;
    case 'relu': return tf.relu(z);
    case 'relu6': return tf.relu6(z);
    case 'elu': return tf.elu(z);
    case 'leakyrelu': return tf.leakyRelu(z, alpha);
    case 'sigmoid': return tf.sigmoid(z);
    default: throw new Error(`no dense ${activation}`);
  }
}

interface GradCase {
  activation: Activation;
  leakyreluAlpha?: number;
  transposeX?: boolean;
  valueType?: 'float16' | 'float32';
}

async function checkGrad(c: GradCase, label: string): Promise<void> {
  const M = 4, K = 90, N = 40;  // 4 rows: the shader variants of sparse_mat_mul.spec.ts
  const activation = c.activation;
  const alpha = c.leakyreluAlpha ?? 0.2;
  const before = tf.memory().numTensors;
  const r = rng(label);
  const w = SparseMatrix.fromDense(r.sparse(K, N, 0.7), [K, N], {valueType: c.valueType});
  const wDense = w.toDense();
  const wData = await wDense.data() as Float32Array;

  // Draw x and bias until no pre-activation sits near a kink.
  let x: Float32Array = new Float32Array(0), b: Float32Array = new Float32Array(0);
  let ref = refMatMul(x, wData, 0, K, N);
  for (let attempt = 0; ; attempt++) {
    x = r.normals(M * K, 0.5);
    b = r.normals(N, 2);
    ref = refMatMul(x, wData, M, K, N, {bias: b, activation, leakyreluAlpha: alpha});
    const near = ref.z.some((z, i) => kinks(activation).some((k) => Math.abs(z - k) < 100 * ref.tol[i]));
    if (!near) break;
    if (attempt === 50) throw new Error('could not draw data away from the kinks');
  }
  const R = r.normals(M * N);

  // Reference gradients in float64.
  const chainsOnY = activation === 'elu' || activation === 'sigmoid';
  const dz = new Float64Array(M * N), dzErr = new Float64Array(M * N);
  for (let i = 0; i < M * N; i++) {
    dz[i] = R[i] * activateGradRef(ref.z[i], activation, alpha);
    dzErr[i] = (chainsOnY ? Math.abs(R[i]) * ref.tol[i] : 0) + REL_TOL * Math.abs(dz[i]);
  }
  const dx = new Float64Array(M * K), dxTol = new Float64Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = 0, scale = 0, err = 0;
      for (let n = 0; n < N; n++) {
        const wv = wData[k * N + n];
        s += dz[m * N + n] * wv;
        scale += Math.abs(dz[m * N + n] * wv);
        err += dzErr[m * N + n] * Math.abs(wv);
      }
      dx[m * K + k] = s;
      dxTol[m * K + k] = REL_TOL * scale + err + ABS_TOL;
    }
  }
  const db = new Float64Array(N), dbTol = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0, scale = 0, err = 0;
    for (let m = 0; m < M; m++) {
      s += dz[m * N + n];
      scale += Math.abs(dz[m * N + n]);
      err += dzErr[m * N + n];
    }
    db[n] = s;
    dbTol[n] = REL_TOL * scale + err + ABS_TOL;
  }

  // x as passed: [M, K], or [K, M] with transposeX.
  const xT = tf.tidy(() => c.transposeX ? tf.transpose(tf.tensor2d(x, [M, K])) : tf.tensor2d(x, [M, K]));
  const bT = tf.tensor1d(b);
  const RT = tf.tensor2d(R, [M, N]);
  const sparseLoss = (xv: tf.Tensor, bv: tf.Tensor) =>
    tf.sum(tf.mul(sparseMatMul(xv, w, {bias: bv, activation, leakyreluAlpha: alpha, transposeX: c.transposeX}), RT));
  const denseLoss = (xv: tf.Tensor, bv: tf.Tensor) =>
    tf.sum(tf.mul(denseAct(tf.add(tf.matMul(xv as tf.Tensor2D, wDense, c.transposeX), bv), activation, alpha), RT));
  const [gx, gb] = tf.grads(sparseLoss)([xT, bT]);
  const [hx, hb] = tf.grads(denseLoss)([xT, bT]);
  expect(gx.shape).toEqual(xT.shape);
  expect(gb.shape).toEqual([N]);

  // Compare in [M, K] layout.
  const gx2 = c.transposeX ? tf.transpose(gx) : gx;
  const hx2 = c.transposeX ? tf.transpose(hx) : hx;
  const gxData = await gx2.data(), gbData = await gb.data();
  const what = `${activation}${c.transposeX ? ' transposeX' : ''} on ${tf.getBackend()}`;
  expectAllClose(gxData, dx, dxTol, [M, K], `dL/dx ${what} vs float64`);
  expectAllClose(gbData, db, dbTol, [N], `dL/dbias ${what} vs float64`);
  expectAllClose(gxData, await hx2.data(), dxTol.map((t) => 2 * t), [M, K], `dL/dx ${what} vs dense tf.grads`);
  expectAllClose(gbData, await hb.data(), dbTol.map((t) => 2 * t), [N], `dL/dbias ${what} vs dense tf.grads`);

  tf.dispose([wDense, xT, bT, RT, gx, gb, hx, hb, gx2, hx2]);
  w.dispose();
  expect(tf.memory().numTensors).withContext('tensors left after the gradient case').toBe(before);
}

describeEachBackend('sparseMatMul gradient', (backend) => {
  const cases: GradCase[] = [
    {activation: 'linear'}, {activation: 'relu'}, {activation: 'sigmoid'}, {activation: 'elu'},
    {activation: 'relu6'}, {activation: 'leakyrelu'}, {activation: 'leakyrelu', leakyreluAlpha: 0.37},
    {activation: 'linear', transposeX: true}, {activation: 'relu', transposeX: true, valueType: 'float32'},
  ];
  for (const c of cases) {
    const label = `${c.activation}${c.leakyreluAlpha !== undefined ? ` α=${c.leakyreluAlpha}` : ''}` +
        `${c.transposeX ? ', transposeX' : ''}${c.valueType ? `, ${c.valueType}` : ''}`;
    it(`w.r.t. x and bias matches the dense equivalent: ${label}`, async () => {
      await checkGrad(c, `${backend} grad ${label}`);
    });
  }

  it('flows through batched (rank-3) x', async () => {
    const r = rng(`${backend} grad rank 3`);
    const w = SparseMatrix.fromDense(r.sparse(20, 12, 0.6), [20, 12]);
    const wDense = w.toDense();
    const x = tf.tensor3d(r.normals(2 * 3 * 20), [2, 3, 20]);
    const g = tf.grad((xv: tf.Tensor) => tf.sum(tf.sigmoid(sparseMatMul(xv, w))))(x);
    const h = tf.grad((xv: tf.Tensor) => tf.sum(tf.sigmoid(tf.matMul(tf.reshape(xv, [6, 20]), wDense))))(x);
    expect(g.shape).toEqual([2, 3, 20]);
    expectAllClose(await g.data(), await h.data(), 1e-5, [2, 3, 20], 'rank-3 dL/dx');
    tf.dispose([wDense, x, g, h]);
    w.dispose();
  });

  it('gives a clear error for a gradient through a fused prelu', () => {
    const w = SparseMatrix.fromDense(rng(`${backend} prelu grad`).sparse(8, 4, 0.5), [8, 4]);
    const x = tf.ones([2, 8]);
    const f = (xv: tf.Tensor) => tf.sum(sparseMatMul(xv, w, {activation: 'prelu', preluActivationWeights: [0.1]}));
    expect(() => tf.grad(f)(x)).toThrowError(/no gradient through a fused prelu; apply tf.prelu after sparseMatMul/);
    // No numTensors check here: when any gradient function throws, tfjs-core 4.22 leaks the tensors its
    // tape saved for the backward pass (it does the same for a core op without a gradient, e.g. Greater).
    x.dispose();
    w.dispose();
  });
});
