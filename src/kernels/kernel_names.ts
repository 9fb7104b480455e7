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

export const SparseGather = 'SparseGather';

/** Inputs: indices is 1-D int32; header, offsets and values are the encoded weight (docs/format.md). */
export interface SparseGatherInputs extends NamedTensorInfoMap {
  indices: TensorInfo;
  header: TensorInfo;
  offsets: TensorInfo;
  values: TensorInfo;
}

/** out[i, n] = W[indices[i], n] for a W of shape [K, N]: rows of the weight, decoded to float32. */
export interface SparseGatherAttrs {
  K: number;
  N: number;
  valueType: ValueType;
}

export const KVCacheWrite = 'KVCacheWrite';

/** Inputs: cache is [B, H, L, D] float32 and is written in place; x is [B·S, C] float32. */
export interface KVCacheWriteInputs extends NamedTensorInfoMap {
  cache: TensorInfo;
  x: TensorInfo;
}

/**
 * cache[b, h, position + s, d] = x[b·S + s, column + h·D + d] for every b < B, s < S, h < H, d < D, where
 * S = rows of x / B. The result shares the cache's buffer.
 */
export interface KVCacheWriteAttrs {
  position: number;
  column: number;
}
