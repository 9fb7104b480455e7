/** Scalar fused activations, for the cpu reference; each matches the TF.js op of the same name. */
import type {Activation} from '../kernels/kernel_names.js';

export function activate(v: number, activation: Activation, leakyreluAlpha: number, preluAlpha: number): number {
  switch (activation) {
    case 'linear': return v;
    case 'relu': return v < 0 ? 0 : v;
    case 'relu6': return v < 0 ? 0 : (v > 6 ? 6 : v);
    case 'elu': return v >= 0 ? v : Math.exp(v) - 1;
    case 'leakyrelu': return v < 0 ? leakyreluAlpha * v : v;
    case 'prelu': return v < 0 ? preluAlpha * v : v;
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
  }
}
