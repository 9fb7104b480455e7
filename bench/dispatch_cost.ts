/**
 * Where the CPU time of one WebGPU op goes in TF.js on this host: the time to record an op (no waiting
 * for the GPU), for TF.js ops and for raw Dawn calls with a trivial kernel, each in a loop of N ops,
 * median of several loops. Prints a table and writes $OUT/<date>-<gpu>-dispatch-cost.json.
 *
 *   bash bench/prepare.sh bench/dispatch_cost.ts && (device) .device/node .device/dispatch_cost.mjs
 */
import {gpu} from './webgpu_env.js';  // first: sets navigator.gpu before tfjs-backend-webgpu loads
import * as tf from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-webgpu';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {SparseMatrix, sparseMatMul} from '../src/index.js';
import {median} from './gpu_timer.js';
import {deviceNames, readBuildInfo} from './run_info.js';

const N = Number(process.env.DISPATCH_N ?? 3000), REPS = 5, BATCH = 15;

async function timeLoop(record: (i: number) => void, finish: () => Promise<void>): Promise<number> {
  const us: number[] = [];
  for (let r = 0; r < REPS + 1; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) record(i);
    const t1 = performance.now();
    await finish();
    if (r > 0) us.push(1000 * (t1 - t0) / N);  // the first loop warms up
  }
  return median(us);
}

await tf.setBackend('webgpu');
// Small ops would otherwise run on the CPU (their inputs never reached the GPU).
tf.env().set('WEBGPU_CPU_FORWARD', false);
const backend = tf.backend() as WebGPUBackend;
const device = backend.device;
const rows: Array<{case: string, cpuUsPerOp: number}> = [];
const add = (name: string, us: number) => {
  rows.push({case: name, cpuUsPerOp: us});
  console.log(`${us.toFixed(2).padStart(8)} µs  ${name}`);
};

// TF.js ops: each result is disposed at once, as a decoder's intermediate would be.
const a = tf.relu(tf.randomNormal([1, 64])), b = tf.relu(tf.randomNormal([1, 64]));
await Promise.all([a.data(), b.data()]);
const flush = async () => { const t = tf.add(a, b); await t.data(); t.dispose(); };
add('tf.add [1,64] (TF.js op, 1 dispatch)', await timeLoop(() => tf.add(a, b).dispose(), flush));
add('tf.reshape (no dispatch)', await timeLoop(() => tf.reshape(a, [64, 1]).dispose(), flush));
const dense = Float32Array.from({length: 64 * 64}, (_, i) => (i % 5 === 0 ? Math.sin(i) : 0));
const sm = SparseMatrix.fromDense(dense, [64, 64]);
add('sparseMatMul 1×64·64×64 (ours, 1 dispatch)', await timeLoop(() => sparseMatMul(a, sm).dispose(), flush));
// A decoder-sized product: split over K, so a main and a reduce dispatch.
const big = Float32Array.from({length: 4096 * 4096}, (_, i) => ((i * 2654435761) % 5 === 0 ? Math.sin(i) : 0));
const smBig = SparseMatrix.fromDense(big, [4096, 4096]);
const xBig = tf.relu(tf.randomNormal([1, 4096]));
add('sparseMatMul 1×4096·4096×4096 at 80% (ours, 2 dispatches)', await timeLoop(() => sparseMatMul(xBig, smBig).dispose(), flush));

// Target (a)'s wall loop as bench/kernels.ts runs it: n ops, each result disposed but the last, which is
// read back. The CPU time to record them, and the wall time to the read, per op; median of REPS loops.
async function wallLoop(op: () => tf.Tensor, n: number): Promise<{recordUs: number, wallUs: number}> {
  const rec: number[] = [], wall: number[] = [];
  for (let r = 0; r < REPS + 1; r++) {
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    let last: tf.Tensor | null = null;
    for (let i = 0; i < n; i++) {
      const y = op();
      if (i < n - 1) y.dispose();
      else last = y;
    }
    const t1 = performance.now();
    await last!.data();
    const t2 = performance.now();
    last!.dispose();
    if (r > 0) rec.push(1000 * (t1 - t0) / n), wall.push(1000 * (t2 - t0) / n);
  }
  return {recordUs: median(rec), wallUs: median(wall)};
}
const denseBig = tf.tensor2d(big, [4096, 4096]);
for (const n of [50, 3000]) {
  const s = await wallLoop(() => sparseMatMul(xBig, smBig), n);
  add(`sparseMatMul 1×4096·4096×4096 at 80%, loop of ${n} read at the end: record`, s.recordUs);
  add(`sparseMatMul 1×4096·4096×4096 at 80%, loop of ${n} read at the end: wall`, s.wallUs);
  const d = await wallLoop(() => tf.matMul(xBig, denseBig), n);
  add(`tf.matMul 1×4096·4096×4096, loop of ${n} read at the end: record`, d.recordUs);
  add(`tf.matMul 1×4096·4096×4096, loop of ${n} read at the end: wall`, d.wallUs);
}
denseBig.dispose();

