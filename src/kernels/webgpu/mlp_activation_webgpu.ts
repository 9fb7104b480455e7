/** The webgpu MLPActivation kernel: one dispatch. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {MLPActivation, MLPActivationAttrs, MLPActivationInputs, MLPActivationKind} from '../kernel_names.js';
import {MLPActivationProgram} from './mlp_activation_program.js';
import {runProgram} from './run_program.js';

function mlpActivationWebGPU(args: {inputs: MLPActivationInputs, backend: WebGPUBackend, attrs: MLPActivationAttrs}): TensorInfo {
  const {inputs: {z}, backend, attrs: {kind}} = args;
  return runMLPActivation(backend, z, kind);
}

/** The activation of z [rows, N]; also the sparse matMul's, where its reduce pass cannot take it. */
export function runMLPActivation(backend: WebGPUBackend, z: TensorInfo, kind: MLPActivationKind): TensorInfo {
  const [rows, N] = z.shape;
  const F = kind === 'swiglu' ? N / 2 : N;
  const program = new MLPActivationProgram(rows, F, kind);
  const u = (v: number) => ({type: 'uint32' as const, data: [v]});
  return runProgram(backend, program, [z], 'float32', [u(rows * F), u(F), u(N)]);
}

export const mlpActivationWebGPUConfig: KernelConfig = {
  kernelName: MLPActivation,
  backendName: 'webgpu',
  kernelFunc: mlpActivationWebGPU as unknown as KernelFunc,
};
