/** The per-spec leak check: call inside a describe block. */
import * as tf from '@tensorflow/tfjs-core';

/** Every spec of the enclosing block must leave `tf.memory().numTensors` as it found it. */
export function expectNoLeakedTensors(context = 'tensors leaked by the spec'): void {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).withContext(context).toBe(before);
  });
}
