/**
 * Issue #7 on the lent GPU: a weight whose encoded values exceed the adapter's maxStorageBufferBindingSize
 * (about 2.2 GiB of f16 values at 50% density for a 2 GiB limit) must be split over bindings by column
 * strips and still compute correctly. Builds the encoding directly (a random bitmap, f16 values in
 * ±[0.5, 1)), checks it with SparseMatrix.fromEncoded, runs sparseMatMul on webgpu, and compares sampled
 * output columns (every part's first and last column, and random ones) with a float64 reference walked
 * from the encoded arrays.
 *
 *   bash ../shared/device/prepare bench/big_weight.ts
 *   device tool: carry [".device"], command: bash .device/setup.sh && .device/node .device/big_weight.mjs
 *
 * Flags: --values-gib G (size of the values; default 1.1 × the binding limit), --M rows of x (2),
 * --samples random columns checked (2000), --seed, --K rows of the weight (65536), --limit-bytes B (an artificial binding limit, for a
 * small smoke run on SwiftShader; bench/NOTES.md). Writes big_weight.json to $OUT when set.
 * Exits 1 on a failed check, 2 when the weight does not exceed the limit.
 */
import './webgpu_env.js';  // first: sets navigator.gpu before tfjs-backend-webgpu loads
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {EncodedSparseMatrix, SparseMatrix, sparseMatMul} from '../src/index.js';
import {MAX_BINDING_BYTES_FLAG} from '../src/kernels/backend_limits.js';

