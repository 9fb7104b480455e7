/**
 * sparseMatMul's fused MLP activation: `mlpActivation(x·W + bias)` in the product's kernels, 'gelu'
 * elementwise in the skinny program's epilogue (or the reduce pass's), 'swiglu' in the reduce pass,
 * which pairs gate column j with up column N/2 + j. Checked against float64 on both backends through
 * every path that writes the result: split-K, one split (SwiGLU still takes the reduce pass), several
 * row groups, column strips (SwiGLU then runs as its own kernel), rank-3 and transposed x, at sparsities
 * 0 to 100%; then its errors. The output buffer is poisoned with NaN first, so an unwritten entry shows.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend, describeEachProgram} from './helpers/backends';
import {withBindingLimit, withFlag} from './helpers/binding_limit';
import {mlpRef} from './helpers/decoder_ops_reference';
import {expectNoLeakedTensors} from './helpers/leaks';
import {expectAllClose, refMatMul, transpose2d} from './helpers/reference';
import {rng} from './helpers/random';
import {type MLPActivationKind, SparseMatrix, sparseMatMul} from '../src/index';
import {TARGET_WORKGROUPS_FLAG} from '../src/kernels/webgpu/sparse_mat_mul_plan';

interface Case {
  kind: MLPActivationKind;
  M: number;
  K: number;
  N: number;
  sparsity: number;
  bias: boolean;
  layout?: 'rank3' | 'transposeX';
  /** An artificial binding limit in bytes, to split the weight into column strips. */
  limit?: number;
  /** TFJS_SPARSE_TARGET_WORKGROUPS: 1 keeps K whole (one split). */
  target?: number;
}

const CASES: Case[] = [
  {kind: 'swiglu', M: 1, K: 1, N: 2, sparsity: 0, bias: true},
  {kind: 'swiglu', M: 1, K: 127, N: 90, sparsity: 0.5, bias: false},
  {kind: 'swiglu', M: 3, K: 4097, N: 34, sparsity: 0.5, bias: true},  // long K, few columns: split-K
  {kind: 'swiglu', M: 2, K: 300, N: 64, sparsity: 0.7, bias: true, target: 1},  // one split, still reduced
  {kind: 'swiglu', M: 20, K: 64, N: 70, sparsity: 0.99, bias: true},  // several row groups
  {kind: 'swiglu', M: 3, K: 65, N: 66, sparsity: 1, bias: true},  // no weights: the bias alone
  {kind: 'swiglu', M: 4, K: 33, N: 6, sparsity: 0.5, bias: true, layout: 'rank3'},
  {kind: 'swiglu', M: 5, K: 40, N: 4, sparsity: 0.5, bias: false, layout: 'transposeX'},
  {kind: 'swiglu', M: 4, K: 160, N: 200, sparsity: 0.6, bias: true, limit: 8192},
  {kind: 'gelu', M: 1, K: 127, N: 45, sparsity: 0.5, bias: true},
  {kind: 'gelu', M: 3, K: 4097, N: 33, sparsity: 0.8, bias: true},
  {kind: 'gelu', M: 2, K: 300, N: 65, sparsity: 0, bias: false, target: 1},  // fused in the skinny program
  {kind: 'gelu', M: 20, K: 64, N: 3, sparsity: 0.99, bias: true},
  {kind: 'gelu', M: 4, K: 160, N: 200, sparsity: 0.6, bias: true, limit: 8192},
];

/** mlpRef of the float64 z, and a tolerance from z's own: |gelu'| < 1.13, |silu'| < 1.1. */
function reference(kind: MLPActivationKind, z: Float64Array, zTol: Float64Array, M: number, N: number): {want: Float64Array, tol: Float64Array} {
  const want = mlpRef(z, M, N, kind);
  if (kind === 'gelu') return {want, tol: zTol.map((t, i) => 1.13 * t + 2e-6 * Math.abs(want[i]) + 1e-6)};
  const F = N / 2;
  const silu = (g: number) => g / (1 + Math.exp(-g));
  const tol = want.map((y, o) => {
    const m = Math.floor(o / F), j = o % F;
    const g = z[m * N + j], u = z[m * N + F + j];
    return 1.1 * Math.abs(u) * zTol[m * N + j] + Math.abs(silu(g)) * zTol[m * N + F + j] + 2e-6 * Math.abs(y) + 1e-6;
  });
  return {want, tol};
}

/** Leaves `size` NaN floats in TF.js's buffer pool, which the next output of that size reuses (webgpu). */
async function poison(size: number): Promise<void> {
  const t = tf.fill([size], NaN);
  await t.data();
  t.dispose();
}

