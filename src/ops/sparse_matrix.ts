/** SparseMatrix: an encoded weight that lives on the active TF.js backend as int32 tensors. */
import {dispose, engine, keep, KernelBackend, Tensor, Tensor1D, Tensor2D, tensor1d, tensor2d} from '@tensorflow/tfjs-core';
import {backendLimits, BackendLimits} from '../kernels/backend_limits.js';
import {MIN_VALUE_WORDS, planColumnParts, sliceColumns} from './column_parts.js';
import {decodeDense} from './decode.js';
import {checkShape, checkValueType, describe, encodeCOO, encodeDense} from './encode.js';
import {EncodedSparseMatrix, HEADER_WORDS, popcount32, TILE_N, ValueType} from './format.js';
import {validateEncoded} from './validate.js';

/** Options for building a SparseMatrix. */
export interface SparseMatrixOptions {
  /** How the nonzero values are stored: 'float16' (the default, 2 bytes each) or 'float32'. */
  valueType?: ValueType;
}

/** The GPU-resident arrays of a SparseMatrix, as passed to the SparseMatMul kernel. */
export interface SparseMatrixTensors {
  header: Tensor1D;
  offsets: Tensor1D;
  values: Tensor1D;
}

/** Internal: the tensors of the columns [n0, n0 + N) of a matrix, a valid encoding of [K, N] on its own. */
export interface ColumnPart extends SparseMatrixTensors {
  n0: number;
  N: number;
}

/** The tensors of a matrix on one backend, under that backend's limits. */
interface Placement {
  backend: KernelBackend;
  limits: BackendLimits;
  parts: ColumnPart[];
}

/**
 * A weight W of shape [K, N] (as `y = x·W`, the layout of TF.js Dense kernels), stored in the
 * tiled-bitmap format of docs/format.md: only the nonzeros, as f16 (default) or f32.
 *
 * It owns three int32 tensors on the active backend, and keeps a host copy of the same arrays for
 * `toEncoded()` and `toDense()`. When the active backend changes, the next use makes its tensors there
 * from the host copy (and frees the old ones), so results do not depend on where it was built. Where
 * the arrays exceed what one binding of the backend may hold (WebGPU's maxStorageBufferBindingSize), the
 * tensors are split by column strips and sparseMatMul runs once per range. The tensors are kept out of
 * `tf.tidy`; call `dispose()` to free them.
 */
export class SparseMatrix {
  /** [K, N]: K inputs (rows), N outputs (columns). */
  readonly shape: [number, number];
  /** How values are stored. */
  readonly valueType: ValueType;
  /** Number of stored (nonzero) entries. */
  readonly nnz: number;
  private readonly encoded: EncodedSparseMatrix;
  private placed: Placement | null = null;
  private disposed = false;

  private constructor(encoded: EncodedSparseMatrix, nnz: number) {
    this.encoded = encoded;
    this.shape = [encoded.shape[0], encoded.shape[1]];
    this.valueType = encoded.valueType;
    this.nnz = nnz;
    this.place();
  }

  /** Encodes a dense row-major [K, N] array. Entries equal to 0 are not stored. Synchronous. */
  static fromDense(values: Float32Array, shape: [number, number], opts: SparseMatrixOptions = {}): SparseMatrix {
    const encoded = encodeDense(values, checkShape(shape), checkValueType(opts.valueType ?? 'float16'));
    return new SparseMatrix(encoded, countStored(encoded));
  }

  /** Encodes a 2-D float32 tensor [K, N], reading it with `await data()`. */
  static async fromTensor(t: Tensor, opts: SparseMatrixOptions = {}): Promise<SparseMatrix> {
    if (!(t instanceof Tensor)) throw new Error(`SparseMatrix.fromTensor: expected a Tensor, got ${describe(t)}`);
    if (t.rank !== 2) throw new Error(`SparseMatrix.fromTensor: the weight must be 2-D [K, N], got shape [${t.shape.join(', ')}]`);
    if (t.dtype !== 'float32') throw new Error(`SparseMatrix.fromTensor: the weight must be float32, got ${t.dtype}`);
    const data = await t.data() as Float32Array;
    const [K, N] = t.shape as [number, number];
    return SparseMatrix.fromDense(data, [K, N], opts);
  }

  /**
   * Encodes COO entries in the layout of TF's SparseTensor: `indices` is [nnz, 2] of (row, column), as a
   * flat array, an array of pairs, or a tensor. Duplicate or out-of-range indices are errors.
   */
  static fromCOO(
      indices: ArrayLike<number> | ArrayLike<ArrayLike<number>> | Tensor, values: ArrayLike<number> | Tensor,
      shape: [number, number], opts: SparseMatrixOptions = {}): SparseMatrix {
    const flatIndices = indices instanceof Tensor ? indices.dataSync() : flattenPairs(indices);
    const flatValues = values instanceof Tensor ? values.dataSync() : values;
    const encoded = encodeCOO(flatIndices, flatValues, checkShape(shape), checkValueType(opts.valueType ?? 'float16'));
    return new SparseMatrix(encoded, countStored(encoded));
  }

