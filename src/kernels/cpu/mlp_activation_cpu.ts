/** The cpu MLPActivation kernel. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {erfApprox} from '../../ops/erf.js';
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
      out[r * F + i] = kind === 'swiglu' ? v / (1 + Math.exp(-v)) * src[r * N + F + i] : 0.5 * v * (1 + erfApprox(v * Math.SQRT1_2));
    }
  }
  return output(backend, out, [rows, F]);
}

export const mlpActivationCpuConfig: KernelConfig = {
  kernelName: MLPActivation,
  backendName: 'cpu',
  kernelFunc: mlpActivationCpu as unknown as KernelFunc,
};
