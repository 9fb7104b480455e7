/** The webgpu RowNorm kernel: one dispatch. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {RowNorm, RowNormAttrs, RowNormInputs} from '../kernel_names.js';
import {RowNormProgram} from './row_norm_program.js';
import {runProgram} from './run_program.js';

function rowNormWebGPU(args: {inputs: RowNormInputs, backend: WebGPUBackend, attrs: RowNormAttrs}): TensorInfo {
  const {inputs: {x}, backend, attrs: {kind, epsilon}} = args;
  const [rows, C] = x.shape;
  const program = new RowNormProgram(rows, C, kind);
  return runProgram(backend, program, [x], 'float32', [{type: 'uint32', data: [C]}, {type: 'float32', data: [epsilon]}]);
}

export const rowNormWebGPUConfig: KernelConfig = {
  kernelName: RowNorm,
  backendName: 'webgpu',
  kernelFunc: rowNormWebGPU as unknown as KernelFunc,
};
