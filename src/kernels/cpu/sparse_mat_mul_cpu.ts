/** The cpu SparseMatMul kernel: the reference for every other backend. Clear, not clever. */
import {KernelConfig, KernelFunc, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';
import {activate} from '../../ops/activation.js';
import {gelu, swiglu} from '../../ops/mlp_activation_math.js';
import {forEachStored} from '../../ops/decode.js';
import {EncodedSparseMatrix, forEachPosition, FORMAT_NAME, FORMAT_VERSION} from '../../ops/format.js';
import {checkKernelInputs} from '../kernel_inputs.js';
import {SparseMatMul, SparseMatMulAttrs, SparseMatMulInputs} from '../kernel_names.js';
import {output, read, SyncBackend} from './sync_backend.js';

/** With valueType float32, values may be a float32 tensor (a trainable copy); the bits are the same. */
function asWords(a: TypedArray): Int32Array {
  return a instanceof Int32Array ? a : new Int32Array(a.buffer, a.byteOffset, a.length);
}

/**
 * Dense matMul multiplies every x[m, i] by every weight, and x·0 is NaN when x is NaN or ±Inf. The sparse
 * sum skips the weights that are not stored, so this sets NaN wherever such an x meets one of them.
 * `xAt(m, i)` reads x; `stored(visit)` lists the stored (inner, outer) positions.
 */
function absentTimesNonFinite(
    acc: Float64Array, M: number, inner: number, outer: number, xAt: (m: number, i: number) => number,
    stored: (visit: (i: number, o: number) => void) => void): void {
  const badRows: number[][] = [];
  const slot = new Int32Array(inner).fill(-1);
  let slots = 0;
  for (let m = 0; m < M; m++) {
    const bad: number[] = [];
    for (let i = 0; i < inner; i++) {
      if (Number.isFinite(xAt(m, i))) continue;
      if (slot[i] < 0) slot[i] = slots++;
      bad.push(slot[i]);
    }
    badRows.push(bad);
  }
  if (slots === 0) return;
  // present[s · outer + o]: whether the weight at (inner index of slot s, o) is stored.
  const present = new Uint8Array(slots * outer);
  stored((i, o) => {
    if (slot[i] >= 0) present[slot[i] * outer + o] = 1;
  });
  for (let m = 0; m < M; m++) {
    const bad = badRows[m];
    if (bad.length === 0) continue;
    for (let o = 0; o < outer; o++) {
      if (bad.some((s) => present[s * outer + o] === 0)) acc[m * outer + o] = NaN;
    }
  }
}

function sparseMatMulCpu(args: {inputs: SparseMatMulInputs, backend: unknown, attrs: SparseMatMulAttrs}): TensorInfo {
  const {inputs, attrs} = args;
  checkKernelInputs(inputs, attrs);
  const backend = args.backend as SyncBackend;
  const {K, N, transposeX, transposeW, activation, leakyreluAlpha} = attrs;
  const [rowsX, colsX] = inputs.x.shape;
  const M = transposeX ? colsX : rowsX;
  const inner = transposeW ? N : K;
  const outer = transposeW ? K : N;
  const x = read(backend, inputs.x);
  const xAt = (m: number, i: number) => transposeX ? x[i * M + m] : x[m * inner + i];
  const encoded: EncodedSparseMatrix = {
    format: FORMAT_NAME, version: FORMAT_VERSION, shape: [K, N] as [number, number], valueType: attrs.valueType,
    header: read(backend, inputs.header) as Int32Array, offsets: read(backend, inputs.offsets) as Int32Array,
    values: asWords(read(backend, inputs.values)),
  };
  const acc = new Float64Array(M * outer);
  forEachStored(encoded, (k, n, v) => {
    const [i, o] = transposeW ? [n, k] : [k, n];
    for (let m = 0; m < M; m++) acc[m * outer + o] += xAt(m, i) * v;
  });
  absentTimesNonFinite(acc, M, inner, outer, xAt, (visit) => {
    forEachPosition(encoded.shape, encoded.header, encoded.offsets, (k, n) => transposeW ? visit(n, k) : visit(k, n));
  });
  const bias = inputs.bias ? read(backend, inputs.bias) : undefined;
  const prelu = inputs.preluActivationWeights ? read(backend, inputs.preluActivationWeights) : undefined;
  const residual = inputs.residual ? read(backend, inputs.residual) : undefined;
  const out = new Float32Array(M * outer);
  for (let m = 0; m < M; m++) {
    for (let o = 0; o < outer; o++) {
      const i = m * outer + o;
      const z = acc[i] += bias ? bias[o] : 0;
      const alpha = prelu ? prelu[prelu.length === 1 ? 0 : o] : 0;
      const y = attrs.mlpActivation === 'gelu' ? gelu(z) : activate(z, activation, leakyreluAlpha, alpha);
      // Rounded to f32 before the residual, as the shaders add it.
      out[i] = residual ? Math.fround(y) + residual[i] : y;
    }
  }
  if (attrs.mlpActivation === 'swiglu') {
    // From the float64 sums plus bias (acc), not from out.
    const F = outer / 2;
    const gated = new Float32Array(M * F);
    for (let m = 0; m < M; m++) {
      for (let j = 0; j < F; j++) gated[m * F + j] = swiglu(acc[m * outer + j], acc[m * outer + F + j]);
    }
    return output(backend, gated, [M, F]);
  }
  return output(backend, out, [M, outer]);
}

export const sparseMatMulCpuConfig: KernelConfig = {
  kernelName: SparseMatMul,
  backendName: 'cpu',
  kernelFunc: sparseMatMulCpu as unknown as KernelFunc,
};
