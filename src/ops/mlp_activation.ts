/** The mlpActivation op: a transformer MLP's hidden activation in one kernel. */
import {engine, Tensor2D} from '@tensorflow/tfjs-core';
import {MLPActivation, MLPActivationAttrs, MLPActivationKind} from '../kernels/kernel_names.js';
import {checkFloatTensor} from './check_tensor.js';

/**
 * The MLP's hidden activation from its up projection's output z [rows, N]:
 * - 'swiglu' (Llama): z holds gate | up, N = 2F; returns silu(gate)·up, [rows, F];
 * - 'gelu' (GPT-2, the exact erf form): returns z·½(1 + erf(z/√2)), [rows, N].
 *
 * One dispatch on webgpu, where TF.js ops take three to five (slices included). Registered on `cpu` and
 * `webgpu`; no gradient.
 */
export function mlpActivation(z: Tensor2D, kind: MLPActivationKind): Tensor2D {
  checkFloatTensor('mlpActivation', 'z', z, 2, '[rows, N]');
  if (kind !== 'swiglu' && kind !== 'gelu') throw new Error(`mlpActivation: kind must be 'swiglu' or 'gelu', got ${String(kind)}`);
  if (kind === 'swiglu' && z.shape[1] % 2 !== 0) {
    throw new Error(`mlpActivation: 'swiglu' needs gate | up, an even number of columns, got ${z.shape[1]}`);
  }
  const attrs: MLPActivationAttrs = {kind};
  return engine().runKernel(MLPActivation, {z}, attrs as never) as Tensor2D;
}
