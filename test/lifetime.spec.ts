/**
 * Issue #7: leaks and lifetime. 1,000 sparseMatMul calls, 100 predict calls of a converted model and a
 * conversion leave tf.memory()'s tensors and bytes as they were after disposal, and on webgpu return
 * their GPU buffers to TF.js's pool (its buffer manager's used buffers and bytes come back, and it
 * allocates nothing new once warm). A SparseMatrix survives a backend switch (cpu ↔ webgpu) with the
 * same results, survives the tf.tidy it was made in, and a disposed one is a clear error everywhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import {backendStatus, describeEachBackend} from './helpers/backends';
import {rng} from './helpers/random';
import {SparseMatrix, sparseMatMul, sparsifyModel} from '../src/index';
import {mlp, setRandomWeights} from './layers/util';

interface BufferCounts {
  numUsedBuffers: number;
  numFreeBuffers: number;
  numBytesUsed: number;
  numBytesAllocated: number;
}

/** The webgpu backend's buffer manager counts, or null on another backend. */
function buffers(): BufferCounts | null {
  const m = (tf.backend() as unknown as {bufferManager?: BufferCounts}).bufferManager;
  return m == null ? null : {numUsedBuffers: m.numUsedBuffers, numFreeBuffers: m.numFreeBuffers, numBytesUsed: m.numBytesUsed, numBytesAllocated: m.numBytesAllocated};
}

interface Snapshot {
  numTensors: number;
  numBytes: number;
  gpu: BufferCounts | null;
}

function snapshot(): Snapshot {
  const m = tf.memory();
  return {numTensors: m.numTensors, numBytes: m.numBytes, gpu: buffers()};
}

/**
 * Same tensors and bytes; on webgpu the same GPU buffers and bytes in use, and the pool about the size
 * it was. The pool is keyed by size and use, and how many buffers are in flight at a submit varies a
 * little, so it may grow by a few small buffers; one that did not reuse them would grow by at least
 * one output per call (`perCall` bytes) times `calls`.
 */
function expectSameMemory(after: Snapshot, before: Snapshot, what: string, calls: number, perCall: number): void {
  expect(after.numTensors).withContext(`${what}: tensors`).toBe(before.numTensors);
  expect(after.numBytes).withContext(`${what}: bytes`).toBe(before.numBytes);
  if (before.gpu && after.gpu) {
    expect(after.gpu.numUsedBuffers).withContext(`${what}: GPU buffers in use`).toBe(before.gpu.numUsedBuffers);
    expect(after.gpu.numBytesUsed).withContext(`${what}: GPU bytes in use`).toBe(before.gpu.numBytesUsed);
    expect(after.gpu.numBytesAllocated - before.gpu.numBytesAllocated)
        .withContext(`${what}: GPU bytes allocated by the loop (the pool is reused)`).toBeLessThan(calls * perCall / 100);
  }
}

