/** The webgpu SparseGather kernel: one dispatch, one thread per output entry. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {TILE_K} from '../../ops/format.js';
import {SparseGather, SparseGatherAttrs, SparseGatherInputs} from '../kernel_names.js';
import {SparseGatherProgram} from './sparse_gather_program.js';
import {runProgram} from './run_program.js';

function sparseGatherWebGPU(args: {inputs: SparseGatherInputs, backend: WebGPUBackend, attrs: SparseGatherAttrs}): TensorInfo {
  const {inputs: {indices, header, offsets, values, positionTable}, backend} = args;
  const {K, N, valueType, positionStart = 0, positionPeriod = 1} = args.attrs;
  const rows = indices.shape[0];
  const program = new SparseGatherProgram(rows, N, valueType, positionTable != null);
  const u = (v: number) => ({type: 'uint32' as const, data: [v]});
  return runProgram(backend, program, [indices, header, offsets, values, ...(positionTable ? [positionTable] : [])], 'float32',
      [u(rows * N), u(K), u(N), u(Math.ceil(K / TILE_K)), u(positionStart), u(positionPeriod)]);
}

export const sparseGatherWebGPUConfig: KernelConfig = {
  kernelName: SparseGather,
  backendName: 'webgpu',
  kernelFunc: sparseGatherWebGPU as unknown as KernelFunc,
};
