/** The sparseMatMul op: x·W with a SparseMatrix W, fused bias and activation, and its gradient. */
import {concat, engine, GradConfig, NamedTensorMap, registerGradient, reshape, slice, sum, Tensor, Tensor2D, tensor, TensorLike, tidy, transpose} from '@tensorflow/tfjs-core';
import {Activation, ACTIVATIONS, MLPActivationKind, SparseMatMul, SparseMatMulAttrs} from '../kernels/kernel_names.js';
import {mlpActivation} from './mlp_activation.js';
import type {ValueType} from './format.js';
import {ColumnPart, SparseMatrix} from './sparse_matrix.js';
import {activationGrad, NO_PRELU_GRADIENT} from './activation_grad.js';

/** Options of {@link sparseMatMul}. */
export interface SparseMatMulOptions {
  /** Added to every output row: shape [N]. */
  bias?: Tensor | TensorLike;
  /** Applied after the bias, in the same kernel. Defaults to 'linear'. */
  activation?: Activation;
  /** Weights of 'prelu': size 1 or N. */
  preluActivationWeights?: Tensor | TensorLike;
  /** Slope of 'leakyrelu' for negative inputs. Defaults to 0.2, as in TF.js. */
  leakyreluAlpha?: number;
  /** Treat x's last two dimensions as [K, M] instead of [M, K]. */
  transposeX?: boolean;
  /**
   * Added to the result, in the same kernel: a transformer's skip connection. The result's shape;
   * only with activation 'linear'.
   */
  residual?: Tensor | TensorLike;
  /**
   * A transformer MLP's activation after the bias, in the same kernels, as {@link mlpActivation} computes
   * it: 'gelu' elementwise, or 'swiglu' on W's columns as gate | up (N even), giving N/2 columns. Only
   * with activation 'linear' and no residual; no gradient.
   */
  mlpActivation?: MLPActivationKind;
}

/**
 * Computes `activation(x·W + bias) + residual` (or `mlpActivation(x·W + bias)`) for a sparse W of shape
 * [K, N].
 *
 * x is [..., K] (any rank ≥ 1; with `transposeX`, rank ≥ 2 and [..., K, M]); the result is [..., N]
 * (or [..., M, N]; N/2 columns with mlpActivation 'swiglu'). It runs the registered `SparseMatMul` kernel of the active backend, and has a
 * gradient with respect to x, bias and residual.
 */
export function sparseMatMul(x: Tensor | TensorLike, w: SparseMatrix, opts: SparseMatMulOptions = {}): Tensor {
  if (!(w instanceof SparseMatrix)) throw new Error('sparseMatMul: w must be a SparseMatrix');
  return multiplyParts(x, w.columnParts(), w.shape, w.valueType, opts);
}

/** An encoded weight [K, N] held as loose int32 tensors (docs/format.md), checked by the caller. */
export interface EncodedTensors {
  header: Tensor;
  offsets: Tensor;
  values: Tensor;
  shape: [number, number];
  valueType: ValueType;
}

/**
 * Internal: {@link sparseMatMul} on an encoded weight given as tensors (the weights of a converted
 * GraphModel node), with the same options, checks and gradient, as one column range.
 */
export function sparseMatMulEncoded(x: Tensor | TensorLike, w: EncodedTensors, opts: SparseMatMulOptions = {}): Tensor {
  const {header, offsets, values, shape, valueType} = w;
  return multiplyParts(x, [{header, offsets, values, n0: 0, N: shape[1]} as ColumnPart], shape, valueType, opts);
}

