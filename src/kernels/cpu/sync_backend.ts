/**
 * What the cpu reference kernels use of a backend that keeps tensors in host memory (cpu, and wasm, for
 * which the package registers the same kernels).
 */
import type {DataType, TensorInfo, TypedArray} from '@tensorflow/tfjs-core';

export interface SyncBackend {
  readSync(dataId: object): unknown;
  write(values: TypedArray, shape: number[], dtype: DataType): object;
  incRef(dataId: object): void;
}

/** t's values: on the cpu backend the array it stores for t, not a copy. */
export function read(backend: SyncBackend, t: TensorInfo): TypedArray {
  return backend.readSync(t.dataId) as TypedArray;
}

/** A new float32 (or int32) tensor of `shape` holding `values`. */
export function output(backend: SyncBackend, values: Float32Array | Int32Array, shape: number[]): TensorInfo {
  const dtype = values instanceof Int32Array ? 'int32' : 'float32';
  return {dataId: backend.write(values, shape, dtype), shape, dtype};
}
