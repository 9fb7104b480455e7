/** An artificial binding limit, so that small weights split into column strips as huge ones do. */
import * as tf from '@tensorflow/tfjs-core';
import {MAX_BINDING_BYTES_FLAG} from '../../src/kernels/backend_limits';

/** Runs `f` with the binding limit set to `bytes` (TFJS_SPARSE_MAX_BINDING_BYTES), restored after. */
export async function withBindingLimit<T>(bytes: number, f: () => Promise<T>): Promise<T> {
  const before = tf.env().getNumber(MAX_BINDING_BYTES_FLAG);
  tf.env().set(MAX_BINDING_BYTES_FLAG, bytes);
  try {
    return await f();
  } finally {
    tf.env().set(MAX_BINDING_BYTES_FLAG, before);
  }
}
