/**
 * Issue #7: property tests with fast-check. sparseMatMul on random shapes (1 to 5000 on each side, M up
 * to 300, within a work budget), sparsity patterns (uniform, clustered, empty tiles and rows, dense
 * tiles, few rows) and values (±0, subnormals, f16's range edges, NaN, ±Inf) matches the float64
 * reference, NaN and ±Inf included, on every backend; on cpu also tf.matMul on the decoded weights. A
 * backend whose dense tf.matMul flushes f32 subnormals (SwiftShader) is held to a reference that does too.
 * Every case leaves the tensor count and bytes as they were.
 *
 * Cost: the webgpu suite compiles one shader per variant it meets (rows per workgroup 1/2/4/8/16 × value
 * type × fused or split-K × layout), shared with the other specs; shapes themselves compile nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachProgram} from './helpers/backends';
import {itHolds} from './helpers/property';
import {Rng} from './helpers/random';
import {flushesSubnormals, mismatch, refMatMul, transpose2d} from './helpers/reference';
import {Budget, buildWeight, buildX, describeCase, matMulCases, MatMulCase} from './helpers/sparse_cases';
import {SparseMatrix, sparseMatMul} from '../src/index';
import {TARGET_WORKGROUPS_FLAG} from '../src/kernels/webgpu/sparse_mat_mul_plan';
import {TEST_LONG} from './helpers/random';

/**
 * Cases per backend per runner (Node and Chromium each run both backends): 2 × (300 + 200) = 1,000 per
 * CI run. A webgpu case costs SwiftShader about ten times a cpu one.
 */
const RUNS: Record<string, number> = {cpu: 300, webgpu: 200};
/**
 * Weights, work and webgpu workgroups per case (SwiftShader takes milliseconds per workgroup); long mode
 * takes bigger ones.
 */
function budget(backend: string): Budget {
  const scale = TEST_LONG ? 4 : 1;
  return {weights: scale << 20, work: scale << 22, workgroups: backend === 'webgpu' ? scale * 32 : Infinity};
}
/** tf.matMul's own check on cpu, below this M·K·N. */
const DENSE_CHECK_WORK = 1 << 20;

/** Runs one case on the active backend (which flushes subnormals or not); returns what is wrong, or null. */
async function checkCase(c: MatMulCase, flush: boolean): Promise<string | null> {
  const {M, K, N} = c;
  const r = new Rng(`property ${c.seed}`);
  const before = tf.memory();
  const dense = buildWeight(c, r);
  const x = buildX(c, dense, r);
  const bias = c.biasRelu ? r.normals(N, 2) : undefined;
  // Half the linear cases add a fused residual (drawn last, so the other inputs stay those of the seed).
  const residual = !c.biasRelu && c.seed % 2 === 0 ? r.normals(M * N) : undefined;
  const w = SparseMatrix.fromDense(dense, [K, N], {valueType: c.valueType});
  let stored = 0;
  for (const v of dense) if (v !== 0) stored++;
  const problems: string[] = [];
  if (w.nnz !== stored) problems.push(`nnz ${w.nnz}, but the weight has ${stored} nonzeros`);
  const wDense = w.toDense();
  const decoded = await wDense.data() as Float32Array;
  const xt = c.transposeX ? tf.tensor2d(transpose2d(x, M, K), [K, M]) : tf.tensor2d(x, [M, K]);
  const b = bias ? tf.tensor1d(bias) : undefined;
  const rt = residual ? tf.tensor2d(residual, [M, N]) : undefined;
  const y = sparseMatMul(xt, w, {transposeX: c.transposeX, bias: b, activation: c.biasRelu ? 'relu' : 'linear', residual: rt});
  const got = await y.data();
  const ref = refMatMul(x, decoded, M, K, N, {bias, activation: c.biasRelu ? 'relu' : 'linear', flushSubnormals: flush});
  if (residual) {
    ref.y = ref.y.map((v, i) => v + residual[i]);
    ref.tol = ref.tol.map((t, i) => t + 1e-6 * Math.abs(residual[i]));
  }
  const what = `sparseMatMul${residual ? ' + residual' : ''} on ${tf.getBackend()}`;
  problems.push(mismatch(got, ref.y, ref.tol, [M, N], `${what} vs float64`) ?? '');
  if (tf.getBackend() === 'cpu' && M * K * N <= DENSE_CHECK_WORK) {
    const yDense = tf.tidy(() => {
      const z = tf.matMul(xt, wDense, c.transposeX, false);
      return b ? tf.relu(tf.add(z, b)) : rt ? tf.add(z, rt) : z;
    });
    problems.push(mismatch(got, await yDense.data(), ref.tol.map((t) => 2 * t), [M, N], `${what} vs tf.matMul`) ?? '');
    yDense.dispose();
  }
  tf.dispose([wDense, xt, y]);
  if (b) b.dispose();
  if (rt) rt.dispose();
  w.dispose();
  const after = tf.memory();
  if (after.numTensors !== before.numTensors || after.numBytes !== before.numBytes) {
    problems.push(`left ${after.numTensors - before.numTensors} tensors and ${after.numBytes - before.numBytes} bytes`);
  }
  const found = problems.filter((p) => p !== '');
  return found.length === 0 ? null : `${describeCase(c)}: ${found.join('; ')}`;
}

describeEachProgram('sparseMatMul property', (backend) => {
  // Split K over at most this many workgroups instead of 2048: the same code, with every split count a
  // case can need, at a cost SwiftShader can bear.
  let target = 0;
  let flush = false;
  beforeAll(async () => {
    flush = await flushesSubnormals();
    target = tf.env().getNumber(TARGET_WORKGROUPS_FLAG);
    tf.env().set(TARGET_WORKGROUPS_FLAG, 64);
  });
  afterAll(() => {
    tf.env().set(TARGET_WORKGROUPS_FLAG, target);
  });

  itHolds('matches the float64 reference (NaN and ±Inf as dense matMul)', RUNS[backend] ?? 200, matMulCases(budget(backend)), (c) => checkCase(c, flush));
});