/** The op on a weight held as column ranges (SparseMatrix.columnParts), each within one binding. */
function multiplyParts(x: Tensor | TensorLike, parts: ColumnPart[], shape: [number, number], valueType: ValueType,
    opts: SparseMatMulOptions): Tensor {
  const [K, N] = shape;
  const activation = opts.activation ?? 'linear';
  if (!ACTIVATIONS.includes(activation)) {
    throw new Error(`sparseMatMul: unknown activation '${String(activation)}', expected one of ${ACTIVATIONS.join(', ')}`);
  }
  const mlp = opts.mlpActivation;
  if (mlp != null) {
    if (mlp !== 'swiglu' && mlp !== 'gelu') throw new Error(`sparseMatMul: mlpActivation must be 'swiglu' or 'gelu', got ${String(mlp)}`);
    if (activation !== 'linear' || opts.residual != null) {
      throw new Error(`sparseMatMul: mlpActivation needs activation 'linear' and no residual, got '${activation}'${opts.residual != null ? ' and a residual' : ''}`);
    }
    if (mlp === 'swiglu' && N % 2 !== 0) throw new Error(`sparseMatMul: mlpActivation 'swiglu' needs gate | up, an even number of columns, got ${N}`);
  }
  const outN = mlp === 'swiglu' ? N / 2 : N;
  const transposeX = opts.transposeX ?? false;
  const attrs: SparseMatMulAttrs = {
    K, N, valueType, transposeX: false, transposeW: false, activation,
    leakyreluAlpha: opts.leakyreluAlpha ?? 0.2,
  };
  if (mlp != null) attrs.mlpActivation = mlp;
  // The common case (2-D tensor inputs) makes no intermediate tensors: decode-time calls are µs-scale.
  const direct = x instanceof Tensor && x.rank === 2 && (opts.bias == null || opts.bias instanceof Tensor) &&
      (opts.residual == null || opts.residual instanceof Tensor) &&
      (activation !== 'prelu' || opts.preluActivationWeights instanceof Tensor) && parts.length === 1;
  // Otherwise inside tidy, so tensors made from TensorLikes are freed even when a check throws.
  return direct ? run() : tidy(run);

  function run(): Tensor {
    const $x = toFloatTensor(x, 'x');
    const rank = $x.rank;
    if (rank < 1 || (transposeX && rank < 2)) {
      throw new Error(`sparseMatMul: x must have rank ≥ ${transposeX ? '2 with transposeX' : '1'}, got shape [${$x.shape.join(', ')}]`);
    }
    const innerAxis = transposeX ? rank - 2 : rank - 1;
    if ($x.shape[innerAxis] !== K) {
      throw new Error(`sparseMatMul: x has ${$x.shape[innerAxis]} inputs on axis ${innerAxis} (shape [${$x.shape.join(', ')}]), but the weight is [${K}, ${N}]`);
    }
    let bias: Tensor | undefined, alpha: Tensor | undefined;
    if (opts.bias != null) {
      bias = toFloatTensor(opts.bias, 'bias');
      if (bias.rank !== 1 || bias.shape[0] !== N) throw new Error(`sparseMatMul: bias must have shape [${N}], got [${bias.shape.join(', ')}]`);
    }
    let residual: Tensor | undefined;
    if (opts.residual != null) {
      residual = toFloatTensor(opts.residual, 'residual');
      if (activation !== 'linear') throw new Error(`sparseMatMul: residual needs activation 'linear', got '${activation}'`);
      const outShape = transposeX ? [...$x.shape.slice(0, -2), $x.shape[rank - 1], N] : [...$x.shape.slice(0, -1), N];
      if (residual.shape.length !== outShape.length || residual.shape.some((d, i) => d !== outShape[i])) {
        throw new Error(`sparseMatMul: residual must have the result's shape [${outShape.join(', ')}], got [${residual.shape.join(', ')}]`);
      }
    }
    if (activation === 'prelu') {
      if (opts.preluActivationWeights == null) throw new Error('sparseMatMul: activation prelu needs preluActivationWeights');
      alpha = toFloatTensor(opts.preluActivationWeights, 'preluActivationWeights');
      if (alpha.size !== 1 && alpha.size !== N) {
        throw new Error(`sparseMatMul: preluActivationWeights must have size 1 or ${N}, got shape [${alpha.shape.join(', ')}]`);
      }
    }
    if (rank === 2) {
      attrs.transposeX = transposeX;
      return multiply($x, bias, alpha, residual);
    }
    const batch = $x.shape.slice(0, innerAxis);
    const perm = [...batch.map((_, i) => i), rank - 1, rank - 2];
    const y = multiply(reshape(transposeX ? transpose($x, perm) : $x, [-1, K]), bias, alpha, residual && reshape(residual, [-1, N]));
    return reshape(y, transposeX ? [...batch, $x.shape[rank - 1], outN] : [...batch, outN]);
  }

  /** The kernel on a 2-D x, once per column range of w (see SparseMatrix), the outputs side by side. */
  function multiply(x2: Tensor, bias: Tensor | undefined, alpha: Tensor | undefined, residual: Tensor | undefined): Tensor {
    const whole = parts.length === 1;
    // SwiGLU pairs columns of different ranges: after their product, as its own op.
    const partAttrs = !whole && mlp === 'swiglu' ? {...attrs, mlpActivation: undefined} : attrs;
    const ys = parts.map((p) => {
      const inputs: NamedTensorMap = {x: x2, header: p.header, offsets: p.offsets, values: p.values};
      if (bias) inputs.bias = whole ? bias : slice(bias, p.n0, p.N);
      if (residual) inputs.residual = whole ? residual : slice(residual, [0, p.n0], [-1, p.N]);
      if (alpha) inputs.preluActivationWeights = whole || alpha.size === 1 ? alpha : slice(reshape(alpha, [N]), p.n0, p.N);
      return engine().runKernel(SparseMatMul, inputs, (whole ? attrs : {...partAttrs, N: p.N}) as never) as Tensor;
    });
    if (whole) return ys[0];
    const y = concat(ys, 1);
    return partAttrs === attrs ? y : mlpActivation(y as Tensor2D, 'swiglu');
  }
}

function toFloatTensor(v: Tensor | TensorLike, name: string): Tensor {
  if (v instanceof Tensor) {
    if (v.isDisposed) throw new Error(`sparseMatMul: ${name} is disposed`);
    if (v.dtype !== 'float32') throw new Error(`sparseMatMul: ${name} must be float32, got ${v.dtype}`);
    return v;
  }
  try {
    return tensor(v, undefined, 'float32');
  } catch (e) {
    throw new Error(`sparseMatMul: ${name} is not a tensor or array of numbers (${(e as Error).message})`);
  }
}

const sparseMatMulGradConfig: GradConfig = {
  kernelName: SparseMatMul,
  inputsToSave: ['x', 'header', 'offsets', 'values'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [, header, offsets, values, y] = saved;
    const a = attrs as unknown as SparseMatMulAttrs;
    if (a.mlpActivation != null) throw new Error(`sparseMatMul: no gradient with mlpActivation '${a.mlpActivation}': it is an inference fusion`);
    const dz = () => activationGrad(dy as Tensor, y, a.activation, a.leakyreluAlpha);
    return {
      x: () => {
        const gradAttrs: SparseMatMulAttrs = {...a, transposeX: false, transposeW: true, activation: 'linear'};
        const dx = engine().runKernel(SparseMatMul, {x: dz(), header, offsets, values}, gradAttrs as never) as Tensor;
        return a.transposeX ? transpose(dx) : dx;
      },
      bias: () => sum(dz(), 0),
      // Only with a linear activation: the result's gradient itself.
      residual: () => dy as Tensor,
      preluActivationWeights: () => {
        throw new Error(NO_PRELU_GRADIENT);
      },
    };
  },
};
registerGradient(sparseMatMulGradConfig);
