/**
 * The webgpu SparseMatMul kernel: the skinny or the tiled LSCD program, as sparse_mat_mul_plan.ts
 * chooses, then the split-K reduce pass where K was split or SwiGLU pairs columns.
 */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {TILE_K, TILE_N} from '../../ops/format.js';
import {backendLimits, checkBindingBytes, deviceLimits} from '../backend_limits.js';
import {checkKernelInputs} from '../kernel_inputs.js';
import {SparseMatMul, SparseMatMulAttrs, SparseMatMulInputs} from '../kernel_names.js';
import {MAX_DISPATCH, planProduct} from './sparse_mat_mul_plan.js';
import {SparseMatMulTransposedProgram} from './sparse_mat_mul_transposed_program.js';
import {epilogueActivation} from './epilogue_wgsl.js';
import {SplitKReduceProgram} from './split_k_reduce_program.js';
import {runMLPActivation} from './mlp_activation_webgpu.js';
import {runProgram} from './run_program.js';
import {warpSubgroups} from './subgroups.js';

type Uniform = {type: 'uint32' | 'float32', data: number[]};

/** One entry per scalar: TF.js aligns a multi-value entry as a vector, but the structs hold scalars. */
function scalars(u32s: number[], f32s: number[] = []): Uniform[] {
  return [...u32s.map((v): Uniform => ({type: 'uint32', data: [v]})), ...f32s.map((v): Uniform => ({type: 'float32', data: [v]}))];
}

/** Every array the programs bind must fit one binding; a SparseMatrix is split by columns before this. */
function checkBindings(inputs: SparseMatMulInputs, attrs: SparseMatMulAttrs, backend: WebGPUBackend): void {
  const limits = backendLimits(backend);
  const bytes = (t: TensorInfo) => 4 * t.shape.reduce((a, b) => a * b, 1);
  const split = '; sparseMatMul splits a SparseMatrix by column strips to stay under it';
  for (const name of ['header', 'offsets', 'values'] as const) checkBindingBytes(`the weight's ${name}`, bytes(inputs[name]), limits, split);
  checkBindingBytes('x', bytes(inputs.x), limits, '; pass fewer rows of x per call');
  const M = attrs.transposeX ? inputs.x.shape[1] : inputs.x.shape[0];
  checkBindingBytes('the output', 4 * M * (attrs.transposeW ? attrs.K : attrs.N), limits, '; pass fewer rows of x per call');
}

function sparseMatMulWebGPU(args: {inputs: SparseMatMulInputs, backend: WebGPUBackend, attrs: SparseMatMulAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  checkKernelInputs(inputs, attrs);
  const {K, N, valueType, transposeX} = attrs;
  checkBindings(inputs, attrs, backend);
  const KT = Math.ceil(K / TILE_K);
  const NT = Math.ceil(N / TILE_N);
  const {x, header, offsets, values} = inputs;
  if (attrs.transposeW) {
    const M = x.shape[0];
    const program = new SparseMatMulTransposedProgram(M, K, valueType);
    return runProgram(backend, program, [x, header, offsets, values], 'float32',
        scalars([M, K, N, KT, NT]));
  }
  const M = transposeX ? x.shape[1] : x.shape[0];
  // In the programs' variableNames order.
  const epilogueInputs = [inputs.bias, inputs.preluActivationWeights, inputs.residual].filter((t): t is TensorInfo => t != null);
  const hasBias = inputs.bias != null;
  const hasPrelu = inputs.preluActivationWeights != null;
  const hasResidual = inputs.residual != null;
  const swiglu = attrs.mlpActivation === 'swiglu';
  const common = {valueType, transposeX, activation: epilogueActivation(attrs), hasBias, hasPrelu, hasResidual};
  // Stored values per weight element (f16 pairs in words; each tile's block is padded to 16 bytes).
  const density = values.shape[0] * (valueType === 'float16' ? 2 : 1) / (K * N);
  const {rows, splits, tileRowsPerSplit, program} = planProduct(M, N, KT, density,
      deviceLimits(backend.device).maxComputeWorkgroupStorageSize, 4 * (header.shape[0] + values.shape[0]), common,
      warpSubgroups(backend.device));
  const rowBlocks = Math.ceil(M / rows);
  // Beyond one dispatch's reach along M, run chunks of rows into the same output, unsplit.
  const chunkRows = MAX_DISPATCH * rows;
  const uniforms = (mOffset: number) => scalars([M, K, N, KT, NT, tileRowsPerSplit, mOffset], [attrs.leakyreluAlpha]);
  const encoded = [x, header, offsets, values];
  // SwiGLU pairs columns that lie in different workgroups: it always takes the reduce pass, or beyond
  // one dispatch's rows, its own kernel after the product.
  if (swiglu && rowBlocks > MAX_DISPATCH) {
    const z = sparseMatMulWebGPU({inputs, backend, attrs: {...attrs, mlpActivation: undefined}});
    const out = runMLPActivation(backend, z, 'swiglu');
    backend.disposeData(z.dataId);
    return out;
  }
  const twoPass = splits > 1 || swiglu;
  if (!twoPass) {
    let out: TensorInfo | undefined;
    for (let m0 = 0; m0 < M; m0 += chunkRows) {
      out = runProgram(backend, program(Math.ceil(Math.min(chunkRows, M - m0) / rows), false),
          [...encoded, ...epilogueInputs], 'float32', uniforms(m0), out);
    }
    return out!;
  }
  const partials = runProgram(backend, program(rowBlocks, true), encoded, 'float32', uniforms(0));
  const reduce = new SplitKReduceProgram(M, N, {
    activation: swiglu ? 'swiglu' : common.activation, hasBias, hasPrelu, hasResidual,
  });
  const out = runProgram(backend, reduce, [partials, ...epilogueInputs], 'float32', scalars([splits, M * N, N], [attrs.leakyreluAlpha]));
  backend.disposeData(partials.dataId);
  return out;
}

export const sparseMatMulWebGPUConfig: KernelConfig = {
  kernelName: SparseMatMul,
  backendName: 'webgpu',
  kernelFunc: sparseMatMulWebGPU as unknown as KernelFunc,
};
