/** Issue #2: bad arguments give clear errors, and nothing leaks tensors, on every backend. */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {rng} from './helpers/random';
import {Activation, SparseMatrix, sparseMatMul} from '../src/index';
import {expectNoLeakedTensors} from './helpers/leaks';

describeEachBackend('sparseMatMul arguments', (backend) => {
  const K = 40, N = 24;
  let w: SparseMatrix;

  beforeAll(() => {
    w = SparseMatrix.fromDense(rng(`${backend} errors`).sparse(K, N, 0.7), [K, N]);
  });
  afterAll(() => {
    w.dispose();
  });
  expectNoLeakedTensors('tensors leaked by the spec (including by a throwing call)');

  /** Expects `f` to throw `message`, and to leave no tensor behind. */
  function throwsCleanly(f: () => unknown, message: RegExp) {
    const n = tf.memory().numTensors;
    expect(f).toThrowError(Error, message);
    expect(tf.memory().numTensors).withContext(`tensors left by the failed call (${message})`).toBe(n);
  }

  it('rejects x whose inner dimension is not K', () => {
    const x = tf.ones([3, K + 1]);
    throwsCleanly(() => sparseMatMul(x, w), /sparseMatMul: x has 41 inputs on axis 1 \(shape \[3, 41\]\), but the weight is \[40, 24\]/);
    const xt = tf.ones([K, 3]);
    throwsCleanly(() => sparseMatMul(xt, w), /x has 3 inputs on axis 1/);
    const x3 = tf.ones([3, K]);
    throwsCleanly(() => sparseMatMul(x3, w, {transposeX: true}), /x has 3 inputs on axis 0/);
    throwsCleanly(() => sparseMatMul(new Array(K + 2).fill(1), w), /x has 42 inputs on axis 0/);
    tf.dispose([x, xt, x3]);
  });

  it('rejects x of rank 0, and of rank 1 with transposeX', () => {
    const s = tf.scalar(1);
    throwsCleanly(() => sparseMatMul(s, w), /x must have rank ≥ 1, got shape \[\]/);
    throwsCleanly(() => sparseMatMul(1, w), /x must have rank ≥ 1, got shape \[\]/);
    s.dispose();
    throwsCleanly(() => sparseMatMul(new Array(K).fill(1), w, {transposeX: true}), /x must have rank ≥ 2 with transposeX, got shape \[40\]/);
  });

  it('rejects x that is not float32 (dtype mismatch)', () => {
    const x = tf.ones([2, K], 'int32');
    throwsCleanly(() => sparseMatMul(x, w), /sparseMatMul: x must be float32, got int32/);
    const b = tf.ones([2, K], 'bool');
    throwsCleanly(() => sparseMatMul(b, w), /x must be float32, got bool/);
    throwsCleanly(() => sparseMatMul({rows: 2} as unknown as number[][], w), /x is not a tensor or array of numbers/);
    tf.dispose([x, b]);
  });

  it('rejects a weight that is not a SparseMatrix', () => {
    const d = tf.ones([K, N]);
    const x = tf.ones([1, K]);
    throwsCleanly(() => sparseMatMul(x, d as unknown as SparseMatrix), /sparseMatMul: w must be a SparseMatrix/);
    tf.dispose([d, x]);
  });

  it('rejects a non-2-D or non-float32 weight in fromTensor', async () => {
    const t3 = tf.ones([2, 3, 4]);
    await expectAsync(SparseMatrix.fromTensor(t3)).toBeRejectedWithError(/fromTensor: the weight must be 2-D \[K, N\], got shape \[2, 3, 4\]/);
    const t1 = tf.ones([5]);
    await expectAsync(SparseMatrix.fromTensor(t1)).toBeRejectedWithError(/must be 2-D \[K, N\], got shape \[5\]/);
    const ti = tf.ones([2, 2], 'int32');
    await expectAsync(SparseMatrix.fromTensor(ti)).toBeRejectedWithError(/the weight must be float32, got int32/);
    tf.dispose([t3, t1, ti]);
  });

  it('rejects a bad shape or array in fromDense', () => {
    throwsCleanly(() => SparseMatrix.fromDense(new Float32Array(6), [2, 4]), /fromDense: 6 values do not fill shape \[2, 4\] \(8\)/);
    throwsCleanly(() => SparseMatrix.fromDense(new Float32Array(6), [2, 3, 1] as unknown as [number, number]), /shape must be \[K, N\]/);
    throwsCleanly(() => SparseMatrix.fromDense(new Float32Array(0), [0, 3]), /shape must be two positive integers, got \[0, 3\]/);
    throwsCleanly(() => SparseMatrix.fromDense([1, 2] as unknown as Float32Array, [1, 2]), /fromDense: values must be a Float32Array, got Array/);
    throwsCleanly(() => SparseMatrix.fromDense(new Float32Array(4), [2, 2], {valueType: 'int8' as 'float16'}), /valueType must be 'float16' or 'float32', got int8/);
  });

  it('rejects a disposed matrix with a clear error', () => {
    const m = SparseMatrix.fromDense(new Float32Array([1, 0, 0, 1]), [2, 2]);
    m.dispose();
    expect(m.isDisposed).toBeTrue();
    m.dispose();  // twice is harmless
    const x = tf.ones([1, 2]);
    throwsCleanly(() => sparseMatMul(x, m), /SparseMatrix: cannot use a disposed matrix/);
    throwsCleanly(() => m.toDense(), /SparseMatrix: cannot toDense a disposed matrix/);
    throwsCleanly(() => m.toEncoded(), /SparseMatrix: cannot toEncoded a disposed matrix/);
    x.dispose();
  });

  it('rejects an unknown activation, naming it and the known ones', () => {
    const x = tf.ones([1, K]);
    throwsCleanly(() => sparseMatMul(x, w, {activation: 'swish' as Activation}),
        /sparseMatMul: unknown activation 'swish', expected one of linear, relu, relu6, elu, leakyrelu, prelu, sigmoid/);
    x.dispose();
  });

  it('rejects a bias of the wrong shape or dtype', () => {
    const x = tf.ones([2, K]);
    const long = tf.ones([N + 1]), row = tf.ones([1, N]), ints = tf.ones([N], 'int32');
    throwsCleanly(() => sparseMatMul(x, w, {bias: long}), /sparseMatMul: bias must have shape \[24\], got \[25\]/);
    throwsCleanly(() => sparseMatMul(x, w, {bias: row}), /bias must have shape \[24\], got \[1, 24\]/);
    throwsCleanly(() => sparseMatMul(x, w, {bias: 1}), /bias must have shape \[24\], got \[\]/);
    throwsCleanly(() => sparseMatMul(x, w, {bias: [1, 2, 3]}), /bias must have shape \[24\], got \[3\]/);
    throwsCleanly(() => sparseMatMul(x, w, {bias: ints}), /bias must be float32, got int32/);
    throwsCleanly(() => sparseMatMul([new Array(K).fill(1)], w, {bias: long}), /bias must have shape \[24\], got \[25\]/);
    tf.dispose([x, long, row, ints]);
  });

  it('rejects prelu without weights or with weights of the wrong size', () => {
    const x = tf.ones([2, K]);
    throwsCleanly(() => sparseMatMul(x, w, {activation: 'prelu'}), /activation prelu needs preluActivationWeights/);
    throwsCleanly(() => sparseMatMul(x, w, {activation: 'prelu', preluActivationWeights: [1, 2]}),
        /preluActivationWeights must have size 1 or 24, got shape \[2\]/);
    x.dispose();
  });

  it('rejects a disposed x', () => {
    const x = tf.ones([2, K]);
    x.dispose();
    throwsCleanly(() => sparseMatMul(x, w), /sparseMatMul: x is disposed/);
  });

  it('leaves tensor counts unchanged after creating, using and disposing matrices', async () => {
    const r = rng(`${backend} memory`);
    const n0 = tf.memory().numTensors;
    for (const valueType of ['float16', 'float32'] as const) {
      const m = SparseMatrix.fromDense(r.sparse(70, 45, 0.6), [70, 45], {valueType});
      const x = tf.tensor2d(r.normals(3 * 70), [3, 70]);
      const y = sparseMatMul(x, m, {bias: r.normals(45), activation: 'relu'});
      await y.data();
      const d = m.toDense();
      const again = SparseMatrix.fromEncoded(m.toEncoded());
      const coo = SparseMatrix.fromCOO([[0, 0], [69, 44]], [1, 2], [70, 45], {valueType});
      const g = tf.grad((xv: tf.Tensor) => tf.sum(sparseMatMul(xv, m, {activation: 'sigmoid'})))(x);
      await g.data();
      tf.dispose([x, y, d, g]);
      m.dispose();
      again.dispose();
      coo.dispose();
    }
    expect(tf.memory().numTensors).toBe(n0);
  });
});
