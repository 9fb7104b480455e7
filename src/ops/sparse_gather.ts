/** The sparseGather op: rows of a SparseMatrix, decoded, as an embedding lookup reads them. */
import {engine, NamedTensorMap, reshape, Tensor, Tensor2D, tensor, TensorLike, tidy} from '@tensorflow/tfjs-core';
import {checkFloatTensor} from './check_tensor.js';
import {SparseGather, SparseGatherAttrs} from '../kernels/kernel_names.js';
import {SparseMatrix} from './sparse_matrix.js';

/** Options of {@link sparseGather}. */
export interface SparseGatherOptions {
  /**
   * Learned position embeddings added to the rows in the same kernel: index i (in the flattened
   * indices) gets row `start + i mod perSequence` of `table` [P, N]. `perSequence` (the tokens of each
   * sequence, sequence-major; defaults to all the indices) makes a batch of sequences that all start at
   * position `start`.
   */
  positions?: {table: Tensor2D, start: number, perSequence?: number};
}

/**
 * Returns rows `indices` of a sparse W of shape [K, N] as a float32 tensor of shape
 * [...indices.shape, N]: `out[..., n] = W[indices[...], n]`. With W an embedding table [vocabulary, dim],
 * this is the embedding lookup; only the tiles of the rows asked for are read.
 *
 * indices must be int32. An index outside [0, K) is an error on `cpu`; on `webgpu`, which cannot check
 * without reading the indices back, its row is all zeros.
 */
export function sparseGather(w: SparseMatrix, indices: Tensor | TensorLike, opts: SparseGatherOptions = {}): Tensor {
  if (!(w instanceof SparseMatrix)) throw new Error('sparseGather: w must be a SparseMatrix');
  const {header, offsets, values} = w.tensors();
  const [K, N] = w.shape;
  const attrs: SparseGatherAttrs = {K, N, valueType: w.valueType};
  const direct = indices instanceof Tensor && indices.rank === 1;
  return direct ? run() : tidy(run);

  function run(): Tensor {
    const $indices = toIndexTensor(indices);
    const flat = $indices.rank === 1 ? $indices : reshape($indices, [-1]);
    const inputs: NamedTensorMap = {indices: flat, header, offsets, values};
    if (opts.positions != null) {
      const {table, start, perSequence = flat.size} = opts.positions;
      checkFloatTensor('sparseGather', 'positions.table', table, 2, '[P, N]');
      if (table.shape[1] !== N) throw new Error(`sparseGather: positions.table has ${table.shape[1]} columns, the weight ${N}`);
      if (!Number.isInteger(perSequence) || perSequence < 1) {
        throw new Error(`sparseGather: positions.perSequence must be a positive integer, got ${String(perSequence)}`);
      }
      const rows = Math.min(perSequence, flat.size);
      if (!Number.isInteger(start) || start < 0 || start + rows > table.shape[0]) {
        throw new Error(`sparseGather: positions [${String(start)}, ${start + rows}) are not within the table's ${table.shape[0]} rows`);
      }
      inputs.positionTable = table;
      attrs.positionStart = start;
      attrs.positionPeriod = perSequence;
    }
    const out = engine().runKernel(SparseGather, inputs, attrs as never) as Tensor;
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
