/** Runs specs under a TF.js flag's other value: an artificial binding limit, a split-K target. */
import * as tf from '@tensorflow/tfjs-core';
import {MAX_BINDING_BYTES_FLAG} from '../../src/kernels/backend_limits';

/** Runs `f` with the number flag `name` set to `value`, restored after. */
export async function withFlag<T>(name: string, value: number, f: () => Promise<T>): Promise<T> {
  const before = tf.env().getNumber(name);
  tf.env().set(name, value);
  try {
    return await f();
  } finally {
    tf.env().set(name, before);
  }
}

/** Runs `f` with the binding limit set to `bytes` (TFJS_SPARSE_MAX_BINDING_BYTES): small weights split into column strips as huge ones do. */
export function withBindingLimit<T>(bytes: number, f: () => Promise<T>): Promise<T> {
  return withFlag(MAX_BINDING_BYTES_FLAG, bytes, f);
}
