/** The MNIST MLP, its training and its accuracy; shared by scripts/mnist/eval.ts and test/layers/mnist.spec.ts. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {MnistSet} from './data';

/** A 784-h1-…-10 MLP with relu hidden layers and a softmax head, seeded initializers. */
export function makeMlp(hidden: number[], seed = 1): tfl.Sequential {
  const model = tfl.sequential({name: 'mnist_mlp'});
  hidden.forEach((units, i) => model.add(tfl.layers.dense({
    units, activation: 'relu', name: `hidden${i + 1}`, kernelInitializer: tfl.initializers.glorotUniform({seed: seed + i}),
    ...(i === 0 ? {inputShape: [784]} : {}),
  })));
  model.add(tfl.layers.dense({
    units: 10, activation: 'softmax', name: 'head', kernelInitializer: tfl.initializers.glorotUniform({seed: seed + 99}),
  }));
  return model;
}

/** Images [n, 784] and one-hot labels [n, 10] of the first `n` examples of a set. */
export function tensors(set: MnistSet, n = set.count): {x: tf.Tensor2D, y: tf.Tensor2D} {
  return tf.tidy(() => ({
    x: tf.tensor2d(set.images.subarray(0, n * 784), [n, 784]),
    y: tf.oneHot(tf.tensor1d(set.labels.subarray(0, n), 'int32'), 10) as tf.Tensor2D,
  }));
}

/** Trains with a fresh Adam and categorical cross-entropy, then frees the optimizer's state. */
export async function train(
    model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, opts: {epochs: number, learningRate: number, batchSize?: number, shuffle?: boolean}): Promise<void> {
  const optimizer = tf.train.adam(opts.learningRate);
  model.compile({optimizer, loss: 'categoricalCrossentropy'});
  await model.fit(x, y, {epochs: opts.epochs, batchSize: opts.batchSize ?? 128, shuffle: opts.shuffle ?? true, verbose: 0});
  // The model does not own an optimizer passed as an object: free its moment estimates here.
  optimizer.dispose();
}

/** Fraction of `set`'s first `n` examples whose argmax prediction is the label. */
export async function accuracy(model: tfl.LayersModel, set: MnistSet, n = set.count, batch = 1000): Promise<number> {
  let correct = 0;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const predicted = tf.tidy(() => {
      const x = tf.tensor2d(set.images.subarray(start * 784, (start + size) * 784), [size, 784]);
      return tf.argMax(model.predict(x) as tf.Tensor, 1);
    });
    const labels = await predicted.data();
    predicted.dispose();
    for (let i = 0; i < size; i++) if (labels[i] === set.labels[start + i]) correct++;
  }
  return correct / n;
}
