/**
 * Issue #4: sparsifyModel. At 0% sparsity the converted model's outputs equal the dense model's within
 * f16 tolerance (Sequential, functional with a branch, 1×1 convolutions); the input model is untouched;
 * the report, skip list, small layers, per-layer maps, global magnitude, wanda and auto all do what they
 * say; and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describeEachBackend} from '../helpers/backends';
import {rng} from '../helpers/random';
import {convertSparseValueType, SparseDense, sparsifyModel} from '../../src/index';
import {branchModel, convModel, expectNoLeak, mlp, relError, setRandomWeights} from './util';

/** f16 keeps 11 significant bits: each weight is off by at most 2^-11 relative, so ‖Δy‖/‖y‖ stays near that. */
const F16_REL = 2e-3;

async function weightsOf(model: tfl.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => Float32Array.from(await w.data())));
}

async function predictBoth(a: tfl.LayersModel, b: tfl.LayersModel, x: tf.Tensor): Promise<number> {
  const ya = a.predict(x) as tf.Tensor, yb = b.predict(x) as tf.Tensor;
  const e = await relError(yb, ya);
  tf.dispose([ya, yb]);
  return e;
}

describeEachBackend('sparsifyModel', () => {
  it('at 0% keeps a Sequential MLP within f16 tolerance, and leaves the input model untouched', async () => {
    const r = rng('sparsify-seq');
    const dense = mlp(64, [96, 80], 10);
    setRandomWeights(dense, r);
    const before = await weightsOf(dense);
    const x = tf.tensor2d(r.normals(40 * 64), [40, 64]);
    const {model, report} = await sparsifyModel(dense, {sparsity: 0, minWeights: 0, calibration: x});
    expect(model.layers.map((l) => l.getClassName())).toEqual(['SparseDense', 'SparseDense', 'SparseDense']);
    expect(model.layers.map((l) => l.name)).toEqual(dense.layers.map((l) => l.name));
    expect(await predictBoth(dense, model, x)).toBeLessThan(F16_REL);
    expect(report.layers.length).toBe(3);
    for (const l of report.layers) {
      expect(l.sparse).toBe(true);
      expect(l.sparsity).toBe(0);
      expect(l.deviation!).toBeLessThan(F16_REL);
    }
    expect(report.outputDeviation!).toBeLessThan(F16_REL);
    expect(await weightsOf(dense)).toEqual(before);
    x.dispose();
    model.dispose();
    dense.dispose();
  });

  it('at 0% keeps a functional model with a branch within f16 tolerance', async () => {
    const r = rng('sparsify-branch');
    const dense = branchModel(30);
    setRandomWeights(dense, r);
    const x = tf.tensor2d(r.normals(25 * 30), [25, 30]);
    const {model, report} = await sparsifyModel(dense, {sparsity: 0, minWeights: 0});
    expect(model.getLayer('b2').getClassName()).toBe('SparseDense');
    expect(model.getLayer('cat').getClassName()).toBe('Concatenate');
    expect(report.layers.map((l) => l.name)).toEqual(['a', 'b1', 'b2', 'out']);
    expect(report.layers.every((l) => l.deviation === null)).toBe(true);
    expect(await predictBoth(dense, model, x)).toBeLessThan(F16_REL);
    x.dispose();
    model.dispose();
    dense.dispose();
  });

  it('converts a 1×1 Conv2D as a matmul over channels and keeps a 3×3 one dense', async () => {
    const r = rng('sparsify-conv');
    const dense = convModel();
    setRandomWeights(dense, r);
    const x = tf.tensor4d(r.normals(4 * 6 * 6 * 8), [4, 6, 6, 8]);
    const {model, report} = await sparsifyModel(dense, {sparsity: 0, minWeights: 0, calibration: x, valueType: 'float32'});
    expect(model.getLayer('c1').getClassName()).toBe('SparseDense');
    expect(model.getLayer('c3').getClassName()).toBe('Conv2D');
    expect(model.getLayer('bn').getClassName()).toBe('BatchNormalization');
    const c3 = report.layers.find((l) => l.name === 'c3')!;
    expect(c3.sparse).toBe(false);
    expect(c3.reason).toMatch(/1×1/);
    expect(report.layers.find((l) => l.name === 'c1')!.shape).toEqual([16, 24]);
    // float32 values: the same products, summed in another order.
    expect(await predictBoth(dense, model, x)).toBeLessThan(1e-5);
    x.dispose();
    model.dispose();
    dense.dispose();
  });

  it('prunes each layer to its target and reports shapes, bytes and deviations', async () => {
    const r = rng('sparsify-report');
    const dense = mlp(128, [160], 10);
    setRandomWeights(dense, r);
    const x = tf.tensor2d(r.normals(64 * 128), [64, 128]);
    const {model, report} = await sparsifyModel(dense, {sparsity: 0.75, calibration: x, minWeights: 4096});
    const [hidden, head] = report.layers;
    expect(hidden.shape).toEqual([128, 160]);
    expect(hidden.sparse).toBe(true);
    expect(hidden.sparsity).toBeCloseTo(0.75, 12);
    expect(hidden.bytesBefore).toBe(128 * 160 * 4);
    expect(hidden.bytesAfter).toBeLessThan(hidden.bytesBefore / 4);
    expect(hidden.deviation!).toBeGreaterThan(0);
    expect(head.sparse).toBe(false);
    expect(head.reason).toMatch(/too small/);
    expect(head.bytesAfter).toBe(head.bytesBefore);
    expect(model.getLayer(head.name).getClassName()).toBe('Dense');
    expect(report.bytesBefore).toBe(hidden.bytesBefore + head.bytesBefore);
    expect(report.outputDeviation!).toBeGreaterThan(0);
    expect((model.getLayer(hidden.name) as SparseDense).nnz).toBe(128 * 160 / 4);
    x.dispose();
    model.dispose();
    dense.dispose();
  });

  it('keeps skipped layers dense, by name, glob or pattern, and follows a per-layer map', async () => {
    const r = rng('sparsify-skip');
    const dense = branchModel(40);
    setRandomWeights(dense, r);
    const bySkip = await sparsifyModel(dense, {sparsity: 0.5, minWeights: 0, skip: ['a', 'b*', /^ou/]});
    expect(bySkip.report.layers.every((l) => !l.sparse && l.reason === 'skipped')).toBe(true);
    bySkip.model.dispose();
    const byMap = await sparsifyModel(dense, {sparsity: {b1: 0.9, out: 0.25}});
    expect(byMap.report.layers.map((l) => [l.name, l.sparse])).toEqual([['a', false], ['b1', true], ['b2', false], ['out', true]]);
    expect(byMap.report.layers[1].sparsity).toBeCloseTo(0.9, 2);
    expect(byMap.report.layers[3].sparsity).toBeCloseTo(0.25, 2);
    expect(byMap.report.layers[0].reason).toBe('not in the sparsity map');
    byMap.model.dispose();
    await expectAsync(sparsifyModel(dense, {sparsity: {nope: 0.5}})).toBeRejectedWithError(/nope/);
    await expectAsync(sparsifyModel(dense, {sparsity: 1.5})).toBeRejectedWithError(/sparsity/);
    await expectAsync(sparsifyModel(dense, {sparsity: 0.5, method: 'wanda'})).toBeRejectedWithError(/calibration/);
    await expectAsync(sparsifyModel(dense, {sparsity: {auto: 0.5}})).toBeRejectedWithError(/calibration/);
    await expectAsync(sparsifyModel(dense, {sparsity: {a: 0.5}, scope: 'global'})).toBeRejectedWithError(/global/);
    const wrong = tf.zeros([3, 7]);
    await expectAsync(sparsifyModel(dense, {sparsity: 0.5, method: 'wanda', calibration: wrong})).toBeRejected();
    wrong.dispose();
    dense.dispose();
  });

  it('global magnitude uses one threshold across layers', async () => {
    const r = rng('sparsify-global');
    const dense = mlp(64, [64], 64);
    setRandomWeights(dense, r);
    // Make the first layer's weights 10× larger: a global threshold then prunes the second far more.
    const [k0, b0] = dense.layers[0].getWeights();
    const big = tf.mul(k0, 10);
    dense.layers[0].setWeights([big, b0]);
    big.dispose();
    const {model, report} = await sparsifyModel(dense, {sparsity: 0.5, scope: 'global', minWeights: 0});
    const [s0, s1] = report.layers.map((l) => l.sparsity);
    expect((s0 + s1) / 2).toBeCloseTo(0.5, 3);
    expect(s0).toBeLessThan(0.2);
    expect(s1).toBeGreaterThan(0.8);
    model.dispose();
    dense.dispose();
  });

  it('wanda keeps the same count in every output column, and beats magnitude on skewed inputs', async () => {
    const r = rng('sparsify-wanda');
    const K = 64;
    const dense = mlp(K, [], 16);
    setRandomWeights(dense, r);
    // Inputs whose scales differ by 100×: |W| alone is a poor guide to what matters.
    const scales = Float32Array.from({length: K}, (_, k) => k % 4 === 0 ? 10 : 0.1);
    const x = tf.mul(tf.tensor2d(r.normals(128 * K), [128, K]), tf.tensor1d(scales));
    const wanda = await sparsifyModel(dense, {sparsity: 0.75, method: 'wanda', calibration: x, minWeights: 0});
    const magnitude = await sparsifyModel(dense, {sparsity: 0.75, calibration: x, minWeights: 0});
    const kernel = await (wanda.model.layers[0] as SparseDense).getSparseMatrix();
    const w = await kernel.toDense().data();
    for (let n = 0; n < 16; n++) {
      let kept = 0;
      for (let k = 0; k < K; k++) if (w[k * 16 + n] !== 0) kept++;
      expect(kept).withContext(`column ${n}`).toBe(16);
    }
    expect(wanda.report.outputDeviation!).toBeLessThan(magnitude.report.outputDeviation!);
    kernel.dispose();
    tf.dispose([x]);
    wanda.model.dispose();
    magnitude.model.dispose();
    dense.dispose();
  });

  it('sparsegpt rebuilds what it drops: closest to the dense outputs on correlated inputs', async () => {
    const r = rng('sparsify-sparsegpt');
    const K = 64;
    const dense = mlp(K, [48], 16, 'tanh');
    setRandomWeights(dense, r);
    // Correlated features (a random walk along k): what one weight loses, its neighbours can carry.
    const walk = new Float32Array(256 * K);
    for (let i = 0; i < 256; i++) {
      let prev = 0;
      for (let k = 0; k < K; k++) walk[i * K + k] = prev = 0.95 * prev + r.normal();
    }
    const x = tf.tensor2d(walk, [256, K]);
    const deviation: Record<string, number> = {};
    for (const method of ['magnitude', 'wanda', 'sparsegpt'] as const) {
      const {model, report} = await sparsifyModel(dense, {sparsity: 0.6, method, calibration: x, minWeights: 0});
      deviation[method] = report.outputDeviation!;
      for (const l of report.layers) expect(l.sparsity).withContext(`${method} ${l.name}`).toBeCloseTo(0.6, 1);
      model.dispose();
    }
    expect(deviation['sparsegpt']).toBeLessThan(0.8 * deviation['wanda']);
    expect(deviation['sparsegpt']).toBeLessThan(0.8 * deviation['magnitude']);
    x.dispose();
    dense.dispose();
  });

  it('auto spends the budget where the calibration data say it costs least', async () => {
    const r = rng('sparsify-auto');
    const dense = mlp(48, [64, 64], 8);
    setRandomWeights(dense, r);
    const x = tf.tensor2d(r.normals(64 * 48), [64, 48]);
    const {model, report} = await sparsifyModel(dense, {
      sparsity: {auto: 0.6, levels: [0.4, 0.6, 0.8]}, method: 'wanda', calibration: x, minWeights: 0,
    });
    const sizes = report.layers.map((l) => l.shape[0] * l.shape[1]);
    const dropped = report.layers.reduce((a, l, i) => a + l.sparsity * sizes[i], 0);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(dropped / total).toBeGreaterThanOrEqual(0.6 - 0.02);
    for (const l of report.layers) {
      if (l.sparse) expect([0.4, 0.6, 0.8].some((s) => Math.abs(l.sparsity - s) < 0.02)).toBe(true);
      else expect(l.reason).toBe('auto: kept dense');
    }
    x.dispose();
    model.dispose();
    dense.dispose();
  });

  it('converts values to float16 after float32 fine-tuning, keeping every bit of the bitmap', async () => {
    const r = rng('sparsify-convert');
    const dense = mlp(40, [48], 6);
    setRandomWeights(dense, r);
    const x = tf.tensor2d(r.normals(32 * 40), [32, 40]);
    const {model} = await sparsifyModel(dense, {sparsity: 0.7, minWeights: 0, valueType: 'float32'});
    model.compile({optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy'});
    const y = tf.oneHot(tf.tensor1d(Array.from({length: 32}, (_, i) => i % 6), 'int32'), 6);
    await model.fit(x, y, {epochs: 2, verbose: 0});
    const half = await convertSparseValueType(model, 'float16');
    for (const name of model.layers.map((l) => l.name)) {
      const [a, b] = [await (model.getLayer(name) as SparseDense).getEncoded(), await (half.getLayer(name) as SparseDense).getEncoded()];
      expect(b.valueType).toBe('float16');
      expect(b.header).toEqual(a.header);
    }
    expect(await predictBoth(model, half, x)).toBeLessThan(F16_REL);
    tf.dispose([x, y]);
    half.dispose();
    model.dispose();
    dense.dispose();
  });

  it('leaks no tensor: conversion, report, predict and dispose', async () => {
    const r = rng('sparsify-leak');
    const dense = branchModel(20);
    setRandomWeights(dense, r);
    const x = tf.tensor2d(r.normals(16 * 20), [16, 20]);
    await expectNoLeak(async () => {
      const {model} = await sparsifyModel(dense, {sparsity: {auto: 0.5, levels: [0.5, 0.8]}, method: 'wanda', calibration: x, minWeights: 0, batchSize: 10});
      const y = model.predict(x) as tf.Tensor;
      y.dispose();
      const half = await convertSparseValueType(model, 'float32');
      half.dispose();
      model.dispose();
    });
    // The input model still works after its converted copies are gone.
    const y = dense.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([16, 10]);
    tf.dispose([x, y]);
    dense.dispose();
  });
});