describeEachProgram('sparseMatMul mlpActivation', (backend) => {
  expectNoLeakedTensors();

  for (const c of CASES) {
    const label = `${c.kind} ${c.M}×${c.K}·${c.K}×${c.N} at ${c.sparsity}${c.bias ? ' + bias' : ''}` +
        `${c.layout ? `, ${c.layout}` : ''}${c.limit ? ', column strips' : ''}${c.target ? ', one split' : ''}`;
    it(`applies ${label} in the product's kernels`, async () => {
      const r = rng(`mlpActivation fused ${label} ${backend}`);
      const {M, K, N} = c;
      const w = SparseMatrix.fromDense(r.sparse(K, N, c.sparsity), [K, N], {valueType: c.limit ? 'float16' : 'float32'});
      // The reference takes the decoded weight: the f16 rounding of the stored values is not an error.
      const wDense = w.toDense();
      const wData = await wDense.data() as Float32Array;
      wDense.dispose();
      const x = r.normals(M * K), b = r.normals(N);
      const xt = c.layout === 'transposeX' ? tf.tensor2d(transpose2d(x, M, K), [K, M]) :
          c.layout === 'rank3' ? tf.tensor3d(x, [1, M, K]) : tf.tensor2d(x, [M, K]);
      const bt = tf.tensor1d(b);
      const F = c.kind === 'swiglu' ? N / 2 : N;
      await poison(M * F);
      const run = () => sparseMatMul(xt, w, {bias: c.bias ? bt : undefined, mlpActivation: c.kind, transposeX: c.layout === 'transposeX'});
      const target = (g: () => Promise<tf.Tensor>) => c.target == null ? g() : withFlag(TARGET_WORKGROUPS_FLAG, c.target, g);
      const y = await target(() => c.limit == null ? Promise.resolve(run()) : withBindingLimit(c.limit, async () => {
        expect(w.columnParts().length).withContext('column strips').toBeGreaterThan(1);
        return run();
      }));
      expect(y.shape).toEqual(c.layout === 'rank3' ? [1, M, F] : [M, F]);
      const ref = refMatMul(x, wData, M, K, N, {bias: c.bias ? b : undefined});
      const {want, tol} = reference(c.kind, ref.z, ref.tol, M, N);
      expectAllClose(await y.data(), want, tol, [M, F], `${label} on ${backend}`);
      tf.dispose([xt, bt, y]);
      w.dispose();
    });
  }

  it('gives what the product followed by mlpActivation gives', async () => {
    const r = rng(`mlpActivation fused vs op ${backend}`);
    const [M, K, N] = [2, 500, 128];
    const w = SparseMatrix.fromDense(r.sparse(K, N, 0.8), [K, N]);
    const [x, b] = [tf.tensor2d(r.normals(M * K), [M, K]), tf.tensor1d(r.normals(N))];
    for (const kind of ['swiglu', 'gelu'] as const) {
      const fused = sparseMatMul(x, w, {bias: b, mlpActivation: kind});
      const z = sparseMatMul(x, w, {bias: b}) as tf.Tensor2D;
      const apart = tf.tidy(() => (kind === 'swiglu' ?
          tf.mul(tf.mul(tf.slice(z, [0, 0], [M, N / 2]), tf.sigmoid(tf.slice(z, [0, 0], [M, N / 2]))), tf.slice(z, [0, N / 2], [M, N / 2])) :
          tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))))));
      const [got, ref] = [await fused.data(), await apart.data()];
      expectAllClose(got, Array.from(ref), Float64Array.from(ref, (v) => 1e-5 * (1 + Math.abs(v))), [M, apart.shape[1]!], kind);
      tf.dispose([fused, z, apart]);
    }
    tf.dispose([x, b]);
    w.dispose();
  });

  it('names a bad mlpActivation', () => {
    const w = SparseMatrix.fromDense(new Float32Array(12).fill(1), [3, 4]);
    const odd = SparseMatrix.fromDense(new Float32Array(9).fill(1), [3, 3]);
    const x = tf.ones([2, 3]), res = tf.zeros([2, 4]);
    expect(() => sparseMatMul(x, w, {mlpActivation: 'relu' as MLPActivationKind}))
        .toThrowError("sparseMatMul: mlpActivation must be 'swiglu' or 'gelu', got relu");
    expect(() => sparseMatMul(x, w, {mlpActivation: 'gelu', activation: 'relu'}))
        .toThrowError("sparseMatMul: mlpActivation needs activation 'linear' and no residual, got 'relu'");
    expect(() => sparseMatMul(x, w, {mlpActivation: 'swiglu', residual: res}))
        .toThrowError("sparseMatMul: mlpActivation needs activation 'linear' and no residual, got 'linear' and a residual");
    expect(() => sparseMatMul(x, odd, {mlpActivation: 'swiglu'}))
        .toThrowError("sparseMatMul: mlpActivation 'swiglu' needs gate | up, an even number of columns, got 3");
    const {header, offsets, values} = odd.tensors();
    const attrs = {K: 3, N: 3, valueType: 'float16', transposeX: false, transposeW: false, activation: 'linear', leakyreluAlpha: 0.2};
    expect(() => tf.engine().runKernel('SparseMatMul', {x, header, offsets, values}, {...attrs, mlpActivation: 'swiglu'} as never))
        .toThrowError("SparseMatMul: mlpActivation 'swiglu' needs gate | up, an even N, got 3");
    expect(() => tf.engine().runKernel('SparseMatMul', {x, header, offsets, values}, {...attrs, mlpActivation: 'tanh'} as never))
        .toThrowError("SparseMatMul: unknown mlpActivation 'tanh', expected 'swiglu' or 'gelu'");
    tf.dispose([x, res]);
    w.dispose();
    odd.dispose();
  });
});

// No leak check: when a gradient function throws, tfjs-core 4.22 leaks the tensors its tape saved (as
// for a fused prelu, test/gradient.spec.ts).
describeEachBackend('sparseMatMul mlpActivation gradient', (backend) => {
  it('is refused with a clear error', () => {
    const w = SparseMatrix.fromDense(rng(`mlpActivation grad ${backend}`).sparse(8, 4, 0.5), [8, 4]);
    const x = tf.ones([2, 8]);
    for (const kind of ['gelu', 'swiglu'] as const) {
      expect(() => tf.grad((a: tf.Tensor) => tf.sum(sparseMatMul(a, w, {mlpActivation: kind})))(x))
          .toThrowError(`sparseMatMul: no gradient with mlpActivation '${kind}': it is an inference fusion`);
    }
    x.dispose();
    w.dispose();
  });
});
