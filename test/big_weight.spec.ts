/**
 * Issue #7: weights bigger than one binding. With an artificial binding limit
 * (TFJS_SPARSE_MAX_BINDING_BYTES, applied on every backend), a SparseMatrix splits into column-strip
 * ranges and sparseMatMul (forward, bias, prelu, transposeX, batched x, gradient) still matches the
 * float64 reference; where a single strip exceeds the limit, the error names the limit and the size.
 * The lent-GPU check with a real ≥ 2 GiB weight is bench/big_weight.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {withBindingLimit} from './helpers/binding_limit';
import {expectNoLeakedTensors} from './helpers/leaks';
import {expectAllClose, refMatMul, transpose2d} from './helpers/reference';
import {rng} from './helpers/random';
import {Activation, SparseMatrix, sparseMatMul, ValueType} from '../src/index';
import {planColumnParts, sliceColumns} from '../src/ops/column_parts';
import {decodeDense} from '../src/ops/decode';
import {validateEncoded} from '../src/ops/validate';

const K = 160, N = 200;  // 5 × 7 tiles; the last strip has 8 columns

describe('planColumnParts and sliceColumns', () => {
  it('cover every strip once, each range within the limits, each slice a valid encoding of its columns', () => {
    const r = rng('column parts');
    for (const valueType of ['float16', 'float32'] as const) {
      const dense = r.sparse(K, N, 0.6);
      for (let k = 0; k < K; k++) for (let n = 64; n < 96; n++) dense[k * N + n] = 0;  // strip 2 empty
      const m = SparseMatrix.fromDense(dense, [K, N], {valueType});
      const e = m.toEncoded();
      m.dispose();
      const whole = decodeDense(e);
      // A strip holds about 4.1 KB of values in f16 at this density, 8.2 KB in f32.
      const scale = valueType === 'float16' ? 1 : 2;
      for (const limits of [{maxBindingBytes: 8192 * scale, maxColumnStrips: Infinity}, {maxBindingBytes: Infinity, maxColumnStrips: 3}, {maxBindingBytes: 5000 * scale, maxColumnStrips: 2}]) {
        const ranges = planColumnParts(e, limits);
        expect(ranges.length).withContext(JSON.stringify(limits)).toBeGreaterThan(2);
        expect(ranges[0].nt0).toBe(0);
        expect(ranges[ranges.length - 1].nt1).toBe(7);
        for (let i = 0; i < ranges.length; i++) {
          const {nt0, nt1} = ranges[i];
          if (i > 0) expect(nt0).toBe(ranges[i - 1].nt1);
          expect(nt1 - nt0).toBeLessThanOrEqual(limits.maxColumnStrips);
          const part = sliceColumns(e, ranges[i]);
          validateEncoded(part);
          for (const a of [part.header, part.offsets, part.values]) expect(4 * a.length).toBeLessThanOrEqual(limits.maxBindingBytes);
          const got = decodeDense(part), n0 = nt0 * 32, cols = part.shape[1];
          const want = new Float32Array(K * cols);
          for (let k = 0; k < K; k++) for (let c = 0; c < cols; c++) want[k * cols + c] = whole[k * N + n0 + c];
          expect(got).withContext(`${valueType} ${JSON.stringify(limits)} range ${nt0}..${nt1}`).toEqual(want);
        }
      }
    }
  });
});

describeEachBackend('sparseMatMul on a weight split over bindings', (backend) => {
  expectNoLeakedTensors();

  // M = 4 and these epilogues are shader variants sparse_mat_mul.spec.ts compiles too.
  async function check(valueType: ValueType, label: string, opts: {activation: Activation, bias: boolean, transposeX?: boolean, batch?: boolean}) {
    const r = rng(`${backend} split ${label}`);
    const M = 4;
    const w = SparseMatrix.fromDense(r.sparse(K, N, 0.5), [K, N], {valueType});
    const wDense = w.toDense();
    const wData = await wDense.data() as Float32Array;
    const x = r.normals(M * K);
    const b = r.normals(N, 2);
    const alpha = Float32Array.from({length: N}, () => r.uniform(-1, 1));
    const bias = tf.tensor1d(b), preluWeights = tf.tensor1d(alpha);
    const xt = opts.transposeX ? tf.tensor2d(transpose2d(x, M, K), [K, M]) : opts.batch ? tf.tensor3d(x, [1, M, K]) : tf.tensor2d(x, [M, K]);
    const prelu = opts.activation === 'prelu';
    // A strip of 160 rows holds about 5.1 KB (f16) or 10.2 KB (f32) of values at density 0.5.
    const limit = valueType === 'float16' ? 8192 : 12288;
    const y = await withBindingLimit(limit, async () => {
      expect(w.columnParts().length).withContext('column ranges under the limit').toBeGreaterThan(2);
      return sparseMatMul(xt, w, {
        bias: opts.bias ? bias : undefined, transposeX: opts.transposeX, activation: opts.activation,
        preluActivationWeights: prelu ? preluWeights : undefined,
      });
    });
    const ref = refMatMul(x, wData, M, K, N, {bias: opts.bias ? b : undefined, activation: opts.activation, prelu: prelu ? alpha : undefined});
    expect(y.shape).toEqual(opts.batch ? [1, M, N] : [M, N]);
    expectAllClose(await y.data(), ref.y, ref.tol, [M, N], `split ${label} on ${backend}`);
    expect(w.columnParts().length).withContext('one range again without the limit').toBe(1);
    tf.dispose([wDense, bias, preluWeights, xt, y]);
    w.dispose();
  }

  it('matches the reference with bias and relu, split by columns (float16)', async () => {
    await check('float16', 'relu', {activation: 'relu', bias: true});
  });
  it('matches the reference with bias and batched x, split by columns (float32)', async () => {
    await check('float32', 'batched', {activation: 'linear', bias: true, batch: true});
  });
  it('matches the reference with per-column prelu and with transposeX, split by columns', async () => {
    await check('float16', 'prelu', {activation: 'prelu', bias: true});
    await check('float16', 'transposeX', {activation: 'elu', bias: false, transposeX: true});
  });

  it('gives the gradient of x and bias, split by columns', async () => {
    const r = rng(`${backend} split grad`);
    const M = 3;
    const w = SparseMatrix.fromDense(r.sparse(K, N, 0.5), [K, N]);
    const wDense = w.toDense();
    const wData = await wDense.data() as Float32Array;
    const x = tf.tensor2d(r.normals(M * K), [M, K]);
    const bias = tf.tensor1d(r.normals(N));
    const dyData = r.normals(M * N);
    const dy = tf.tensor2d(dyData, [M, N]);
    const [dx, db] = await withBindingLimit(8192, async () => tf.grads((a: tf.Tensor, b: tf.Tensor) => sparseMatMul(a, w, {bias: b}))([x, bias], dy));
    const ref = refMatMul(dyData, transpose2d(wData, K, N), M, N, K);
    expectAllClose(await dx.data(), ref.y, ref.tol, [M, K], `dx, split, on ${backend}`);
    const dbRef = Array.from({length: N}, (_, n) => dyData[n] + dyData[N + n] + dyData[2 * N + n]);
    expectAllClose(await db.data(), dbRef, 1e-5, [N], `dbias, split, on ${backend}`);
    tf.dispose([wDense, x, bias, dy, dx, db]);
    w.dispose();
  });

  it('names the limit and the size when one strip does not fit, and tensors() of a split matrix is a clear error', async () => {
    const w = SparseMatrix.fromDense(rng(`${backend} split error`).sparse(K, N, 0.5), [K, N]);
    const x = tf.ones([2, K]);
    await withBindingLimit(2048, async () => {
      expect(() => sparseMatMul(x, w)).toThrowError(
          /^SparseMatrix: column strip 0 \(columns 0 to 31\) stores \d+ bytes of values, over the 2048-byte limit of one binding on this backend \(maxStorageBufferBindingSize, or TFJS_SPARSE_MAX_BINDING_BYTES\); a strip of 32 columns cannot be split further$/);
    });
    await withBindingLimit(8192, async () => {
      expect(() => w.tensors()).toThrowError(/SparseMatrix: \[160, 200\] is split into \d+ column ranges on this backend/);
    });
    x.dispose();
    w.dispose();
  });
});
