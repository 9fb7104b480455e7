/**
 * Issue #2: sparseMatMul against the float64 reference (and against tf.matMul with the same decoded
 * weights) on every backend that has the kernel. Every output element is checked; the tolerance is
 * documented in helpers/reference.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachProgram} from './helpers/backends';
import {expectAllClose, refMatMul, RefOptions} from './helpers/reference';
import {Rng, rng} from './helpers/random';
import {Activation, SparseMatrix, sparseMatMul, SparseMatMulOptions, ValueType} from '../src/index';

interface Case {
  /** Rows of x (all batch rows together). */
  M: number;
  K: number;
  N: number;
  sparsity?: number;
  valueType?: ValueType;
  activation?: Activation;
  bias?: boolean;
  leakyreluAlpha?: number;
  /** Size of prelu's alpha: 1 (scalar) or N. */
  prelu?: 'scalar' | 'channel';
  /** Shape of x before the K axis: [] for rank 1, [M] for 2-D, [2, 3] for batched. */
  batch?: number[];
  transposeX?: boolean;
  /** A given weight instead of a random one. */
  weight?: Float32Array;
}

function name(c: Case): string {
  const parts = [`${c.M}×${c.K}·${c.K}×${c.N}`];
  if (c.sparsity !== undefined) parts.push(`sparsity ${c.sparsity}`);
  if (c.valueType) parts.push(c.valueType);
  if (c.activation) parts.push(c.activation + (c.prelu ? ` (${c.prelu})` : '') + (c.leakyreluAlpha !== undefined ? ` α=${c.leakyreluAlpha}` : ''));
  if (c.bias) parts.push('bias');
  if (c.batch) parts.push(`x [${[...c.batch, c.transposeX ? 'K, M' : 'K'].join(', ')}]`);
  if (c.transposeX) parts.push('transposeX');
  if (c.weight) parts.push('structured weight');
  return parts.join(', ');
}

function dense2(x: tf.Tensor, w: tf.Tensor2D, c: Case, bias: tf.Tensor | undefined, prelu: tf.Tensor | undefined): tf.Tensor {
  return tf.tidy(() => denseUntidy(x, w, c, bias, prelu));
}

function denseUntidy(x: tf.Tensor, w: tf.Tensor2D, c: Case, bias: tf.Tensor | undefined, prelu: tf.Tensor | undefined): tf.Tensor {
  let z: tf.Tensor = tf.matMul(x as tf.Tensor2D, w);
  if (bias) z = tf.add(z, bias);
  switch (c.activation ?? 'linear') {
    case 'linear': return z;
    case 'relu': return tf.relu(z);
    case 'relu6': return tf.relu6(z);
    case 'elu': return tf.elu(z);
    case 'leakyrelu': return tf.leakyRelu(z, c.leakyreluAlpha ?? 0.2);
    case 'prelu': return tf.prelu(z, prelu!);
    case 'sigmoid': return tf.sigmoid(z);
  }
}

