/** The rowNorm op: RMSNorm or LayerNorm over the last axis in one kernel. */
import {engine, Tensor2D} from '@tensorflow/tfjs-core';
import {RowNorm, RowNormAttrs, RowNormKind} from '../kernels/kernel_names.js';
import {checkFloatTensor} from './check_tensor.js';

/** Options of {@link rowNorm}. */
export interface RowNormOptions {
  /** 'rms' (RMSNorm) or 'layer' (LayerNorm). */
  kind: RowNormKind;
  /** Added to the mean square (rms) or the variance (layer) under the square root. Defaults to 1e-5. */
  epsilon?: number;
}

/**
 * Normalises each row of x [rows, C] on its own, without scale or shift (fold those into the next
 * projection): RMSNorm `x / √(mean(x²) + ε)` or LayerNorm `(x − mean) / √(mean((x − mean)²) + ε)`.
 * One dispatch on webgpu (one workgroup per row), where TF.js ops take five to seven. Registered on `cpu`
 * and `webgpu`; no gradient.
 */
export function rowNorm(x: Tensor2D, opts: RowNormOptions): Tensor2D {
  checkFloatTensor('rowNorm', 'x', x, 2, '[rows, C]');
  const kind = opts?.kind;
  if (kind !== 'rms' && kind !== 'layer') throw new Error(`rowNorm: kind must be 'rms' or 'layer', got ${String(kind)}`);
  const epsilon = opts.epsilon ?? 1e-5;
  if (!Number.isFinite(epsilon) || epsilon < 0) throw new Error(`rowNorm: epsilon must be a finite number ≥ 0, got ${epsilon}`);
  if (x.shape[1] === 0) throw new Error('rowNorm: x has no columns');
  const attrs: RowNormAttrs = {kind, epsilon};
  return engine().runKernel(RowNorm, {x}, attrs as never) as Tensor2D;
}
