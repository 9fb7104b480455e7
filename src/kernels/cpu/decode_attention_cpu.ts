/** The cpu DecodeAttention kernel: scores, softmax and the weighted values per (sequence, head). */
import {DataType, KernelConfig, KernelFunc, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';
import {DecodeAttention, DecodeAttentionAttrs, DecodeAttentionInputs} from '../kernel_names.js';

interface SyncBackend {
  readSync(dataId: object): unknown;
  write(values: TypedArray, shape: number[], dtype: DataType): object;
}

function decodeAttentionCpu(args: {inputs: DecodeAttentionInputs, backend: unknown, attrs: DecodeAttentionAttrs}): TensorInfo {
  const {inputs, attrs: {length, column, scale}} = args;
  const backend = args.backend as SyncBackend;
  const q = backend.readSync(inputs.q.dataId) as TypedArray;
  const keys = backend.readSync(inputs.keys.dataId) as TypedArray;
  const values = backend.readSync(inputs.values.dataId) as TypedArray;
  const [B, H, L, D] = inputs.keys.shape;
  const C = inputs.q.shape[1];
  const out = new Float32Array(B * H * D);
  const scores = new Float64Array(length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qo = b * C + column + h * D, kv = (b * H + h) * L * D;
      let max = -Infinity;
      for (let t = 0; t < length; t++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[qo + d] * keys[kv + t * D + d];
        scores[t] = scale * s;
        max = Math.max(max, scores[t]);
      }
      let sum = 0;
      for (let t = 0; t < length; t++) sum += (scores[t] = Math.exp(scores[t] - max));
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let t = 0; t < length; t++) acc += scores[t] * values[kv + t * D + d];
        out[b * H * D + h * D + d] = acc / sum;
      }
    }
  }
  return {dataId: backend.write(out, [B, H * D], 'float32'), shape: [B, H * D], dtype: 'float32'};
}

export const decodeAttentionCpuConfig: KernelConfig = {
  kernelName: DecodeAttention,
  backendName: 'cpu',
  kernelFunc: decodeAttentionCpu as unknown as KernelFunc,
};
