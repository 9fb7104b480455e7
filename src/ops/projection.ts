/**
 * Projection: `x·W + bias (+ residual)` with W stored sparse (sparseMatMul) or dense (TF.js's fused matMul), behind one
 * interface, so that a model runs either way with all its other code shared.
 */
import {add, fused, Tensor, Tensor1D, Tensor2D} from '@tensorflow/tfjs-core';
import type {MLPActivationKind} from '../kernels/kernel_names.js';
import {mlpActivation} from './mlp_activation.js';
import {SparseMatrix} from './sparse_matrix.js';
import {sparseMatMul} from './sparse_mat_mul.js';

/** A linear map of a 2-D x [M, K] to [M, N], owning its weight and bias. */
export interface Projection {
  /** [K, N]. */
  readonly shape: [number, number];
  /** Bytes the weight and bias take on the backend. */
  readonly byteSize: number;
  /**
   * x·W + bias + residual (a skip connection, [M, N]; optional). The sparse projection adds both in its
   * kernel; the dense one adds what TF.js's fused matMul can (one bias-shaped tensor) in its kernel.
   */
  apply(x: Tensor2D, residual?: Tensor2D): Tensor2D;
  /**
   * mlpActivation(x·W + bias): a transformer MLP's up projection ('swiglu' takes W's columns as gate | up
   * and gives N/2). The sparse projection applies it in its kernels; the dense one runs it after TF.js's
   * fused matMul, as its own kernel.
   */
  applyActivated(x: Tensor2D, kind: MLPActivationKind): Tensor2D;
  /** Frees the weight and the bias. */
  dispose(): void;
}

/** A projection whose W is a SparseMatrix, run by sparseMatMul. Takes ownership of `w` and `bias`. */
export function sparseProjection(w: SparseMatrix, bias?: Tensor1D): Projection {
  if (!(w instanceof SparseMatrix)) throw new Error('sparseProjection: w must be a SparseMatrix');
  checkBias(bias, w.shape[1], 'sparseProjection');
  return {
    shape: w.shape,
    byteSize: w.byteSize + (bias ? 4 * bias.size : 0),
    apply: (x, residual) => sparseMatMul(x, w, {bias, residual}) as Tensor2D,
    applyActivated: (x, kind) => sparseMatMul(x, w, {bias, mlpActivation: kind}) as Tensor2D,
    dispose: () => {
      w.dispose();
      bias?.dispose();
    },
  };
}

/** A projection whose W is a dense float32 tensor, run by tf.fused.matMul. Takes ownership of `w` and `bias`. */
export function denseProjection(w: Tensor2D, bias?: Tensor1D): Projection {
  if (!(w instanceof Tensor) || w.rank !== 2 || w.dtype !== 'float32') {
    throw new Error(`denseProjection: w must be a 2-D float32 tensor, got ${w instanceof Tensor ? `${w.dtype} [${w.shape.join(', ')}]` : typeof w}`);
  }
  const shape: [number, number] = [w.shape[0], w.shape[1]];
  checkBias(bias, shape[1], 'denseProjection');
  return {
    shape,
    byteSize: 4 * (w.size + (bias ? bias.size : 0)),
    apply: (x, residual) => {
      if (residual == null) return fused.matMul({a: x, b: w, bias}) as Tensor2D;
      if (bias == null) return fused.matMul({a: x, b: w, bias: residual}) as Tensor2D;
      const y = fused.matMul({a: x, b: w, bias});
      const out = add(y, residual) as Tensor2D;
      y.dispose();
      return out;
    },
    applyActivated: (x, kind) => {
      const z = fused.matMul({a: x, b: w, bias}) as Tensor2D;
      const out = mlpActivation(z, kind);
      z.dispose();
      return out;
    },
    dispose: () => {
      w.dispose();
      bias?.dispose();
    },
  };
}

function checkBias(bias: Tensor1D | undefined, N: number, where: string): void {
  if (bias === undefined) return;
  if (!(bias instanceof Tensor) || bias.rank !== 1 || bias.shape[0] !== N || bias.dtype !== 'float32') {
    throw new Error(`${where}: bias must be a float32 tensor of shape [${N}], got ${bias instanceof Tensor ? `${bias.dtype} [${bias.shape.join(', ')}]` : typeof bias}`);
  }
}
