/** The sparseGather op: rows of a SparseMatrix, decoded, as an embedding lookup reads them. */
import {engine, reshape, Tensor, tensor, TensorLike, tidy} from '@tensorflow/tfjs-core';
import {SparseGather, SparseGatherAttrs} from '../kernels/kernel_names.js';
import {SparseMatrix} from './sparse_matrix.js';

/**
 * Returns rows `indices` of a sparse W of shape [K, N] as a float32 tensor of shape
 * [...indices.shape, N]: `out[..., n] = W[indices[...], n]`. With W an embedding table [vocabulary, dim],
 * this is the embedding lookup; only the tiles of the rows asked for are read.
 *
 * indices must be int32. An index outside [0, K) is an error on `cpu`; on `webgpu`, which cannot check
 * without reading the indices back, its row is all zeros.
 */
export function sparseGather(w: SparseMatrix, indices: Tensor | TensorLike): Tensor {
  if (!(w instanceof SparseMatrix)) throw new Error('sparseGather: w must be a SparseMatrix');
  const {header, offsets, values} = w.tensors();
  const [K, N] = w.shape;
  const attrs: SparseGatherAttrs = {K, N, valueType: w.valueType};
  const direct = indices instanceof Tensor && indices.rank === 1;
  return direct ? run() : tidy(run);

  function run(): Tensor {
    const $indices = toIndexTensor(indices);
    const flat = $indices.rank === 1 ? $indices : reshape($indices, [-1]);
    const out = engine().runKernel(SparseGather, {indices: flat, header, offsets, values}, attrs as never) as Tensor;
    return $indices.rank === 1 ? out : reshape(out, [...$indices.shape, N]);
  }
}

function toIndexTensor(v: Tensor | TensorLike): Tensor {
  if (v instanceof Tensor) {
    if (v.isDisposed) throw new Error('sparseGather: indices are disposed');
    if (v.dtype !== 'int32') throw new Error(`sparseGather: indices must be int32, got ${v.dtype}`);
    return v;
  }
  checkIntegers(v, []);
  try {
    return tensor(v, undefined, 'int32');
  } catch (e) {
    throw new Error(`sparseGather: indices are not a tensor or array of integers (${(e as Error).message})`);
  }
}

/** tensor(v, _, 'int32') truncates 1.5 to 1 silently; an index must be an integer. */
function checkIntegers(v: unknown, at: number[]): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`sparseGather: indices must be integers, got ${v} at [${at.join(', ')}]`);
  } else if (v != null && typeof v === 'object' && 'length' in v) {
    const a = v as ArrayLike<unknown>;
    for (let i = 0; i < a.length; i++) checkIntegers(a[i], [...at, i]);
  }
}
