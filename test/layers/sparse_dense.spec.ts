/**
 * Issue #4: the SparseDense layer: same outputs as Dense on the same (decoded) weights, on any input
 * rank, config round trip, checked weights, training that never touches the bitmap, and no leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describeEachBackend} from '../helpers/backends';
import {rng} from '../helpers/random';
import {EncodedSparseMatrix, SparseDense, SparseMatrix} from '../../src/index';
import {expectNoLeak, maxAbsDiff, relError} from './util';

/** A Dense layer holding exactly the decoded weights of `m`, for reference. */
function denseTwin(m: SparseMatrix, bias: Float32Array, activation: 'relu' | 'softmax' | 'tanh' | 'linear' | 'sigmoid'): tfl.Sequential {
  const [K, N] = m.shape;
  const model = tfl.sequential({layers: [tfl.layers.dense({units: N, activation, inputShape: [K]})]});
  const kernel = m.toDense();
  const b = tf.tensor1d(bias);
  model.setWeights([kernel, b]);
  kernel.dispose();
  b.dispose();
  return model;
}

describeEachBackend('SparseDense', () => {
  const K = 75, N = 40;

  for (const activation of ['linear', 'relu', 'sigmoid', 'softmax', 'tanh'] as const) {
    for (const valueType of ['float16', 'float32'] as const) {
      it(`matches Dense on the decoded weights (${activation}, ${valueType}, input ranks 2 to 4)`, async () => {
        const r = rng(`sparse-dense-${activation}-${valueType}`);
        const m = SparseMatrix.fromDense(r.sparse(K, N, 0.7, 0.3), [K, N], {valueType});
        const bias = r.normals(N, 0.1);
        const layer = new SparseDense({units: N, kernel: m, bias, activation});
        const dense = denseTwin(m, bias, activation);
        for (const shape of [[6, K], [2, 3, K], [2, 2, 2, K]]) {
          const x = tf.tensor(r.normals(shape.reduce((a, b) => a * b, 1)), shape);
          const y = layer.apply(x) as tf.Tensor;
          const ref = dense.layers[0].apply(x) as tf.Tensor;
          expect(y.shape).toEqual([...shape.slice(0, -1), N]);
          expect(await maxAbsDiff(y, ref)).toBeLessThan(1e-5);
          tf.dispose([x, y, ref]);
        }
        m.dispose();
        layer.dispose();
        dense.dispose();
      });
    }
  }

  it('reports its config, and a layer built from the config takes the same weights', async () => {
    const r = rng('sparse-dense-config');
    const m = SparseMatrix.fromDense(r.sparse(K, N, 0.8), [K, N]);
    const layer = new SparseDense({units: N, kernel: m, activation: 'relu', name: 'sd'});
    layer.build([null, K]);
    const config = layer.getConfig();
    expect(config['units']).toBe(N);
    expect(config['activation']).toBe('relu');
    expect(config['useBias']).toBe(true);
    expect(config['valueType']).toBe('float16');
    expect(config['formatVersion']).toBe(1);
    expect(config['valueWords']).toBe(m.toEncoded().values.length);
    expect(config['sparsity']).toBeCloseTo(m.sparsity, 12);
    expect(layer.nnz).toBe(m.nnz);

    const copy = tf.serialization.SerializationMap.getMap().classNameMap['SparseDense'];
    expect(copy).toBeDefined();
    const twin = new SparseDense({...config, name: 'sd2'} as never);
    twin.build([null, K]);
    // Not set yet: an error, not zeros.
    const x = tf.tensor2d(r.normals(3 * K), [3, K]);
    expect(() => twin.apply(x)).toThrowError(/not set/);
    twin.setWeights(layer.getWeights());
    const [a, b] = [layer.apply(x) as tf.Tensor, twin.apply(x) as tf.Tensor];
    expect(await maxAbsDiff(a, b)).toBe(0);
    tf.dispose([x, a, b]);
    m.dispose();
    layer.dispose();
    twin.dispose();
  });

  it('refuses corrupt weights in setWeights and keeps refusing to compute', async () => {
    const r = rng('sparse-dense-corrupt');
    const m = SparseMatrix.fromDense(r.sparse(K, N, 0.6), [K, N]);
    const e = m.toEncoded();
    const layer = new SparseDense({units: N, kernel: m});
    layer.build([null, K]);
    const x = tf.tensor2d(r.normals(2 * K), [2, K]);
    const good = layer.apply(x) as tf.Tensor;
    const set = (header: Int32Array, offsets: Int32Array, values: Int32Array) => {
      const ts = [tf.tensor1d(header, 'int32'), tf.tensor1d(offsets, 'int32'), tf.tensor1d(values, 'int32'), tf.zeros([N])];
      // layer.weights lists trainable weights first: bias, then header, offsets, values.
      try {
        layer.setWeights([ts[3], ts[0], ts[1], ts[2]]);
      } finally {
        tf.dispose(ts);
      }
    };
    const flipped = e.header.slice();
    flipped[0] ^= 1 << 5;  // column 0 of tile 0: every later group prefix is off by one
    expect(() => set(flipped, e.offsets, e.values)).toThrowError(/SparseDense .*prefix/);
    expect(() => layer.apply(x)).toThrowError(/prefix/);
    const extra = e.header.slice();
    extra[31] = -1;  // all of column 31, the last group: no prefix sees it, only the offsets
    expect(() => set(extra, e.offsets, e.values)).toThrowError(/SparseDense .*popcount/);

    const outside = e.header.slice();
    const lastTile = outside.length / 36 - 1;
    outside[lastTile * 36 + 31] |= 1;  // column 31 of the last tile column: N = 40 ends at 8
    expect(() => set(outside, e.offsets, e.values)).toThrowError(/outside/);

    const offsets = e.offsets.slice();
    offsets[1] += 8;
    expect(() => set(e.header, offsets, e.values)).toThrowError(/SparseDense/);
    expect(() => set(e.header, e.offsets, new Int32Array(e.values.length + 4))).toThrowError(/shape/);
    const bad = [tf.tensor1d(Array.from(e.header), 'float32'), tf.tensor1d(e.offsets, 'int32'), tf.tensor1d(e.values, 'int32'), tf.zeros([N])];
    expect(() => layer.setWeights([bad[3], bad[0], bad[1], bad[2]])).toThrowError(/int32/);
    tf.dispose(bad);

    // Good weights again: computes, and the same answer as before.
    set(e.header, e.offsets, e.values);
    const again = layer.apply(x) as tf.Tensor;
    expect(await maxAbsDiff(again, tf.matMul(x, m.toDense()))).toBeLessThan(1e-5);
    tf.dispose([x, good, again]);
    m.dispose();
    layer.dispose();
  });

  it('rejects bad arguments and inputs with real errors', () => {
    const m = SparseMatrix.fromDense(new Float32Array(K * N).fill(1), [K, N]);
    expect(() => new SparseDense({units: 0})).toThrowError(/units/);
    expect(() => new SparseDense({units: N + 1, kernel: m})).toThrowError(/outputs/);
    expect(() => new SparseDense({units: N, kernel: m, valueType: 'float32'})).toThrowError(/valueType/);
    expect(() => new SparseDense({units: N, formatVersion: 2})).toThrowError(/version/);
    expect(() => new SparseDense({units: N, activation: 'nope' as never})).toThrowError();
    expect(() => new SparseDense({units: N, bias: [1, 2]})).toThrowError(/bias/);
    const noWords = new SparseDense({units: N});
    expect(() => noWords.build([null, K])).toThrowError(/valueWords/);
    const layer = new SparseDense({units: N, kernel: m});
    expect(() => layer.build([null, K + 1])).toThrowError(/inputs/);
    const x = tf.zeros([2, K + 1]);
    expect(() => layer.apply(x)).toThrowError();
    x.dispose();
    m.dispose();
  });

  it('trains its float32 values with model.fit; the bitmap and every zero stay', async () => {
    const r = rng('sparse-dense-fit');
    const m = SparseMatrix.fromDense(r.sparse(K, N, 0.75, 0.2), [K, N], {valueType: 'float32'});
    const before = m.toEncoded();
    const model = tfl.sequential({layers: [
      new SparseDense({units: N, kernel: m, activation: 'relu', inputShape: [K], name: 'sparse'}),
      tfl.layers.dense({units: 3, activation: 'softmax', name: 'head'}),
    ]});
    const sparse = model.getLayer('sparse') as SparseDense;
    expect(sparse.trainableWeights.map((w) => w.originalName).sort()).toEqual(['sparse/bias', 'sparse/values']);
    model.compile({optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy'});
    const xs = tf.tensor2d(r.normals(96 * K), [96, K]);
    const labels = tf.oneHot(tf.tensor1d(Array.from({length: 96}, (_, i) => i % 3), 'int32'), 3);
    const history = await model.fit(xs, labels, {epochs: 4, batchSize: 32, verbose: 0});
    const loss = history.history['loss'] as number[];
    expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
    const after = await sparse.getEncoded();
    expect(after.header).toEqual(before.header);
    expect(after.offsets).toEqual(before.offsets);
    const changed = after.values.filter((v, i) => v !== before.values[i]).length;
    expect(changed).toBeGreaterThan(0);
    // Padding slots stay 0, and no stored value became 0.
    const trained = SparseMatrix.fromEncoded(after);
    expect(trained.nnz).toBe(m.nnz);
    const [d0, d1] = [m.toDense(), trained.toDense()];
    const [z0, z1] = await Promise.all([tf.equal(d0, 0).data(), tf.equal(d1, 0).data()]);
    expect(Array.from(z1)).toEqual(Array.from(z0));
    tf.dispose([xs, labels, d0, d1]);
    trained.dispose();
    m.dispose();
    model.dispose();
  });

  it('has the values gradient of the masked dense matmul', async () => {
    const r = rng('sparse-dense-grad');
    const dense = r.sparse(K, N, 0.6, 0.3);
    const m = SparseMatrix.fromDense(dense, [K, N], {valueType: 'float32'});
    const layer = new SparseDense({units: N, kernel: m, activation: 'sigmoid', bias: r.normals(N, 0.1)});
    const x = tf.tensor2d(r.normals(7 * K), [7, K]);
    const weights = tf.tensor2d(r.normals(7 * N), [7, N]);
    layer.build([null, K]);
    const valuesVar = layer.trainableWeights.find((w) => w.originalName.endsWith('values'))!.read() as tf.Variable;
    const {grads} = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, weights)) as tf.Scalar, [valuesVar]);
    const dValues = await grads[valuesVar.name].data();
    // Reference: dL/dW of the dense equivalent, read at each stored position.
    const w = tf.variable(m.toDense());
    const b = tf.tensor1d((await layer.getBias())!);
    const ref = tf.variableGrads(() => tf.sum(tf.mul(tf.sigmoid(tf.add(tf.matMul(x, w), b)), weights)) as tf.Scalar, [w]);
    const dW = await ref.grads[w.name].data();
    const e = m.toEncoded();
    let k = 0;
    const stored: number[] = [];
    const refStored: number[] = [];
    // Walk the storage order as docs/format.md defines it.
    const KT = Math.ceil(K / 32), NT = Math.ceil(N / 32);
    for (let nt = 0; nt < NT; nt++) {
      for (let kt = 0; kt < KT; kt++) {
        const t = nt * KT + kt;
        let el = e.offsets[t];
        for (let c = 0; c < 32; c++) {
          for (let row = 0; row < 32; row++) {
            if ((e.header[t * 36 + c] >>> row) & 1) {
              stored.push(dValues[el]);
              refStored.push(dW[(kt * 32 + row) * N + nt * 32 + c]);
              el++;
              k++;
            }
          }
        }
        for (; el < e.offsets[t + 1]; el++) expect(dValues[el]).withContext('padding gradient').toBe(0);
      }
    }
    expect(k).toBe(m.nnz);
    const a = tf.tensor1d(stored), bRef = tf.tensor1d(refStored);
    expect(await relError(a, bRef)).toBeLessThan(1e-5);
    tf.dispose([x, weights, w, b, a, bRef, ...Object.values(grads), ...Object.values(ref.grads)]);
    m.dispose();
    layer.dispose();
  });

  it('keeps float16 values fixed under training (only the bias trains)', () => {
    const m = SparseMatrix.fromDense(rng('f16-train').sparse(K, N, 0.5), [K, N]);
    const layer = new SparseDense({units: N, kernel: m});
    layer.build([null, K]);
    expect(layer.trainableWeights.map((w) => w.originalName)).toEqual(['bias']);
    m.dispose();
    layer.dispose();
  });

  it('leaks no tensor: build, predict, train, dispose', async () => {
    const r = rng('sparse-dense-leak');
    const m = SparseMatrix.fromDense(r.sparse(K, N, 0.7), [K, N], {valueType: 'float32'});
    const xs = tf.tensor2d(r.normals(16 * K), [16, K]);
    const ys = tf.tensor2d(r.normals(16 * N), [16, N]);
    await expectNoLeak(async () => {
      const model = tfl.sequential({layers: [new SparseDense({units: N, kernel: m, inputShape: [K], activation: 'tanh'})]});
      const p = model.predict(xs) as tf.Tensor;
      p.dispose();
      model.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
      await model.fit(xs, ys, {epochs: 1, batchSize: 8, verbose: 0});
      const e: EncodedSparseMatrix = await (model.layers[0] as SparseDense).getEncoded();
      expect(e.shape).toEqual([K, N]);
      model.dispose();
    });
    tf.dispose([xs, ys]);
    m.dispose();
  });
});
