/**
 * The webgpu kernels record repeated dispatches with cached bind groups and uniform buffers
 * (src/kernels/webgpu/run_program.ts). A cached bind group is only right if it binds exactly the
 * buffers of this call: these specs run the same programs many times on fresh inputs (TF.js recycles
 * their buffers from its pool, so bindings repeat in new combinations) and check every result against
 * float64, and check that the cache is used at all.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {describeEachBackend} from './helpers/backends';
import {expectNoLeakedTensors} from './helpers/leaks';
import {rng} from './helpers/random';
import {attentionRef, kvCacheWriteRef, rowNormRef} from './helpers/decoder_ops_reference';
import {expectAllClose, refMatMul} from './helpers/reference';
import {decodeAttention, kvCacheWrite, rowNorm, SparseMatrix, sparseMatMul} from '../src/index';

describeEachBackend('repeated dispatches', (backend) => {
  expectNoLeakedTensors();

  it('give the right product every time, on fresh inputs, sizes and biases', async () => {
    const r = rng(`repeated dispatches ${backend}`);
    const shapes: Array<[number, number, number]> = [[1, 127, 45], [3, 300, 70], [1, 4097, 33]];
    const weights = shapes.map(([, K, N]) => {
      const w = r.sparse(K, N, 0.7);
      return {w, m: SparseMatrix.fromDense(w, [K, N], {valueType: 'float32'})};
    });
    for (let i = 0; i < 36; i++) {
      const s = i % shapes.length;
      const [M, K, N] = shapes[s];
      const x = r.normals(M * K), bias = r.normals(N);
      const [xt, bt] = [tf.tensor2d(x, [M, K]), tf.tensor1d(bias)];
      const y = sparseMatMul(xt, weights[s].m, {bias: bt, activation: i % 2 ? 'relu' : 'linear'});
      const want = refMatMul(x, weights[s].w, M, K, N, {bias, activation: i % 2 ? 'relu' : 'linear'});
      expectAllClose(await y.data(), want.y, want.tol, [M, N], `call ${i} (${M}×${K}·${K}×${N})`);
      tf.dispose([xt, bt, y]);
    }
    weights.forEach(({m}) => m.dispose());
  });

  it('write a cache in place at a new position each call, and normalise rows between', async () => {
    const r = rng(`repeated cache writes ${backend}`);
    const [B, H, L, D] = [2, 3, 12, 4];
    const start = r.normals(B * H * L * D);
    const cache = tf.tensor4d(start, [B, H, L, D]);
    let want = start;
    for (let p = 0; p < L; p++) {
      const x = r.normals(B * H * D);
      const xt = tf.tensor2d(x, [B, H * D]);
      kvCacheWrite(cache, xt, {position: p}).dispose();
      want = kvCacheWriteRef(want, x, {B, H, L, D, S: 1, position: p, C: H * D, column: 0});
      const n = rowNorm(xt, {kind: 'rms'});
      const got = await n.data();
      const norm = rowNormRef(x, B, H * D, 'rms', 1e-5);
      for (let i = 0; i < norm.length; i++) expect(Math.abs(got[i] - norm[i])).toBeLessThan(1e-5);
      tf.dispose([xt, n]);
    }
    expect(Array.from(await cache.data())).toEqual(Array.from(want));
    cache.dispose();
  });

  it('keep each call\'s own position and length when many are recorded before a submit', async () => {
    // Uniforms that change from call to call are rewritten into a few buffers per program; a buffer the
    // pending commands still bind must not be rewritten. 24 dispatches span one submit (every 15).
    const r = rng(`pending uniforms ${backend}`);
    const [H, L, D] = [2, 12, 4];
    const start = r.normals(H * L * D);
    const cache = tf.tensor4d(start, [1, H, L, D]);
    const xs: Float32Array[] = [], outs: tf.Tensor[] = [];
    for (let p = 0; p < L; p++) {
      const x = r.normals(H * D);
      xs.push(x);
      const xt = tf.tensor2d(x, [1, H * D]);
      kvCacheWrite(cache, xt, {position: p}).dispose();
      outs.push(decodeAttention(xt, cache, cache, {length: p + 1}));
      xt.dispose();
    }
    const got = await Promise.all(outs.map((o) => o.data()));
    // The cache's positions 0..p are final once written, and attention at p reads no further.
    const kv = xs.reduce((c, x, p) => kvCacheWriteRef(c, x, {B: 1, H, L, D, S: 1, position: p, C: H * D, column: 0}), start);
    for (let p = 0; p < L; p++) {
      const {out} = attentionRef(xs[p], kv, kv, {B: 1, H, L, D, C: H * D, column: 0, length: p + 1, scale: 1});
      for (let i = 0; i < out.length; i++) expect(Math.abs(got[p][i] - out[i])).withContext(`step ${p}, element ${i}`).toBeLessThan(1e-4);
    }
    tf.dispose([cache, ...outs]);
  });

  if (backend === 'webgpu') {
    it('reuse their bind groups once the pool has settled', async () => {
      const r = rng('repeated bind groups');
      const m = SparseMatrix.fromDense(r.sparse(256, 96, 0.8), [256, 96]);
      const x = tf.tensor2d(r.normals(256), [1, 256]);
      const device = (tf.backend() as WebGPUBackend).device;
      const create = device.createBindGroup.bind(device);
      let created = 0;
      device.createBindGroup = (d: GPUBindGroupDescriptor) => {
        created++;
        return create(d);
      };
      try {
        const calls = 300;
        for (let i = 0; i < calls; i++) sparseMatMul(x, m).dispose();
        const y = sparseMatMul(x, m);
        await y.data();
        y.dispose();
        // TF.js's own path makes one per dispatch; output buffers cycle through the pool's few.
        expect(created).toBeLessThan(calls / 4);
      } finally {
        device.createBindGroup = create;
      }
      tf.dispose([x]);
      m.dispose();
    });
  }
});
