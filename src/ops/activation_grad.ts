/** dL/dz of a fused activation, from its output y (z is not kept). */
import {add, cast, greater, less, logicalAnd, mul, scalar, sub, Tensor, where} from '@tensorflow/tfjs-core';
import type {Activation} from '../kernels/kernel_names.js';

/** TF.js's fused matMul has no prelu gradient either: z is not kept, and y alone cannot give it. */
export const NO_PRELU_GRADIENT =
    'sparseMatMul: no gradient through a fused prelu; apply tf.prelu after sparseMatMul to train its weights';

export function activationGrad(dy: Tensor, y: Tensor, activation: Activation, leakyreluAlpha: number): Tensor {
  switch (activation) {
    case 'linear': return dy;
    case 'relu': return mul(dy, cast(greater(y, 0), 'float32'));
    case 'relu6': return mul(dy, cast(logicalAnd(greater(y, 0), less(y, 6)), 'float32'));
    // elu(z) = e^z - 1 for z < 0, so its slope there is y + 1.
    case 'elu': return where(greater(y, 0), dy, mul(dy, add(y, 1)));
    case 'sigmoid': return mul(dy, mul(y, sub(1, y)));
    case 'leakyrelu':
      // With alpha ≥ 0, y > 0 exactly where z > 0; a negative alpha would hide the sign of z.
      if (leakyreluAlpha < 0) throw new Error('sparseMatMul: no gradient through leakyrelu with a negative alpha');
      return where(greater(y, 0), dy, mul(dy, scalar(leakyreluAlpha)));
    case 'prelu':
      throw new Error(NO_PRELU_GRADIENT);
  }
}
