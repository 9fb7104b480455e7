/**
 * Internal: the SparseMatMul kernel run on loose encoded tensors (header, offsets, values) instead of a
 * SparseMatrix, for SparseDense, whose arrays are layer variables. Also a variant whose gradient reaches
 * the stored values (float32 values only), so that model.fit can fine-tune a sparse layer while its
 * bitmap stays fixed.
 */
import {customGrad, engine, gather, GradSaveFunc, matMul, mul, NamedTensorMap, reshape, sum, Tensor, Tensor2D} from '@tensorflow/tfjs-core';
import {Activation, SparseMatMul, SparseMatMulAttrs} from '../kernels/kernel_names.js';
import {activationGrad} from './activation_grad.js';
import {EncodedSparseMatrix, forEachPosition, ValueType} from './format.js';
// Registers the SparseMatMul gradient (x and bias) used by sparseMatMulParts.
import './sparse_mat_mul.js';

/** An encoded weight held as loose tensors. `values` is int32, or float32 when valueType is 'float32'. */
export interface SparseParts {
  header: Tensor;
  offsets: Tensor;
  values: Tensor;
  shape: [number, number];
  valueType: ValueType;
}

function attrsOf(p: SparseParts, activation: Activation, transposeW: boolean): SparseMatMulAttrs {
  return {
    K: p.shape[0], N: p.shape[1], valueType: p.valueType, transposeX: false, transposeW, activation,
    leakyreluAlpha: 0.2,
  };
}

/**
 * act(x·W + bias) for a 2-D x [M, K]. Differentiable with respect to x and bias (the registered
 * SparseMatMul gradient). The caller checks shapes.
 */
export function sparseMatMulParts(x: Tensor2D, p: SparseParts, bias: Tensor | null, activation: Activation): Tensor2D {
  const inputs: NamedTensorMap = {x, header: p.header, offsets: p.offsets, values: p.values};
  if (bias != null) inputs.bias = bias;
  return engine().runKernel(SparseMatMul, inputs, attrsOf(p, activation, false) as never) as Tensor2D;
}

/**
 * Where each stored element's gradient comes from: `positions[e]` is `k·N + n` for the value stored at
 * element e, and `mask[e]` is 1 for a stored value and 0 for a tile's padding (whose position is 0).
 */
export interface ValuePositions {
  positions: Int32Array;
  mask: Float32Array;
}

/** Positions of every value element of an encoded matrix, in storage order (docs/format.md). */
export function valuePositions(shape: [number, number], header: Int32Array, offsets: Int32Array): ValuePositions {
  const N = shape[1];
  const total = offsets[offsets.length - 1];
  const positions = new Int32Array(total);
  const mask = new Float32Array(total);
  forEachPosition(shape, header, offsets, (k, n, e) => {
    positions[e] = k * N + n;
    mask[e] = 1;
  });
  return {positions, mask};
}

/** Positions of an EncodedSparseMatrix's values (see {@link valuePositions}). */
export function encodedValuePositions(e: EncodedSparseMatrix): ValuePositions {
  return valuePositions(e.shape, e.header, e.offsets);
}

/**
 * act(x·W + bias) for a 2-D x, differentiable with respect to x, the float32 `values` and bias.
 *
 * The values gradient is dW = xᵀ·dz (dense [K, N]) gathered at each stored element's position and
 * masked to 0 on padding, so an optimizer never moves a padding slot and never fills a zero: the bitmap
 * is not an input of the gradient at all. `positions` (int32) and `mask` (float32) come from
 * {@link valuePositions}, as tensors with one entry per value element.
 */
export function sparseMatMulTrainable(
    x: Tensor2D, p: SparseParts, positions: Tensor, mask: Tensor, bias: Tensor | null,
    activation: Activation): Tensor2D {
  if (p.valueType !== 'float32' || p.values.dtype !== 'float32') {
    throw new Error('sparseMatMulTrainable: values must be a float32 tensor with valueType float32');
  }
  const {header, offsets} = p;
  const hasBias = bias != null;
  const f = customGrad((...args: Array<Tensor | GradSaveFunc>) => {
    const xv = args[0] as Tensor2D;
    const values = args[1] as Tensor;
    const b = hasBias ? args[2] as Tensor : null;
    const save = args[args.length - 1] as GradSaveFunc;
    const parts: SparseParts = {...p, values};
    const y = sparseMatMulParts(xv, parts, b, activation);
    save([xv, values, y]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sv, sy] = saved;
        const dz = activationGrad(dy, sy, activation, 0.2);
        const dx = engine().runKernel(
            SparseMatMul, {x: dz, header, offsets, values: sv},
            attrsOf(parts, 'linear', true) as never) as Tensor;
        const dW = matMul(sx as Tensor2D, dz as Tensor2D, true, false);
        const dValues = mul(gather(reshape(dW, [-1]), positions), mask);
        return hasBias ? [dx, dValues, sum(dz, 0)] : [dx, dValues];
      },
    };
  });
  return (hasBias ? f(x, p.values, bias) : f(x, p.values)) as Tensor2D;
}
