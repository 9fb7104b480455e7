/** The cpu KVCacheWrite kernel: copies x's rows into the cache's own array, in place. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {KVCacheWrite, KVCacheWriteAttrs, KVCacheWriteInputs} from '../kernel_names.js';
import {read, SyncBackend} from './sync_backend.js';

function kvCacheWriteCpu(args: {inputs: KVCacheWriteInputs, backend: unknown, attrs: KVCacheWriteAttrs}): TensorInfo {
  const {inputs: {cache, x}, attrs: {position, column}} = args;
  const backend = args.backend as SyncBackend;
  // The cpu backend's readSync returns the array it stores for a float32 tensor, not a copy.
  const out = read(backend, cache);
  const src = read(backend, x);
  const [B, H, L, D] = cache.shape;
  const [rows, C] = x.shape;
  const S = rows / B;
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const from = (b * S + s) * C + column;
      for (let h = 0; h < H; h++) {
        const to = ((b * H + h) * L + position + s) * D;
        out.set(src.subarray(from + h * D, from + (h + 1) * D), to);
      }
    }
  }
  backend.incRef(cache.dataId);
  return {dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype};
}

export const kvCacheWriteCpuConfig: KernelConfig = {
  kernelName: KVCacheWrite,
  backendName: 'cpu',
  kernelFunc: kvCacheWriteCpu as unknown as KernelFunc,
};
