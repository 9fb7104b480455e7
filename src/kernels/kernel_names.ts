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
  /** [M, N], added to the output (after a 'linear' activation only); not with transposeW. */
  residual?: TensorInfo;
}

/**
 * Without transposeW: out[M, N] = act(x·W + bias) + residual, x is [M, K] ([K, M] with transposeX).
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
  /**
   * A transformer MLP's activation after the bias, in the same kernels (activation 'linear', no residual,
   * no transposeW): 'gelu' elementwise, or 'swiglu' on W's columns as gate | up, giving [M, N/2].
   * Absent: none.
   */
  mlpActivation?: MLPActivationKind;
}

export const SparseGather = 'SparseGather';

/**
 * Inputs: indices is 1-D int32; header, offsets and values are the encoded weight (docs/format.md);
 * positionTable, optional, is [P, N] float32.
 */
export interface SparseGatherInputs extends NamedTensorInfoMap {
  indices: TensorInfo;
  header: TensorInfo;
  offsets: TensorInfo;
  values: TensorInfo;
  positionTable?: TensorInfo;
}

/**
 * out[i, n] = W[indices[i], n] for a W of shape [K, N]: rows of the weight, decoded to float32; with a
 * positionTable, plus positionTable[positionStart + i mod positionPeriod, n].
 */
export interface SparseGatherAttrs {
  K: number;
  N: number;
  valueType: ValueType;
  positionStart?: number;
  positionPeriod?: number;
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

export const RowNorm = 'RowNorm';

/** 'rms': x / √(mean(x²) + ε). 'layer': (x − mean) / √(var + ε), the variance of the centred row. */
export type RowNormKind = 'rms' | 'layer';

/** Inputs: x is [rows, C] float32. */
export interface RowNormInputs extends NamedTensorInfoMap {
  x: TensorInfo;
}

/** Each row of x normalised on its own, without scale or shift. */
export interface RowNormAttrs {
  kind: RowNormKind;
  epsilon: number;
}

export const MLPActivation = 'MLPActivation';

/**
 * 'swiglu': z is [rows, 2F] (gate | up), out[r, i] = silu(z[r, i])·z[r, F + i], [rows, F].
 * 'gelu': out = z·½(1 + erf(z/√2)), elementwise, the shape of z.
 */
export type MLPActivationKind = 'swiglu' | 'gelu';

/** Inputs: z is [rows, N] float32. */
export interface MLPActivationInputs extends NamedTensorInfoMap {
  z: TensorInfo;
}

export interface MLPActivationAttrs {
  kind: MLPActivationKind;
}

export const DecodeAttention = 'DecodeAttention';

/**
 * Inputs: q is [B, C] float32 (heads at columns [column, column + H·D)); keys and values [B, Hc, L, D]
 * (the same tensor for a joint cache).
 */
export interface DecodeAttentionInputs extends NamedTensorInfoMap {
  q: TensorInfo;
  keys: TensorInfo;
  values: TensorInfo;
}

/**
 * One query per sequence over the first `length` cached positions: for each (b, h < heads),
 * p = softmax_t(scale · q[b, column + h·D + ·] · keys[b, h, t, ·]) over t < length, and
 * out[b, h·D + d] = Σ_t p_t · values[b, valueHead + h, t, d]. out is [B, heads·D].
 */
export interface DecodeAttentionAttrs {
  length: number;
  column: number;
  scale: number;
  heads: number;
  /** 0 for separate caches; H for a joint [B, 2H, L, D] cache. */
  valueHead: number;
}

export const RowArgMax = 'RowArgMax';

/** Inputs: x is [rows, C] float32. */
export interface RowArgMaxInputs extends NamedTensorInfoMap {
  x: TensorInfo;
}

/**
 * out[r] = the smallest c with x[r, c] = max over the row's entries that are not NaN; 0 for a row of NaN.
 * out is [rows] int32.
 */
export type RowArgMaxAttrs = Record<string, never>;
