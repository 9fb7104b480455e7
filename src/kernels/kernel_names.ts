/** Name, inputs and attributes of the kernels this plugin registers. */
import type {NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {ValueType} from '../ops/format.js';

export const SparseMatMul = 'SparseMatMul';

/** Fused activations, as in TF.js's fused matMul. */
export type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'prelu' | 'sigmoid';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'];

/** Inputs: x is 2-D; header, offsets and values are the encoded weight (docs/format.md). */
export interface SparseMatMulInputs extends NamedTensorInfoMap {
  x: TensorInfo;
  header: TensorInfo;
  offsets: TensorInfo;
  values: TensorInfo;
  /** [N], or [K] with transposeW. */
  bias?: TensorInfo;
  /** Size 1 or N. */
  preluActivationWeights?: TensorInfo;
}

/**
 * Without transposeW: out[M, N] = act(x·W + bias), x is [M, K] ([K, M] with transposeX).
 * With transposeW (the gradient): out[M, K] = x·Wᵀ, x is [M, N]; no bias, activation or transposeX.
 */
export interface SparseMatMulAttrs {
  K: number;
  N: number;
  valueType: ValueType;
  transposeX: boolean;
  transposeW: boolean;
  activation: Activation;
  leakyreluAlpha: number;
}
