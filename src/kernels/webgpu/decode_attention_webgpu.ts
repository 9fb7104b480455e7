/** The webgpu DecodeAttention kernel: one dispatch. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {DecodeAttention, DecodeAttentionAttrs, DecodeAttentionInputs} from '../kernel_names.js';
import {DecodeAttentionProgram} from './decode_attention_program.js';
import {runProgram} from './run_program.js';

function decodeAttentionWebGPU(args: {inputs: DecodeAttentionInputs, backend: WebGPUBackend, attrs: DecodeAttentionAttrs}): TensorInfo {
  const {inputs: {q, keys, values}, backend, attrs: {length, column, scale, heads: H, valueHead}} = args;
  const [B, Hc, L, D] = keys.shape;
  const program = new DecodeAttentionProgram(B, H, D);
  const u = (v: number) => ({type: 'uint32' as const, data: [v]});
  return runProgram(backend, program, [q, keys, values], 'float32',
      [u(H), u(Hc), u(valueHead), u(L), u(D), u(q.shape[1]), u(length), u(column), {type: 'float32', data: [scale]}]);
}

export const decodeAttentionWebGPUConfig: KernelConfig = {
  kernelName: DecodeAttention,
  backendName: 'webgpu',
  kernelFunc: decodeAttentionWebGPU as unknown as KernelFunc,
};
