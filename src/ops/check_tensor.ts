/** Argument checks shared by the decoder ops: a live float32 tensor of the expected rank. */
import {Tensor} from '@tensorflow/tfjs-core';

export function checkFloatTensor(op: string, name: string, t: unknown, rank: number, layout: string): asserts t is Tensor {
  if (!(t instanceof Tensor) || t.rank !== rank) {
    const got = t instanceof Tensor ? `shape [${t.shape.join(', ')}]` : typeof t;
    throw new Error(`${op}: ${name} must be a ${rank}-D tensor ${layout}, got ${got}`);
  }
  if (t.isDisposed) throw new Error(`${op}: ${name} is disposed`);
  if (t.dtype !== 'float32') throw new Error(`${op}: ${name} must be float32, got ${t.dtype}`);
}