/** Runs one case on the active backend and checks all of y against the reference and tf.matMul. */
async function check(c: Case, label: string): Promise<void> {
  const r: Rng = rng(label);
  const {M, K, N} = c;
  const before = tf.memory().numTensors;
  const w = SparseMatrix.fromDense(c.weight ?? r.sparse(K, N, c.sparsity ?? 0.8), [K, N], {valueType: c.valueType});
  const wDense = w.toDense();
  const wData = await wDense.data() as Float32Array;  // exactly the stored (decoded) weights

  // x as the op sees it, [M, K] row-major, and the tensor actually passed.
  const x2d = r.normals(M * K);
  const batch = c.batch ?? [M];
  let xTensor: tf.Tensor;
  if (c.transposeX) {
    // [..., K, M'] with M' = last batch dim: transpose each [M', K] block.
    const Mi = batch[batch.length - 1], outer = M / Mi;
    const t = new Float32Array(M * K);
    for (let b = 0; b < outer; b++) {
      for (let m = 0; m < Mi; m++) for (let k = 0; k < K; k++) t[b * Mi * K + k * Mi + m] = x2d[(b * Mi + m) * K + k];
    }
    xTensor = tf.tensor(t, [...batch.slice(0, -1), K, Mi]);
  } else {
    xTensor = tf.tensor(x2d, [...batch, K]);
  }
  const opts: SparseMatMulOptions = {activation: c.activation, transposeX: c.transposeX};
  const ref: RefOptions = {activation: c.activation};
  let bias: tf.Tensor | undefined, prelu: tf.Tensor | undefined;
  if (c.bias) {
    const b = r.normals(N, 2);
    bias = tf.tensor1d(b);
    opts.bias = bias;
    ref.bias = b;
  }
  if (c.leakyreluAlpha !== undefined) {
    opts.leakyreluAlpha = c.leakyreluAlpha;
    ref.leakyreluAlpha = c.leakyreluAlpha;
  }
  if (c.prelu) {
    const a = Float32Array.from({length: c.prelu === 'scalar' ? 1 : N}, () => r.uniform(-1.5, 1.5));
    prelu = c.prelu === 'scalar' ? tf.scalar(a[0]) : tf.tensor1d(a);
    opts.preluActivationWeights = prelu;
    ref.prelu = a;
  }

  const y = sparseMatMul(xTensor, w, opts);
  const outShape = [...batch, N];
  expect(y.shape).toEqual(outShape);
  expect(y.dtype).toBe('float32');
  const expected = refMatMul(x2d, wData, M, K, N, ref);
  const got = await y.data();
  expectAllClose(got, expected.y, expected.tol, outShape, `sparseMatMul ${name(c)} on ${tf.getBackend()} vs float64`);

  // The dense path on the same backend, with the same decoded weights.
  const x2 = tf.tensor2d(x2d, [M, K]);
  const yDense = dense2(x2, wDense, c, bias, prelu);
  const dense = await yDense.data();
  expectAllClose(got, dense, expected.tol.map((t) => 2 * t), outShape, `sparseMatMul ${name(c)} vs tf.matMul`);

  tf.dispose([xTensor, y, x2, yDense, wDense]);
  if (bias) bias.dispose();
  if (prelu) prelu.dispose();
  w.dispose();
  expect(tf.memory().numTensors).withContext('tensors left after the case').toBe(before);
}

/** A weight with all-zero rows, columns and tiles, a fully dense tile and a random rest. */
function structuredWeight(K: number, N: number, label: string): Float32Array {
  const r = rng(label);
  const w = r.sparse(K, N, 0.5);
  const set = (k: number, n: number, v: number) => {
    if (k < K && n < N) w[k * N + n] = v;
  };
  for (let k = 0; k < 32; k++) for (let n = 0; n < 32; n++) set(k, n, r.nonzero());        // tile (0, 0) dense
  for (let k = 32; k < 64; k++) for (let n = 32; n < 64; n++) set(k, n, 0);                // tile (1, 1) empty
  for (let k = 64; k < 96; k++) for (let n = 0; n < 32; n++) set(k, n, r.nonzero());       // tile (2, 0) dense
  for (let n = 0; n < N; n++) set(40, n, 0);                                              // row 40 empty
  for (let n = 0; n < N; n++) set(97, n, 0);                                              // row 97 (edge tile) empty
  for (let k = 0; k < K; k++) set(k, 70, 0);                                              // column 70 empty
  for (let k = 0; k < K; k++) for (let n = 96; n < 128; n++) set(k, n, 0);                // strip 3 empty
  return w;
}

