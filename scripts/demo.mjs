// npm run demo: encodes a random 4096×4096 weight at 80% sparsity, prints its size and the encoding
// throughput, and checks sparseMatMul against dense tf.matMul on webgpu (Dawn) when it is available,
// else on cpu. Then converts USE-lite (a real GraphModel) at the setting of scripts/use/best.ts and
// prints its size, speed and accuracy figures (scripts/use/demo.ts; --no-use skips it).
// Works right after `npm ci`: it bundles src/ with esbuild into .tmp/demo first.
// Exits non-zero if a check fails.
import {existsSync, mkdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import * as esbuild from 'esbuild';
import {nodeBundleOptions} from './node_bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const K = 4096, N = 4096, SPARSITY = 0.8, M = 8;
const MIN_ENCODE_MWPS = 50;
// The converted USE-lite's embeddings of held-out sentences against the dense model's (mean cosine).
const MIN_USE_COSINE = 0.8;
let failed = false;
const verdict = (ok) => {
  if (!ok) failed = true;
  return ok ? 'PASS' : 'FAIL';
};

// 1. WebGPU from Dawn (npm `webgpu`), before tfjs-backend-webgpu loads; Chromium's SwiftShader when
//    there is no GPU driver.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
let adapterInfo = 'none';
if (process.env.TFJS_SPARSE_WEBGPU !== '0') {
  try {
    const {create, globals} = await import('webgpu');
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (adapter) {
      Object.assign(globalThis, globals);
      Object.defineProperty(globalThis, 'navigator', {value: {gpu}, configurable: true, writable: true});
      adapterInfo = `${adapter.info.vendor} ${adapter.info.architecture}`.trim() || 'unknown';
    }
  } catch (e) {
    console.log(`(WebGPU on Dawn unavailable: ${e.message})`);
  }
}

// 2. Bundle the plugin with tfjs for Node.
const outfile = join(root, '.tmp', 'demo', 'tfjs-sparse-demo.mjs');
mkdirSync(dirname(outfile), {recursive: true});
await esbuild.build({
  stdin: {
    contents: [
      `export * as tf from '@tensorflow/tfjs-core';`,
      `import '@tensorflow/tfjs-backend-cpu';`,
      `import '@tensorflow/tfjs-backend-webgpu';`,
      `export {SparseMatrix, sparseMatMul} from './src/index.ts';`,
      `export {useDemo} from './scripts/use/demo.ts';`,
    ].join('\n'),
    resolveDir: root, sourcefile: 'demo-entry.ts', loader: 'ts',
  },
  ...nodeBundleOptions,
  outfile,
});
const {tf, SparseMatrix, sparseMatMul, useDemo} = await import(pathToFileURL(outfile).href);
const backend = tf.findBackendFactory('webgpu') && await tf.setBackend('webgpu') ? 'webgpu' : 'cpu';
await tf.setBackend(backend);
console.log(`tfjs-sparse demo: backend ${backend}${backend === 'webgpu' ? ` (Dawn, adapter ${adapterInfo})` : ''}`);

// 3. A random pruned weight, 80% unstructured sparsity.
let seed = 12345;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const dense = new Float32Array(K * N);
for (let i = 0; i < dense.length; i++) if (random() >= SPARSITY) dense[i] = (random() - 0.5) * 0.2;

// 4. Encode: one warm-up, then the best of 3 timed runs (the machine may be shared).
SparseMatrix.fromDense(dense, [K, N]).dispose();
const times = [];
let w;
for (let i = 0; i < 3; i++) {
  if (w) w.dispose();
  const t0 = performance.now();
  w = SparseMatrix.fromDense(dense, [K, N]);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const mwps = K * N / (times[0] / 1000) / 1e6;
const denseBytes = 4 * K * N;
console.log(`weight ${K}×${N}, sparsity ${(w.sparsity * 100).toFixed(1)}% (${w.nnz} nonzeros), values float16`);
console.log(`  sparse: ${(w.byteSize / 2 ** 20).toFixed(2)} MiB = ${(w.byteSize / (K * N)).toFixed(3)} B/weight`);
console.log(`  dense float32: ${(denseBytes / 2 ** 20).toFixed(2)} MiB = 4 B/weight (${(denseBytes / w.byteSize).toFixed(2)}× larger)`);
console.log(`encode: ${times[0].toFixed(0)} ms = ${mwps.toFixed(0)} M weights/s (best of 3 after a warm-up, median ${times[1].toFixed(0)} ms; ` +
    `need ≥ ${MIN_ENCODE_MWPS}) ${verdict(mwps >= MIN_ENCODE_MWPS)}`);

// 5. sparseMatMul against dense tf.matMul with the same (f16-decoded) weights, and both against a
//    float64 reference: |err| ≤ 1e-5·Σ|x||w| + 1e-6 per element (f32 accumulation only).
const wDense = w.toDense();
const wData = await wDense.data();
const xData = new Float32Array(M * K);
for (let i = 0; i < xData.length; i++) xData[i] = random() * 2 - 1;
const x = tf.tensor2d(xData, [M, K]);
const ySparse = sparseMatMul(x, w);
const yDense = tf.matMul(x, wDense);
const [ys, yd] = [await ySparse.data(), await yDense.data()];
const ref = new Float64Array(M * N), scale = new Float64Array(M * N);
for (let m = 0; m < M; m++) {
  for (let k = 0; k < K; k++) {
    const xv = xData[m * K + k];
    for (let n = 0; n < N; n++) {
      const wv = wData[k * N + n];
      if (wv === 0) continue;
      ref[m * N + n] += xv * wv;
      scale[m * N + n] += Math.abs(xv * wv);
    }
  }
}
let maxVsDense = 0, worstRatio = 0;
for (let i = 0; i < M * N; i++) {
  maxVsDense = Math.max(maxVsDense, Math.abs(ys[i] - yd[i]));
  const tol = 1e-5 * scale[i] + 1e-6;
  worstRatio = Math.max(worstRatio, Math.abs(ys[i] - ref[i]) / tol, Math.abs(yd[i] - ref[i]) / tol);
}
const ok = worstRatio <= 1 && ys.length === M * N;
console.log(`sparseMatMul vs tf.matMul (${M}×${K} · ${K}×${N}, ${backend}): max |error| ${maxVsDense.toExponential(2)}; ` +
    `worst error vs float64 is ${worstRatio.toFixed(3)}× the tolerance ${verdict(ok)}`);

tf.dispose([wDense, x, ySparse, yDense]);
w.dispose();

// 6. A real model: USE-lite, converted and checked live against the dense model.
if (!process.argv.includes('--no-use')) verdict(await useDemo(root, MIN_USE_COSINE));
console.log(failed ? 'demo: FAIL' : 'demo: PASS');
process.exit(failed ? 1 : 0);
