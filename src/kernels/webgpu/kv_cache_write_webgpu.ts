/**
 * The webgpu KVCacheWrite kernel: one dispatch whose output binding is the cache's own buffer, so only
 * the new entries move. The result shares the cache's dataId, as Reshape's does.
 */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {KVCacheWrite, KVCacheWriteAttrs, KVCacheWriteInputs} from '../kernel_names.js';
import {KVCacheWriteProgram} from './kv_cache_write_program.js';
import {runProgram} from './run_program.js';

function kvCacheWriteWebGPU(args: {inputs: KVCacheWriteInputs, backend: WebGPUBackend, attrs: KVCacheWriteAttrs}): TensorInfo {
  const {inputs: {cache, x}, backend, attrs: {position, column}} = args;
  const [B, H, L, D] = cache.shape;
  const [rows, C] = x.shape;
  const count = rows * H * D;
  const program = new KVCacheWriteProgram(cache.shape, count);
  const u = (v: number) => ({type: 'uint32' as const, data: [v]});
  runProgram(backend, program, [x], 'float32', [u(count), u(rows / B), u(H), u(D), u(L), u(C), u(position), u(column)], cache);
  // A cache read earlier keeps a CPU copy that read() would return; it is stale now.
  (backend.tensorMap.get(cache.dataId) as {values: unknown}).values = null;
  backend.incRef(cache.dataId);
  return {dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype};
}

export const kvCacheWriteWebGPUConfig: KernelConfig = {
  kernelName: KVCacheWrite,
  backendName: 'webgpu',
  kernelFunc: kvCacheWriteWebGPU as unknown as KernelFunc,
};
