/** The webgpu RowArgMax kernel: one dispatch. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {RowArgMax, RowArgMaxInputs} from '../kernel_names.js';
import {RowArgMaxProgram} from './row_arg_max_program.js';
import {runProgram} from './run_program.js';

function rowArgMaxWebGPU(args: {inputs: RowArgMaxInputs, backend: WebGPUBackend}): TensorInfo {
  const {inputs: {x}, backend} = args;
  const [rows, C] = x.shape;
  return runProgram(backend, new RowArgMaxProgram(rows), [x], 'int32', [{type: 'uint32', data: [C]}]);
}

export const rowArgMaxWebGPUConfig: KernelConfig = {
  kernelName: RowArgMax,
  backendName: 'webgpu',
  kernelFunc: rowArgMaxWebGPU as unknown as KernelFunc,
};