// The webgpu kernel compiles one shader per variant (rows per workgroup: 1, 2, 4, 8 or 16 for up to
// 63 rows, value type, transposeX, activation, bias, prelu), which is slow on SwiftShader. So most cases
// use 3 or 4 rows and share variants; the odd shapes still cover 1, 2, 3, 5 and 64+ rows.
describeEachProgram('sparseMatMul', (backend) => {
  // Odd sizes on every side. Tall x runs webgpu's tiled program where it is the cheaper one
  // (sparse_mat_mul_plan.ts; slow to compile on SwiftShader), so the tall cases share one shader variant
  // (no size-1 dimension in x or y).
  const shapes: Case[] = [
    {M: 1, K: 127, N: 257},
    {M: 3, K: 257, N: 127},
    {M: 3, K: 1, N: 257},
    {M: 5, K: 3, N: 1},
    {M: 257, K: 3, N: 127},
    {M: 127, K: 257, N: 3},
    {M: 1, K: 4097, N: 3, sparsity: 0.9},
    {M: 3, K: 33, N: 4097, sparsity: 0.9},
    {M: 4097, K: 5, N: 3, sparsity: 0.5},
    {M: 2, K: 4097, N: 40, sparsity: 0.99},
  ];
  for (const c of shapes) {
    it(`matches the reference for odd shapes: ${name(c)}`, async () => {
      await check(c, `${backend} shape ${name(c)}`);
    });
  }

  for (const sparsity of [0, 0.5, 0.9, 0.99, 1]) {
    for (const valueType of ['float16', 'float32'] as const) {
      const c: Case = {M: 4, K: 300, N: 70, sparsity, valueType, bias: sparsity === 1};
      it(`matches the reference at ${name(c)}`, async () => {
        await check(c, `${backend} sparsity ${name(c)}`);
      });
    }
  }

  it('handles all-zero rows, columns and tiles and fully dense tiles', async () => {
    const K = 100, N = 140;
    for (const valueType of ['float16', 'float32'] as const) {
      await check({M: 6, K, N, valueType, weight: structuredWeight(K, N, `${backend} structured ${valueType}`)},
          `${backend} structured x ${valueType}`);
    }
  });

  const activations: Array<Pick<Case, 'activation' | 'prelu' | 'leakyreluAlpha'>> = [
    {activation: 'linear'}, {activation: 'relu'}, {activation: 'relu6'}, {activation: 'elu'},
    {activation: 'leakyrelu'}, {activation: 'leakyrelu', leakyreluAlpha: 0.37},
    {activation: 'prelu', prelu: 'channel'}, {activation: 'prelu', prelu: 'scalar'}, {activation: 'sigmoid'},
  ];
  for (const a of activations) {
    for (const bias of [false, true]) {
      const c: Case = {M: 4, K: 150, N: 70, sparsity: 0.8, ...a, bias};
      it(`fuses ${name(c)}`, async () => {
        await check(c, `${backend} act ${name(c)}`);
      });
    }
  }

  const layouts: Case[] = [
    {M: 6, K: 65, N: 33, batch: [2, 3], bias: true, activation: 'relu'},
    {M: 1, K: 65, N: 33, batch: [], bias: true},
    {M: 3, K: 65, N: 33, batch: [3], transposeX: true, bias: true, activation: 'sigmoid'},
    {M: 4, K: 65, N: 33, batch: [2, 2], transposeX: true, activation: 'elu'},
  ];
  for (const c of layouts) {
    it(`accepts ${name(c)}`, async () => {
      await check(c, `${backend} layout ${name(c)}`);
    });
  }

  it('accepts nested arrays for x, bias and prelu weights', async () => {
    const w = SparseMatrix.fromDense(new Float32Array([1, 0, -2, 0, 3, 0.5]), [2, 3]);
    const y = sparseMatMul([[1, 2], [-1, 0.5]], w, {bias: [0.5, -1, 2], activation: 'prelu', preluActivationWeights: [0.1]});
    // z = [[1.5, 5, 1], [-0.5, 0.5, 4.25]]; prelu(α = 0.1).
    expectAllClose(await y.data(), [1.5, 5, 1, -0.05, 0.5, 4.25], 1e-6, [2, 3], 'nested arrays');
    y.dispose();
    w.dispose();
  });
});
