/** Helpers for the layer specs: seeded weights, error measures, model builders. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {Rng} from '../helpers/random';

/** Sets every float32 weight of `model` from `r`: kernels normal with scale 1/√fan-in, 1-D weights positive. */
export function setRandomWeights(model: tfl.LayersModel, r: Rng): void {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const fresh = ws.map((w) => {
      if (w.dtype !== 'float32') return w;
      const fanIn = w.rank >= 2 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
      if (w.rank >= 2) return tf.tensor(r.normals(w.size, 1 / Math.sqrt(fanIn)), w.shape, 'float32');
      // Biases, and batch-norm scales and variances (which must be positive): 0.5 to about 0.8.
      return tf.tensor(r.normals(w.size, 0.1).map((v) => 0.5 + Math.abs(v)), w.shape, 'float32');
    });
    layer.setWeights(fresh);
    fresh.forEach((t, i) => { if (t !== ws[i]) t.dispose(); });
  }
}

/** ‖a − b‖ / ‖b‖. */
export async function relError(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let e = 0, n = 0;
  for (let i = 0; i < x.length; i++) {
    e += (x[i] - y[i]) ** 2;
    n += y[i] ** 2;
  }
  return Math.sqrt(e / Math.max(n, 1e-30));
}

/** max |a − b|. */
export async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** A Sequential MLP: in → hidden… → out (softmax). */
export function mlp(inputs: number, hidden: number[], outputs: number, activation: 'relu' | 'tanh' = 'relu'): tfl.Sequential {
  const model = tfl.sequential();
  hidden.forEach((units, i) => model.add(tfl.layers.dense({units, activation, ...(i === 0 ? {inputShape: [inputs]} : {})})));
  model.add(tfl.layers.dense({units: outputs, activation: 'softmax', ...(hidden.length === 0 ? {inputShape: [inputs]} : {})}));
  return model;
}

/** A functional model with a branch: x → dense a → (dense b1, relu | dense b2, tanh) → concatenate → dense out. */
export function branchModel(inputs: number): tfl.LayersModel {
  const x = tfl.input({shape: [inputs], name: 'x'});
  const a = tfl.layers.dense({units: 48, activation: 'relu', name: 'a'}).apply(x) as tfl.SymbolicTensor;
  const b1 = tfl.layers.dense({units: 40, activation: 'relu', name: 'b1'}).apply(a) as tfl.SymbolicTensor;
  const b2 = tfl.layers.dense({units: 24, activation: 'tanh', name: 'b2'}).apply(a) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({name: 'cat'}).apply([b1, b2]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({units: 10, name: 'out'}).apply(cat) as tfl.SymbolicTensor;
  return tfl.model({inputs: x, outputs: out, name: 'branch'});
}

/** An image model: 3×3 conv, 1×1 conv (a matmul over channels), batch norm, pooling, dense. */
export function convModel(): tfl.LayersModel {
  const x = tfl.input({shape: [6, 6, 8], name: 'img'});
  const c3 = tfl.layers.conv2d({filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c3'}).apply(x) as tfl.SymbolicTensor;
  const c1 = tfl.layers.conv2d({filters: 24, kernelSize: 1, activation: 'relu', name: 'c1'}).apply(c3) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({name: 'bn'}).apply(c1) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({name: 'flat'}).apply(bn) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({units: 5, name: 'head'}).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({inputs: x, outputs: out, name: 'conv'});
}

/** Runs `f` and checks that it leaves no tensor behind. */
export async function expectNoLeak(f: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await f();
  expect(tf.memory().numTensors).withContext('tensors left behind').toBe(before);
}