  /** Builds a matrix from `toEncoded()`'s output after checking every array; throws on any inconsistency. */
  static fromEncoded(e: EncodedSparseMatrix): SparseMatrix {
    const nnz = validateEncoded(e);
    return new SparseMatrix({
      format: e.format, version: e.version, shape: [e.shape[0], e.shape[1]], valueType: e.valueType,
      header: e.header.slice(), offsets: e.offsets.slice(), values: e.values.slice(),
    }, nnz);
  }

  /** The encoded arrays (copies) and what is needed to read them. */
  toEncoded(): EncodedSparseMatrix {
    this.assertLive('toEncoded');
    const e = this.encoded;
    return {
      format: e.format, version: e.version, shape: [e.shape[0], e.shape[1]], valueType: e.valueType,
      header: e.header.slice(), offsets: e.offsets.slice(), values: e.values.slice(),
    };
  }

  /** The weight as a dense float32 [K, N] tensor (values rounded to f16 if stored so). */
  toDense(): Tensor2D {
    this.assertLive('toDense');
    return tensor2d(decodeDense(this.encoded), this.shape, 'float32');
  }

  /** Every byte the matrix stores on the backend: header, offsets and values. */
  get byteSize(): number {
    const e = this.encoded;
    return 4 * (e.header.length + e.offsets.length + Math.max(e.values.length, MIN_VALUE_WORDS));
  }

  /** Fraction of entries that are zero. */
  get sparsity(): number {
    return 1 - this.nnz / (this.shape[0] * this.shape[1]);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * The int32 tensors the kernels read, on the active backend. Throws if disposed, or if the matrix is
   * split by columns there (see the class comment; sparseMatMul handles that).
   */
  tensors(): SparseMatrixTensors {
    const parts = this.columnParts();
    if (parts.length > 1) {
      throw new Error(
          `SparseMatrix: [${this.shape.join(', ')}] is split into ${parts.length} column ranges on this backend ` +
          `(its arrays exceed one binding), so it has no single set of tensors; sparseMatMul takes it as it is`);
    }
    const {header, offsets, values} = parts[0];
    return {header, offsets, values};
  }

  /** Internal: the column ranges and their tensors on the active backend (one range when it fits). */
  columnParts(): ColumnPart[] {
    this.assertLive('use');
    return this.place();
  }

  /** Frees the tensors. Using the matrix afterwards is an error. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }

  /** Makes the tensors on the active backend, under its limits, unless they are there already. */
  private place(): ColumnPart[] {
    const backend = engine().backend;
    const limits = backendLimits(backend);
    const p = this.placed;
    // Tensors disposed from outside (tf.dispose on tensors()) are made again from the host copy too.
    if (p != null && p.backend === backend && p.limits.maxBindingBytes === limits.maxBindingBytes &&
        p.limits.maxColumnStrips === limits.maxColumnStrips &&
        p.parts.every((part) => !part.header.isDisposed && !part.offsets.isDisposed && !part.values.isDisposed)) {
      return p.parts;
    }
    const ranges = planColumnParts(this.encoded, limits);
    this.release();
    const parts = ranges.map((range): ColumnPart => {
      const e = sliceColumns(this.encoded, range);
      // A zero-length buffer cannot be bound on WebGPU, so an empty part keeps one 16-byte word group.
      const values = e.values.length > 0 ? e.values : new Int32Array(MIN_VALUE_WORDS);
      return {
        n0: range.nt0 * TILE_N, N: e.shape[1],
        header: keep(tensor1d(e.header, 'int32')), offsets: keep(tensor1d(e.offsets, 'int32')),
        values: keep(tensor1d(values, 'int32')),
      };
    });
    this.placed = {backend, limits, parts};
    return parts;
  }

  private release(): void {
    for (const part of this.placed?.parts ?? []) dispose([part.header, part.offsets, part.values]);
    this.placed = null;
  }

  private assertLive(what: string): void {
    if (this.disposed) throw new Error(`SparseMatrix: cannot ${what} a disposed matrix`);
  }
}

function countStored(e: EncodedSparseMatrix): number {
  let nnz = 0;
  for (let i = 0; i < e.header.length; i++) {
    if (i % HEADER_WORDS < TILE_N) nnz += popcount32(e.header[i]);
  }
  return nnz;
}

function flattenPairs(indices: ArrayLike<number> | ArrayLike<ArrayLike<number>>): ArrayLike<number> {
  if (indices.length === 0 || typeof indices[0] === 'number') return indices as ArrayLike<number>;
  const pairs = indices as ArrayLike<ArrayLike<number>>;
  const flat = new Array<number>(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    if (p == null || p.length !== 2) throw new Error(`SparseMatrix.fromCOO: index ${i} must be a (row, column) pair`);
    flat[2 * i] = p[0]!;
    flat[2 * i + 1] = p[1]!;
  }
  return flat;
}