describeEachBackend('lifetime', (backend) => {
  it('leaks nothing over 1,000 sparseMatMul calls (and 50 gradients)', async () => {
    const r = rng(`${backend} 1000 calls`);
    // One workgroup and one pass (no split over K): SwiftShader takes milliseconds per dispatch.
    const K = 64, N = 32;
    const w = SparseMatrix.fromDense(r.sparse(K, N, 0.8), [K, N]);
    const x = tf.tensor2d(r.normals(3 * K), [3, K]);
    const bias = tf.tensor1d(r.normals(N));
    const grad = tf.grad((xv: tf.Tensor) => tf.sum(sparseMatMul(xv, w, {bias, activation: 'sigmoid'})));
    const step = async (i: number) => {
      const y = sparseMatMul(x, w, {bias, activation: 'relu'});
      if (i % 100 === 99) await y.data();
      y.dispose();
      if (i % 20 === 0) {
        const g = grad(x);
        await g.data();
        g.dispose();
      }
    };
    // Warm: shaders, and the pool grows to what one round of the loop holds at once (disposed buffers
    // return to it when queued work is submitted). From then on it must not grow.
    for (let i = 0; i < 100; i++) await step(i);
    const before = snapshot();
    for (let i = 0; i < 1000; i++) await step(i);
    const flush = sparseMatMul(x, w);  // a read submits what is queued, so disposed buffers go back to the pool
    await flush.data();
    flush.dispose();
    expectSameMemory(snapshot(), before, '1,000 calls', 1000, 4 * 3 * N);
    tf.dispose([x, bias]);
    w.dispose();
  });

  it('leaks nothing over a conversion and 100 predict calls of the converted model', async () => {
    const r = rng(`${backend} predict`);
    const dense = mlp(64, [40], 10);
    setRandomWeights(dense, r);
    const calibration = tf.tensor2d(r.normals(16 * 64), [16, 64]);
    const x = tf.tensor2d(r.normals(8 * 64), [8, 64]);
    // Weights and inputs reach the GPU on first use: use them before counting its buffers.
    const yd = dense.predict(calibration) as tf.Tensor;
    await yd.data();
    yd.dispose();
    await x.data();
    const beforeConversion = snapshot();
    const {model} = await sparsifyModel(dense, {sparsity: 0.7, method: 'wanda', calibration, minWeights: 0});
    const layers = model.layers.map((l) => l.getClassName());
    expect(layers.filter((c) => c === 'SparseDense').length).toBe(2);
    const predict = async (i: number) => {
      const y = model.predict(x) as tf.Tensor;
      if (i % 25 === 24) await y.data();
      y.dispose();
    };
    for (let i = 0; i < 25; i++) await predict(i);
    const before = snapshot();
    for (let i = 0; i < 100; i++) await predict(i);
    const flush = model.predict(x) as tf.Tensor;
    await flush.data();
    flush.dispose();
    expectSameMemory(snapshot(), before, '100 predict calls', 100, 4 * 8 * (40 + 10));
    model.dispose();
    const after = snapshot();
    expect(after.numTensors).withContext('conversion, then dispose: tensors').toBe(beforeConversion.numTensors);
    expect(after.numBytes).withContext('conversion, then dispose: bytes').toBe(beforeConversion.numBytes);
    if (after.gpu && beforeConversion.gpu) {
      expect(after.gpu.numUsedBuffers).withContext('conversion, then dispose: GPU buffers in use').toBe(beforeConversion.gpu.numUsedBuffers);
    }
    dense.dispose();
    tf.dispose([calibration, x]);
  });

  it('keeps a matrix made inside tf.tidy, and remakes tensors disposed from outside', async () => {
    const r = rng(`${backend} tidy`);
    const data = r.sparse(40, 30, 0.5);
    let w: SparseMatrix | null = null;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      w = SparseMatrix.fromDense(data, [40, 30]);
    });
    const x = tf.tensor2d(r.normals(2 * 40), [2, 40]);
    const ref = SparseMatrix.fromDense(data, [40, 30]);
    const want = sparseMatMul(x, ref);
    const got = sparseMatMul(x, w!);
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
    tf.dispose(Object.values(w!.tensors()));
    const again = sparseMatMul(x, w!);
    expect(Array.from(await again.data())).toEqual(Array.from(await want.data()));
    tf.dispose([x, want, got, again]);
    w!.dispose();
    ref.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('makes every use of a disposed matrix a clear error', () => {
    const w = SparseMatrix.fromDense(new Float32Array([1, 0, 0, 2]), [2, 2]);
    w.dispose();
    const x = tf.ones([1, 2]);
    expect(() => sparseMatMul(x, w)).toThrowError(/^SparseMatrix: cannot use a disposed matrix$/);
    expect(() => sparseMatMul([[1, 2]], w, {bias: [1, 2]})).toThrowError(/cannot use a disposed matrix/);
    expect(() => w.tensors()).toThrowError(/cannot use a disposed matrix/);
    expect(() => w.columnParts()).toThrowError(/cannot use a disposed matrix/);
    expect(() => w.toDense()).toThrowError(/cannot toDense a disposed matrix/);
    expect(() => w.toEncoded()).toThrowError(/cannot toEncoded a disposed matrix/);
    x.dispose();
  });
});

describe('SparseMatrix across a backend switch', () => {
  let previous = '';
  beforeAll(() => {
    previous = tf.getBackend();
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  /** sparseMatMul of a matrix built on `from` and used on `to`, and of one built on `to`. */
  async function across(from: string, to: string): Promise<void> {
    const r = rng(`switch ${from} ${to}`);
    const K = 90, N = 50;
    const data = r.sparse(K, N, 0.7);
    const xData = r.normals(4 * K);
    await tf.setBackend(from);
    const before = tf.memory().numTensors;
    const moved = SparseMatrix.fromDense(data, [K, N]);
    await tf.setBackend(to);
    const native = SparseMatrix.fromDense(data, [K, N]);
    const x = tf.tensor2d(xData, [4, K]);
    const a = sparseMatMul(x, moved, {activation: 'relu'});
    const b = sparseMatMul(x, native, {activation: 'relu'});
    expect(Array.from(await a.data())).withContext(`built on ${from}, used on ${to}`).toEqual(Array.from(await b.data()));
    tf.dispose([x, a, b]);
    moved.dispose();
    native.dispose();
    expect(tf.memory().numTensors).withContext('tensors after the switch and dispose').toBe(before);
  }

  it('gives the same results when built on cpu and used on webgpu, and back', async () => {
    if (!backendStatus.available.includes('webgpu')) {
      pending('needs webgpu');
      return;
    }
    await across('cpu', 'webgpu');
    await across('webgpu', 'cpu');
  });
});