const REL_TOL = 1e-4;  // f32 sums over up to 65,536 terms, split over K: well inside 1e-4 of Σ|x·w|
const T0 = performance.now();
const say = (s: string) => console.log(`[${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${s}`);

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** xorshift32: fast enough for a billion values. */
function random(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A [K, N] weight at about 50% density with f16 values: header, offsets and values built in place. */
function build(K: number, N: number, seed: number): EncodedSparseMatrix {
  const KT = Math.ceil(K / 32), NT = Math.ceil(N / 32), T = KT * NT;
  const next = random(seed);
  const header = new Int32Array(T * 36);
  const offsets = new Int32Array(T + 1);
  let total = 0;
  for (let nt = 0; nt < NT; nt++) {
    const cols = Math.min(32, N - nt * 32);
    for (let kt = 0; kt < KT; kt++) {
      const t = nt * KT + kt, base = t * 36;
      const rows = Math.min(32, K - kt * 32);
      const mask = rows === 32 ? -1 : (1 << rows) - 1;
      let count = 0;
      for (let g = 0; g < 8; g++) {
        header[base + 32 + (g >> 1)] |= count << (16 * (g & 1));
        for (let c = 4 * g; c < 4 * g + 4; c++) {
          const w = c < cols ? next() & mask : 0;
          header[base + c] = w;
          count += popcount(w);
        }
      }
      offsets[t] = total;
      total += Math.ceil(count / 8) * 8;
      if (total > 0x7fffffff) throw new Error('more than 2^31 - 1 values: ask for fewer GiB');
    }
  }
  offsets[T] = total;
  const values = new Int32Array(total / 2);
  // f16 pairs in ±[0.5, 1): exponent 14, random sign and mantissa.
  for (let i = 0; i < values.length; i++) values[i] = (next() & 0x83ff83ff) | 0x38003800;
  // Padding elements are 0 (docs/format.md).
  const halves = new Uint16Array(values.buffer);
  for (let t = 0; t < T; t++) {
    let count = 0;
    for (let c = 0; c < 32; c++) count += popcount(header[t * 36 + c]);
    for (let e = offsets[t] + count; e < offsets[t + 1]; e++) halves[e] = 0;
  }
  return {format: 'tiled-bitmap', version: 1, shape: [K, N], valueType: 'float16', header, offsets, values};
}

/** y[m, n] in float64 and Σ|x·w|, walked from the encoded arrays by the documented address formula. */
function reference(e: EncodedSparseMatrix, x: Float32Array, M: number, n: number): {y: number[], scale: number[]} {
  const [K, N] = e.shape;
  const KT = Math.ceil(K / 32), nt = n >> 5, c = n & 31, g = c >> 2;
  if (n >= N) throw new Error(`column ${n} outside [${K}, ${N}]`);
  const halves = new Uint16Array(e.values.buffer, e.values.byteOffset, e.values.length * 2);
  const y = new Array<number>(M).fill(0), scale = new Array<number>(M).fill(0);
  for (let kt = 0; kt < KT; kt++) {
    const t = nt * KT + kt, base = t * 36;
    const word = e.header[base + 32 + (g >> 1)] >>> 0;
    let el = e.offsets[t] + ((g & 1) ? word >>> 16 : word & 0xffff);
    for (let c2 = 4 * g; c2 < c; c2++) el += popcount(e.header[base + c2]);
    let w = e.header[base + c];
    while (w !== 0) {
      const r = 31 - Math.clz32(w & -w);
      w &= w - 1;
      const v = half(halves[el++]);
      for (let m = 0; m < M; m++) {
        const p = x[m * K + kt * 32 + r] * v;
        y[m] += p;
        scale[m] += Math.abs(p);
      }
    }
  }
  return {y, scale};
}

async function main(): Promise<number> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu backend (no adapter?)');
  const backend = tf.backend() as unknown as {device: GPUDevice};
  const errors: string[] = [];
  (backend.device as unknown as {onuncapturederror: (e: {error: {message: string}}) => void}).onuncapturederror =
      (e) => errors.push(e.error.message);
  const limits = backend.device.limits;
  const artificial = flag('limit-bytes', 0);
  if (artificial > 0) tf.env().set(MAX_BINDING_BYTES_FLAG, artificial);
  const bindingLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, artificial || Infinity);
  say(`webgpu: maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize} B, maxBufferSize ${limits.maxBufferSize} B, ` +
      `maxComputeWorkgroupsPerDimension ${limits.maxComputeWorkgroupsPerDimension}${artificial ? `; artificial limit ${artificial} B` : ''}`);
  const M = flag('M', 2), samples = flag('samples', 2000), seed = flag('seed', 7);
  const valueBytes = flag('values-gib', 1.1 * bindingLimit / 2 ** 30) * 2 ** 30;
  // 50% density, f16: about one byte of values per weight. K = 65536 rows, N from the size asked.
  const K = flag('K', 65536);
  const N = Math.ceil(valueBytes / K / 32) * 32;
  say(`building [${K}, ${N}] at ~50% density: ~${(K * N / 2 ** 30).toFixed(2)} GiB of f16 values`);
  const built = build(K, N, seed);
  const vBytes = built.values.byteLength;
  say(`encoded: values ${vBytes} B (${(vBytes / 2 ** 30).toFixed(3)} GiB), header ${built.header.byteLength} B, ` +
      `${built.offsets[built.offsets.length - 1]} value slots`);
  if (vBytes <= bindingLimit) {
    say(`the values (${vBytes} B) do not exceed the binding limit (${bindingLimit} B): nothing to split; pass --values-gib`);
    return 2;
  }
  const w = SparseMatrix.fromEncoded(built);  // checks every array, copies them
  say(`SparseMatrix.fromEncoded: nnz ${w.nnz}, byteSize ${w.byteSize} B`);
  const parts = w.columnParts();
  say(`split into ${parts.length} column ranges: ${parts.map((p) => `[${p.n0}, ${p.n0 + p.N})`).join(' ')}`);
  const next = random(seed + 1);
  const x = Float32Array.from({length: M * K}, () => (next() / 2 ** 32) * 2 - 1);
  const xt = tf.tensor2d(x, [M, K]);
  const t1 = performance.now();
  const y = sparseMatMul(xt, w);
  const got = await y.data();
  const firstMs = performance.now() - t1;
  const t2 = performance.now();
  const y2 = sparseMatMul(xt, w);
  const again = await y2.data();
  const secondMs = performance.now() - t2;
  say(`sparseMatMul [${M}, ${K}]·[${K}, ${N}]: first call (upload) ${firstMs.toFixed(0)} ms, second ${secondMs.toFixed(1)} ms (wall, with the read)`);

  const columns = new Set<number>();
  for (const p of parts) columns.add(p.n0).add(p.n0 + p.N - 1).add(Math.min(N - 1, p.n0 + p.N));
  while (columns.size < samples + 3 * parts.length) columns.add(next() % N);
  let worst = 0, bad = 0, worstAt = '';
  for (const n of columns) {
    const ref = reference(built, x, M, n);
    for (let m = 0; m < M; m++) {
      const tol = REL_TOL * ref.scale[m] + 1e-6;
      const ratio = Math.abs(got[m * N + n] - ref.y[m]) / tol;
      if (!(ratio <= 1)) bad++;
      if (!(ratio <= worst)) {
        worst = ratio;
        worstAt = `[${m}, ${n}]: got ${got[m * N + n]}, expected ${ref.y[m]}`;
      }
      if (again[m * N + n] !== got[m * N + n]) {
        bad++;
        worstAt = `[${m}, ${n}] differs between two calls`;
      }
    }
  }
  const pass = bad === 0 && errors.length === 0 && parts.length > 1;
  say(`checked ${columns.size} columns × ${M} rows against float64: ${bad} outside ${REL_TOL}·Σ|x·w|; worst ${worst.toFixed(3)}× the tolerance at ${worstAt}`);
  if (errors.length) say(`GPU errors: ${errors.join(' | ')}`);
  say(pass ? 'PASS' : 'FAIL');
  const result = {
    date: new Date().toISOString(), limits: {maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, maxBufferSize: limits.maxBufferSize},
    artificialLimit: artificial || null, K, N, M, nnz: w.nnz, valueBytes: vBytes, headerBytes: built.header.byteLength, parts: parts.map((p) => [p.n0, p.N]),
    columnsChecked: columns.size, outside: bad, worstRatio: worst, worstAt, firstCallMs: firstMs, secondCallMs: secondMs, gpuErrors: errors, pass,
  };
  if (process.env.OUT) {
    mkdirSync(process.env.OUT, {recursive: true});
    writeFileSync(join(process.env.OUT, 'big_weight.json'), JSON.stringify(result, null, 2));
  }
  tf.dispose([xt, y, y2]);
  w.dispose();
  return pass ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
