/** The cpu MLPActivation kernel. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {gelu, swiglu} from '../../ops/mlp_activation_math.js';
import {MLPActivation, MLPActivationAttrs, MLPActivationInputs} from '../kernel_names.js';
import {output, read, SyncBackend} from './sync_backend.js';

function mlpActivationCpu(args: {inputs: MLPActivationInputs, backend: unknown, attrs: MLPActivationAttrs}): TensorInfo {
  const {inputs: {z}, attrs: {kind}} = args;
  const backend = args.backend as SyncBackend;
  const src = read(backend, z);
  const [rows, N] = z.shape;
  const F = kind === 'swiglu' ? N / 2 : N;
  const out = new Float32Array(rows * F);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < F; i++) {
      const v = src[r * N + i];
      out[r * F + i] = kind === 'swiglu' ? swiglu(v, src[r * N + F + i]) : gelu(v);
    }
  }
  return output(backend, out, [rows, F]);
}

export const mlpActivationCpuConfig: KernelConfig = {
  kernelName: MLPActivation,
  backendName: 'cpu',
  kernelFunc: mlpActivationCpu as unknown as KernelFunc,
};