// Raw Dawn: a trivial kernel with TF.js's binding shape (output, 2 inputs, uniforms).
const module = device.createShaderModule({code: `
  @group(0) @binding(0) var<storage, read_write> out : array<f32>;
  @group(0) @binding(1) var<storage, read> x : array<f32>;
  @group(0) @binding(2) var<storage, read> y : array<f32>;
  @group(0) @binding(3) var<uniform> u : vec4<u32>;
  @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g : vec3<u32>) {
    if (g.x < u.x) { out[g.x] = x[g.x] + y[g.x]; }
  }`});
const pipeline = device.createComputePipeline({layout: 'auto', compute: {module, entryPoint: 'main'}});
const layout = pipeline.getBindGroupLayout(0);
const buf = (usage: number) => device.createBuffer({size: 256, usage});
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const [o, x, y] = [buf(S), buf(S), buf(S)];
const uniforms = Array.from({length: 64}, () => buf(GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
const udata = new Uint32Array([64, 0, 0, 0]);
const group = (u: GPUBuffer, l: GPUBindGroupLayout) => device.createBindGroup({layout: l, entries: [
  {binding: 0, resource: {buffer: o}}, {binding: 1, resource: {buffer: x}}, {binding: 2, resource: {buffer: y}},
  {binding: 3, resource: {buffer: u}}]});
const cached = group(uniforms[0], layout);

let encoder: GPUCommandEncoder | null = null, pass: GPUComputePassEncoder | null = null, count = 0;
function dispatch(bg: GPUBindGroup, batch: number) {
  encoder ??= device.createCommandEncoder();
  pass ??= encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(1);
  if (++count >= batch) submit();
}
function submit() {
  pass?.end();
  if (encoder) device.queue.submit([encoder.finish()]);
  encoder = null, pass = null, count = 0;
}
const drain = async () => { submit(); await device.queue.onSubmittedWorkDone(); };

add('raw: writeBuffer + getBindGroupLayout + createBindGroup + dispatch, submit per 15 (TF.js\'s calls)',
    await timeLoop((i) => {
      const u = uniforms[i % 64];
      device.queue.writeBuffer(u, 0, udata);
      dispatch(group(u, pipeline.getBindGroupLayout(0)), BATCH);
    }, drain));
add('raw: writeBuffer + createBindGroup + dispatch, submit per 15', await timeLoop((i) => {
  const u = uniforms[i % 64];
  device.queue.writeBuffer(u, 0, udata);
  dispatch(group(u, layout), BATCH);
}, drain));
add('raw: cached bind group + dispatch, submit per 15', await timeLoop(() => dispatch(cached, BATCH), drain));
add('raw: cached bind group + dispatch, submit per 1000', await timeLoop(() => dispatch(cached, 1000), drain));
add('raw: createBindGroup alone', await timeLoop(() => group(uniforms[0], layout), drain));
add('raw: getBindGroupLayout alone', await timeLoop(() => pipeline.getBindGroupLayout(0), drain));
add('raw: writeBuffer (16 B) alone', await timeLoop((i) => device.queue.writeBuffer(uniforms[i % 64], 0, udata), drain));
add('raw: empty submit', await timeLoop(() => device.queue.submit([device.createCommandEncoder().finish()]), drain));

// The round trip of reading a result back (submit, copy, mapAsync): what a token read costs a decoder.
const reads: number[] = [];
for (let i = 0; i < 200; i++) {
  const t = tf.add(a, b);
  const t0 = performance.now();
  await t.data();
  reads.push(1000 * (performance.now() - t0));
  t.dispose();
}
reads.sort((p, q) => p - q);
add('await data() of a [1,64] result, GPU otherwise idle (median of 200)', reads[100]);

// TF.js's own adapterInfo lacks the device name.
const info = (await gpu.requestAdapter())!.info;
const {name, slug} = deviceNames(info, null);
const out = process.env.OUT || join('bench', 'results');
mkdirSync(out, {recursive: true});
const date = new Date().toISOString().slice(0, 10);
const file = join(out, `${date}-${slug}-dispatch-cost.json`);
writeFileSync(file, JSON.stringify({device: name, date, commit: readBuildInfo().commit, opsPerLoop: N, rows}, null, 1));
console.log(`wrote ${file}`);
process.exit(0);
