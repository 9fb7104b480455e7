/** The cpu DecodeAttention kernel: scores, softmax and the weighted values per (sequence, head). */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {DecodeAttention, DecodeAttentionAttrs, DecodeAttentionInputs} from '../kernel_names.js';
import {output, read, SyncBackend} from './sync_backend.js';

function decodeAttentionCpu(args: {inputs: DecodeAttentionInputs, backend: unknown, attrs: DecodeAttentionAttrs}): TensorInfo {
  const {inputs, attrs: {length, column, scale, heads: H, valueHead}} = args;
  const backend = args.backend as SyncBackend;
  const q = read(backend, inputs.q);
  const keys = read(backend, inputs.keys);
  const values = read(backend, inputs.values);
  const [B, Hc, L, D] = inputs.keys.shape;
  const C = inputs.q.shape[1];
  const out = new Float32Array(B * H * D);
  const scores = new Float64Array(length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const qo = b * C + column + h * D, kv = (b * Hc + h) * L * D, vo = (b * Hc + valueHead + h) * L * D;
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
        for (let t = 0; t < length; t++) acc += scores[t] * values[vo + t * D + d];
        out[b * H * D + h * D + d] = acc / sum;
      }
    }
  }
  return output(backend, out, [B, H * D]);
}

export const decodeAttentionCpuConfig: KernelConfig = {
  kernelName: DecodeAttention,
  backendName: 'cpu',
  kernelFunc: decodeAttentionCpu as unknown as KernelFunc,
};
