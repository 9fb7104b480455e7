/**
 * Benchmark of issue #3: sparseMatMul (tiled-bitmap weights) against tf.matMul (dense f32) on WebGPU,
 * in Node on Dawn. See bench/NOTES.md for how to run it and what each number means.
 *
 *   npm run bench                                   # SwiftShader, quick sweep (numbers meaningless)
 *   bash bench/prepare.sh                           # bundle into .device/ for the lent GPU
 *   bash .device/setup.sh && .device/node .device/kernels.mjs [flags]
 *
 * Flags: node kernels.mjs --help
 */
import {dawnFlags, gpu} from './webgpu_env.js';  // first: sets navigator.gpu before tfjs-backend-webgpu loads
import * as tf from '@tensorflow/tfjs-core';
import {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {appendFileSync, mkdirSync, renameSync, writeFileSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {join} from 'node:path';
import {SparseMatrix, sparseMatMul} from '../src/index.js';
import {busyAndSpan, measureCopy, median, PassTimer, PassWindow, timerSelfTest} from './gpu_timer.js';
import {ReadBound, ReadResult} from './read_bound.js';
import {BuildResult, BuildTask, runBuildTask} from './build_task.js';
import {WorkerPool} from './worker_pool.js';
import {choice, eachFlag, parseNumbers} from './cli.js';
import {BuildInfo, deviceNames, readBuildInfo} from './run_info.js';
import {randn} from './weights.js';

const T0 = performance.now();
const BATCH_FLAG = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
const KERNEL_NAME = 'SparseMatMul';
const CHECK_TOL = 1e-3;

// ---------------------------------------------------------------------------------------------------
// Arguments

interface Variant {
  label: string;
  flags: Record<string, string | number | boolean>;
}

interface Args {
  quick: boolean;
  M: number[];
  shapes: Array<[number, number]>;
  sparsity: number[];
  out: string;
  budgetS: number;
  iters: number;
  repeats: number;
  phaseS: number;
  sets: number;
  rotateMB: number;
  maxSets: number;
  copyMB: number;
  clockWarmMs: number;
  clockRampMs: number;
  copyReps: number;
  kernels: Set<'sparse' | 'dense'>;
  variants: Variant[] | 'list' | null;
  check: boolean;
  fakeSparse: boolean;
  valueType: 'float16' | 'float32';
  gpuTime: 'batched' | 'iso';
  batch: number | null;
  features: string[];
  tfTime: boolean;
  deviceName: string | null;
  seed: number;
  workers: number;
}

const HELP = `bench/kernels.ts: sparseMatMul vs tf.matMul on WebGPU (Node, Dawn)

  --quick              smoke test, e.g. on SwiftShader: M 1,5,64; 256x256,100x72; 0.5,0.9; 20 iters
  --M 1,4,16           batch rows M                     (default 1,4,16,64,256,1024)
  --shapes 4096x4096   weight shapes KxN                (default 4096x4096,4096x14336,14336x4096,8192x8192)
  --sparsity 0.8       sparsities                       (default 0.5,0.7,0.8,0.9)
  --kernels sparse,dense   which ops to time            (default both)
  --out DIR            output folder                    (default $OUT if set, else bench/results)
  --budget SEC         stop starting new work after SEC seconds of this process (default 420)
  --iters N            ops per timed loop (>= 50)       (default 50; quick: 20)
  --repeats R          max loops per measurement; median is taken (default 5; at least 3 are run)
  --phase-s S          stop repeating a measurement after S seconds once 3 loops ran (default 2; quick: 0.5)
  --sets S             distinct random weight sets per (shape, sparsity) (default 4)
  --rotate-mb MB       add copies of the sets until the rotated weights hold MB (default 256; quick: 0)
  --max-sets N         cap on sets including copies     (default 64)
  --copy-mb MB         size of each buffer of the copy-bandwidth kernel (default 512; quick: 16)
  --copy-reps N        timed copy dispatches            (default 10)
  --clock-warm-ms MS   GPU load before each timed loop, so the driver has not lowered the clocks
                       (default 50; quick: 0)
  --clock-ramp-ms MS   the load instead when the GPU has been idle for over a second
                       (default 400; quick: 0)
  --variants           list the kernel's variant flags (tf.env flags matching /SPARSE/) and exit
  --variants 'FLAG=a,b;FLAG2=c'   also time the sparse op with each flag value (rows in the details file)
  --variants 'FLAG=a&FLAG2=c'     one variant with both flags set
  --no-check           skip the sparse-vs-dense correctness check
  --gpu-time batched|iso  which GPU time goes into gpuUs (default batched; both are printed)
  --batch N            WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE during batched GPU timing (default: TF.js's, 15)
  --value-type float16|float32   stored value type      (default float16)
  --features a,b       extra device features to request if the adapter has them
  --no-tf-time         skip the tf.time() cross-check
  --device-name NAME   override the device name written to the JSON
  --fake-sparse        harness self-test: if no webgpu SparseMatMul kernel is registered, register one
                       that runs tf.matMul on the decoded weights (err must be 0, speedup about 1)
  --seed N             random seed                      (default 1)
  --workers N          threads that build weights       (default: CPU cores, at most 16)
Env: OUT (output folder), BENCH_COMMIT (overrides build-info.json), BENCH_DAWN_FLAGS (extra Dawn flags).`;


function parseShapes(s: string): Array<[number, number]> {
  return s.split(',').map(t => t.trim()).filter(Boolean).map(t => {
    const m = /^(\d+)x(\d+)$/i.exec(t);
    if (!m) throw new Error(`bad shape '${t}', expected KxN like 4096x14336`);
    return [Number(m[1]), Number(m[2])] as [number, number];
  });
}

function parseFlagValue(v: string): string | number | boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

function parseVariants(spec: string): Variant[] {
  const out: Variant[] = [];
  for (const part of spec.split(';').map(p => p.trim()).filter(Boolean)) {
    if (part.includes('&')) {  // one variant with several flags: FLAG=a&FLAG2=b
      const flags: Variant['flags'] = {};
      for (const kv of part.split('&')) {
        const [flag, v] = kv.split('=');
        if (!flag || v == null || v === '' || v.includes(',')) throw new Error(`bad --variants part '${part}', expected FLAG=a&FLAG2=b`);
        flags[flag] = parseFlagValue(v);
      }
      out.push({label: part, flags});
      continue;
    }
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`bad --variants part '${part}', expected FLAG=v1,v2`);
    const flag = part.slice(0, eq);
    for (const v of part.slice(eq + 1).split(',').filter(Boolean)) {
      out.push({label: `${flag}=${v}`, flags: {[flag]: parseFlagValue(v)}});
    }
  }
  return out;
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const a: Args = {
    quick,
    M: quick ? [1, 5, 64] : [1, 4, 16, 64, 256, 1024],
    shapes: quick ? [[256, 256], [100, 72]] : [[4096, 4096], [4096, 14336], [14336, 4096], [8192, 8192]],
    sparsity: quick ? [0.5, 0.9] : [0.5, 0.7, 0.8, 0.9],
    out: process.env.OUT || join('bench', 'results'),
    budgetS: 420,
    iters: quick ? 20 : 50,
    repeats: quick ? 3 : 5,
    phaseS: quick ? 0.5 : 2,
    sets: 4,
    rotateMB: quick ? 0 : 256,
    maxSets: 64,
    copyMB: quick ? 16 : 512,
    clockWarmMs: quick ? 0 : 50,
    clockRampMs: quick ? 0 : 400,
    copyReps: 10,
    kernels: new Set(['sparse', 'dense']),
    variants: null,
    check: true,
    fakeSparse: false,
    valueType: 'float16',
    gpuTime: 'batched',
    batch: null,
    features: [],
    tfTime: true,
    deviceName: null,
    seed: 1,
    workers: Math.max(1, Math.min(16, availableParallelism())),
  };
  eachFlag(argv, (k, val, optional) => {
    switch (k) {
      case '--quick': break;
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      case '--M': a.M = parseNumbers(val(), 'M'); break;
      case '--shapes': a.shapes = parseShapes(val()); break;
      case '--sparsity': a.sparsity = parseNumbers(val(), 'sparsity'); break;
      case '--out': a.out = val(); break;
      case '--budget': a.budgetS = Number(val()); break;
      case '--iters': a.iters = Number(val()); break;
      case '--repeats': a.repeats = Number(val()); break;
      case '--phase-s': a.phaseS = Number(val()); break;
      case '--sets': a.sets = Number(val()); break;
      case '--rotate-mb': a.rotateMB = Number(val()); break;
      case '--max-sets': a.maxSets = Number(val()); break;
      case '--copy-mb': a.copyMB = Number(val()); break;
      case '--copy-reps': a.copyReps = Number(val()); break;
      case '--clock-warm-ms': a.clockWarmMs = Number(val()); break;
      case '--clock-ramp-ms': a.clockRampMs = Number(val()); break;
      case '--kernels': {
        const ks = val().split(',').map(s => s.trim());
        if (ks.some(s => s !== 'sparse' && s !== 'dense')) throw new Error('--kernels takes sparse,dense');
        a.kernels = new Set(ks as Array<'sparse' | 'dense'>);
        break;
      }
      case '--variants': {
        const spec = optional();
        a.variants = spec != null ? parseVariants(spec) : 'list';
        break;
      }
      case '--no-check': a.check = false; break;
      case '--fake-sparse': a.fakeSparse = true; break;
      case '--value-type': a.valueType = choice(k, val(), ['float16', 'float32'] as const); break;
      case '--gpu-time': a.gpuTime = choice(k, val(), ['batched', 'iso'] as const); break;
      case '--batch': a.batch = Number(val()); break;
      case '--features': a.features = val().split(',').filter(Boolean); break;
      case '--no-tf-time': a.tfTime = false; break;
      case '--device-name': a.deviceName = val(); break;
      case '--seed': a.seed = Number(val()); break;
      case '--workers': a.workers = Number(val()); break;
      default: throw new Error(`unknown flag ${k} (see --help)`);
    }
  });
  for (const s of a.sparsity) if (!(s >= 0 && s < 1)) throw new Error(`sparsity ${s} must be in [0, 1)`);
  for (const m of a.M) if (!(Number.isInteger(m) && m >= 1)) throw new Error(`M ${m} must be a positive integer`);
  a.M = [...new Set(a.M)].sort((x, y) => x - y);
  return a;
}

// ---------------------------------------------------------------------------------------------------
// Output: log lines, the main JSON (exact shape of issue #3) and a details JSON, all rewritten as we go.

interface MainRow {
  M: number; K: number; N: number; sparsity: number; kernel: 'sparse' | 'dense';
  gpuUs: number | null; wallUs: number | null; bytes: number;
}

interface DetailRow extends MainRow {
  variant: string | null;
  flops: number;
  floorUs: number | null;
  gpuBatchedUs: number | null;
  gpuIsoUs: number | null;
  gpuSpanUs: number | null;
  tfTimeUs: number | null;
  passesPerOp: number | null;
  nSets: number;
  rotatedBytes: number;
  samples: {batchedUs: number[]; isoUs: number[]; wallUs: number[]; tfTimeUs: number[]; spanUs: number[]};
  /** Sparse rows: a dispatch that only reads the weight's bytes (bench/read_bound.ts), batched and isolated µs. */
  readUs?: number | null;
  readIsoUs?: number | null;
  /** When the case's measurement began and ended (ISO), to line up with a log of the GPU's clocks. */
  startedAt: string;
  endedAt: string;
  check: CheckResult | null;
  gpuErrors: string[];
  notes: string[];
}

interface CheckResult {
  M: number; maxAbsErr: number; maxAbsRef: number; relMax: number; relL2: number; nonFinite: number; ok: boolean;
}

const log: string[] = [];
let logFile: string | null = null;

function say(line = ''): void {
  console.log(line);
  if (logFile) {
    try {
      appendFileSync(logFile, line + '\n');
    } catch { /* keep going without the log file */ }
  } else {
    log.push(line);
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = path + '.tmp';
  writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n');
  renameSync(tmp, path);
}

const r3 = (x: number | null | undefined): number | null =>
  x == null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000;

function fmt(x: number | null | undefined, digits = 1, width = 8): string {
  const s = x == null || !Number.isFinite(x) ? '-' : x >= 1e5 ? x.toExponential(2) : x.toFixed(digits);
  return s.padStart(width);
}

// ---------------------------------------------------------------------------------------------------
// Build info (commit of the measured code), device naming

// ---------------------------------------------------------------------------------------------------
// State

const args = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
})();

let device!: GPUDevice;
let backend!: WebGPUBackend;
let timer: PassTimer | null = null;
let deviceLost: string | null = null;
let mainPath = '';
let detailsPath = '';
let copyGBps: number | null = null;
let readBound: ReadBound | null = null;
const buildInfo = readBuildInfo();
const date = new Date().toISOString().slice(0, 10);
let deviceName = 'unknown';
const details: {
  device: string; date: string; commit: string; buildInfo: BuildInfo; args: unknown; dawnFlags: string[];
  adapterInfo: Record<string, unknown>; features: string[]; limits: Record<string, number>;
  timer: unknown; copy: unknown; kernelRegistered: boolean | null; variantFlags: Record<string, unknown>;
  rows: DetailRow[]; errors: Array<{where: string; message: string}>; skipped: string[];
  builds: Array<Record<string, unknown>>; targets: unknown; finished: boolean; elapsedS: number; warmUpLoopsMs: number[];
} = {
  device: 'unknown', date, commit: buildInfo.commit, buildInfo, args: null, dawnFlags,
  adapterInfo: {}, features: [], limits: {}, timer: null, copy: null, kernelRegistered: null, variantFlags: {},
  rows: [], errors: [], skipped: [], builds: [], targets: null, finished: false, elapsedS: 0, warmUpLoopsMs: [],
};
const mainRows: MainRow[] = [];

function writeOutputs(): void {
  if (!mainPath) return;
  details.elapsedS = r3((performance.now() - T0) / 1000)!;
  try {
    writeJsonAtomic(mainPath, {device: deviceName, date, commit: buildInfo.commit, copyGBps: r3(copyGBps), rows: mainRows});
    writeJsonAtomic(detailsPath, details);
  } catch (e) {
    console.error(`could not write results: ${(e as Error).message}`);
  }
}

function recordError(where: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  details.errors.push({where, message});
  say(`  ERROR ${where}: ${message.split('\n')[0]}`);
}

const elapsedS = () => (performance.now() - T0) / 1000;
const timeLeftS = () => args.budgetS - elapsedS();

class BudgetError extends Error {}

// ---------------------------------------------------------------------------------------------------
// TF.js helpers

/** Submits whatever TF.js has recorded (the sequence the platform notes give for Route B). */
function flush(): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}

/** Moves a tensor's data to the GPU now, so that TF.js never forwards small ops to the CPU. */
function upload<T extends tf.Tensor>(t: T): T {
  backend.uploadToGPU(t.dataId);
  return t;
}

async function drain(): Promise<void> {
  flush();
  await device.queue.onSubmittedWorkDone();
}

/** When the last timed loop or GPU load ended (performance.now()). */
let loadedAt = -Infinity;
/** Seconds of idle after which the driver may have lowered the clocks (run 19: about 1.5 s). */
const IDLE_S = 1;

/**
 * drain(), then --clock-warm-ms of GPU load (read_bound.ts, busy) so that a timed loop starts at full
 * clocks; --clock-ramp-ms after an idle second (weight building, checks): from 345 MHz the clock took
 * 200-300 ms to reach 1980 MHz in run 21, and the first case's first loops ran slow under a 50 ms load.
 */
async function settle(): Promise<void> {
  await drain();
  const idle = (performance.now() - loadedAt) / 1000 > IDLE_S;
  const ms = idle ? Math.max(args.clockWarmMs, args.clockRampMs) : args.clockWarmMs;
  if (readBound && ms > 0) await readBound.busy(ms);
  loadedAt = performance.now();
}

async function withErrorScopes<T>(fn: () => Promise<T>): Promise<{value?: T; error?: unknown; gpuErrors: string[]}> {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let value: T | undefined, error: unknown;
  try {
    value = await fn();
  } catch (e) {
    error = e;
  }
  const gpuErrors: string[] = [];
  for (const kind of ['validation', 'out-of-memory', 'internal']) {
    try {
      const e = await device.popErrorScope();
      if (e) gpuErrors.push(`${kind}: ${e.message}`);
    } catch (e) {
      gpuErrors.push(`${kind}: popErrorScope failed: ${(e as Error).message}`);
    }
  }
  return {value, error, gpuErrors};
}

// ---------------------------------------------------------------------------------------------------
// Measurement of one op

type Op = (i: number) => tf.Tensor;

interface Measurement {
  gpuBatchedUs: number | null;
  gpuIsoUs: number | null;
  gpuSpanUs: number | null;
  wallUs: number;
  tfTimeUs: number | null;
  passesPerOp: number | null;
  samples: DetailRow['samples'];
  notes: string[];
}

/**
 * Runs dense products for WARM_UP_S before the sweep (compiles TF.js's programs, loads the GPU). The
 * loop times are kept in the details file. On its own it did not stop cases from running up to 4x slow:
 * that was the driver's lowered SM clock after idle stretches (run 19's clock log), which settle()
 * before every timed loop now handles.
 */
const WARM_UP_S = 4;
async function warmUp(): Promise<void> {
  if (args.quick) return;  // the SwiftShader smoke run: one loop of these takes 100 s there
  const w = upload(tf.randomNormal([4096, 4096]) as tf.Tensor2D);
  const x = upload(tf.randomNormal([1, 4096]) as tf.Tensor2D);
  const loopsMs: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < WARM_UP_S * 1000) loopsMs.push(r3(await wallLoop(() => tf.matMul(x, w), 0, 50))!);
  tf.dispose([w, x]);
  details.warmUpLoopsMs = loopsMs;
  say(`warm-up: ${loopsMs.length} loops of 50 dense products, ${loopsMs[0]} ms first, ${loopsMs[loopsMs.length - 1]} ms last`);
}

/** Wall time of n ops (each result disposed, the last read with await data()), in ms. */
async function wallLoop(f: Op, start: number, n: number): Promise<number> {
  await settle();
  const t = performance.now();
  let last: tf.Tensor | null = null;
  for (let i = 0; i < n; i++) {
    const y = f(start + i);
    if (i < n - 1) y.dispose();
    else last = y;
  }
  await last!.data();
  const dt = performance.now() - t;
  loadedAt = performance.now();
  last!.dispose();
  return dt;
}

/** n ops with every compute pass timestamped; TF.js batches `batch` dispatches per pass (null: its flag). */
async function gpuLoop(f: Op, start: number, n: number, batch: number | null): Promise<PassWindow> {
  if (!timer) throw new Error('no GPU timer');
  await settle();
  const prev = tf.env().get(BATCH_FLAG);
  if (batch != null) tf.env().set(BATCH_FLAG, batch);
  timer.start();
  let error: unknown = null;
  try {
    for (let i = 0; i < n; i++) f(start + i).dispose();
  } catch (e) {
    error = e;
  }
  try {
    flush();
  } catch (e) {
    error ??= e;
  }
  tf.env().set(BATCH_FLAG, prev);
  const w = await timer.stop();
  loadedAt = performance.now();
  if (error) throw error;
  if (w.overflow) throw new Error(`more than ${timer.capacity / 2} compute passes in one timed loop`);
  if (w.invalid) throw new Error('timestamps out of order or zero');
  return w;
}

async function measure(f: Op, nSets: number): Promise<Measurement> {
  const notes: string[] = [];
  const samples: DetailRow['samples'] = {batchedUs: [], isoUs: [], wallUs: [], tfTimeUs: [], spanUs: []};
  let k = 0;  // rotation index: call i uses set i % nSets, continuing across loops
  // First call alone (includes compiling): give up at once if a single op eats the budget.
  const t1 = performance.now();
  const y0 = f(k++);
  await y0.data();
  y0.dispose();
  const firstS = (performance.now() - t1) / 1000;
  if (firstS * 20 > timeLeftS()) throw new BudgetError(`one call took ${firstS.toFixed(1)} s, ${timeLeftS().toFixed(0)} s left`);
  // Warm-up: touch every set; then estimate the time of one op.
  await wallLoop(f, k, Math.max(nSets, 8));
  k += Math.max(nSets, 8);
  const warmN = 8;
  const opMs = (await wallLoop(f, k, warmN)) / warmN;
  k += warmN;
  const minLoops = 3;
  const predictedS = (opMs * (2 * minLoops * args.iters + 30)) / 1000;
  if (predictedS > timeLeftS()) throw new BudgetError(`needs about ${predictedS.toFixed(1)} s, ${timeLeftS().toFixed(1)} s left`);

  // Wall time per op: loops of `iters` calls; median over loops.
  let t = performance.now();
  for (let r = 0; r < args.repeats; r++) {
    samples.wallUs.push((await wallLoop(f, k, args.iters)) * 1e3 / args.iters);
    k += args.iters;
    if (r + 1 >= minLoops && performance.now() - t > args.phaseS * 1e3) break;
  }

  let gpuBatchedUs: number | null = null, gpuIsoUs: number | null = null, gpuSpanUs: number | null = null;
  let passesPerOp: number | null = null;
  if (timer) {
    // Batched: the op in a loop as TF.js runs it, every pass timestamped; busy time per op.
    t = performance.now();
    for (let r = 0; r < args.repeats; r++) {
      const w = await gpuLoop(f, k, args.iters, args.batch);
      k += args.iters;
      if (w.passes.length === 0) {
        notes.push('no compute pass recorded in the batched loop');
        break;
      }
      const {busyNs, spanNs} = busyAndSpan(w);
      samples.batchedUs.push(busyNs / 1e3 / args.iters);
      samples.spanUs.push(spanNs / 1e3 / args.iters);
      if (r + 1 >= minLoops && performance.now() - t > args.phaseS * 1e3) break;
    }
    // Isolated: one dispatch per pass and submit (batch size 1); per-op sum of its passes.
    const nIso = Math.max(8, Math.min(24, Math.floor(1000 / Math.max(opMs, 1e-3))));
    const w = await gpuLoop(f, k, nIso, 1);
    k += nIso;
    if (w.passes.length > 0 && w.passes.length % nIso === 0) {
      passesPerOp = w.passes.length / nIso;
      for (let i = 0; i < nIso; i++) {
        let s = 0;
        for (let j = 0; j < passesPerOp; j++) {
          const p = w.passes[i * passesPerOp + j]!;
          s += p.end - p.begin;
        }
        samples.isoUs.push(s / 1e3);
      }
    } else if (w.passes.length > 0) {
      notes.push(`isolated loop: ${w.passes.length} passes for ${nIso} ops; reporting the mean`);
      samples.isoUs.push(busyAndSpan(w).busyNs / 1e3 / nIso);
    } else {
      notes.push('no compute pass recorded in the isolated loop');
    }
    gpuBatchedUs = samples.batchedUs.length ? median(samples.batchedUs) : null;
    gpuSpanUs = samples.spanUs.length ? median(samples.spanUs) : null;
    gpuIsoUs = samples.isoUs.length ? median(samples.isoUs) : null;
  }

  // Cross-check with TF.js's own per-dispatch timestamps (tf.time), a few calls.
  let tfTimeUs: number | null = null;
  if (args.tfTime && device.features.has('timestamp-query')) {
    await drain();
    for (let j = 0; j < 3; j++) {
      const idx = k++;
      const info = await tf.time(() => {
        f(idx).dispose();
      });
      if (typeof info.kernelMs === 'number') samples.tfTimeUs.push(info.kernelMs * 1e3);
    }
    tfTimeUs = samples.tfTimeUs.length ? median(samples.tfTimeUs) : null;
  }
  return {gpuBatchedUs, gpuIsoUs, gpuSpanUs, wallUs: median(samples.wallUs), tfTimeUs, passesPerOp, samples, notes};
}

// ---------------------------------------------------------------------------------------------------
// Weights

interface SparseSet {
  sparsity: number;
  distinct: SparseMatrix[];   // args.sets different random matrices
  all: SparseMatrix[];        // distinct plus GPU copies, rotated through
  bytes: number;              // byteSize of distinct[0]
  read?: ReadResult | null;   // the read bound for `bytes`, measured at the set's first case
  checkDense: tf.Tensor2D | null;  // distinct[0].toDense(), made on first check
}

interface ShapeData {
  K: number;
  N: number;
  dense: tf.Tensor2D[];
  sparse: Map<number, SparseSet>;
  failed: string | null;
}

const shapes = new Map<string, ShapeData>();
const fakeDense = new Map<object, tf.Tensor2D>();  // --fake-sparse: values dataId -> dense weight
let sparseAvailable = false;
let pool!: WorkerPool<BuildTask, BuildResult>;
let nextTaskId = 0;

function setsFor(bytesPerSet: number): number {
  const want = Math.ceil((args.rotateMB * 2 ** 20) / Math.max(1, bytesPerSet));
  return Math.max(args.sets, Math.min(args.maxSets, want));
}

async function buildShape(K: number, N: number): Promise<ShapeData> {
  const key = `${K}x${N}`;
  const have = shapes.get(key);
  if (have) return have;
  const sd: ShapeData = {K, N, dense: [], sparse: new Map(), failed: null};
  shapes.set(key, sd);
  const sps = sparseAvailable && args.kernels.has('sparse') ? args.sparsity : [];
  const withDense = args.kernels.has('dense');
  // CPU seconds: a sparse task (generate, prune, encode) about 8e-8 s per weight, a dense one 1.5e-8.
  const tasks = args.sets * (sps.length + (withDense ? 1 : 0));
  const estS = (K * N * args.sets * (8e-8 * sps.length + (withDense ? 1.5e-8 : 0))) / Math.max(1, Math.min(pool.size, tasks)) + 1;
  if (estS > timeLeftS()) throw new BudgetError(`building ${key} needs about ${estS.toFixed(0)} s`);
  const tb = performance.now();
  say(`build ${key}: ${args.sets} random sets${sps.length ? `, pruned to ${sps.join('/')} and encoded (${args.valueType})` : ''}; ` +
      `${tasks} tasks on ${pool.size} ${pool.mode === 'workers' ? 'worker threads' : 'thread (inline)'} (about ${estS.toFixed(0)} s)`);
  const seedOf = (s: number) => args.seed * 1000003 + K * 31 + N * 17 + s;
  const range = [...Array(args.sets).keys()];
  const denseP = withDense ? range.map(s => pool.run({id: nextTaskId++, K, N, seed: seedOf(s), sparsity: null, valueType: args.valueType})) : [];
  const sparseP = sps.map(sp => range.map(s => pool.run({id: nextTaskId++, K, N, seed: seedOf(s), sparsity: sp, valueType: args.valueType})));
  [...denseP, ...sparseP.flat()].forEach(p => p.catch(() => undefined));  // each is awaited below
  const build: Record<string, unknown> = {shape: key, sets: args.sets, workers: pool.size, taskMs: {} as Record<string, number>};
  const taskMs = build.taskMs as Record<string, number>;
  const bases: Float32Array[] = [];
  for (let s = 0; s < denseP.length; s++) {
    const r = await denseP[s]!;
    bases.push(r.base!);
    taskMs[`dense/${s}`] = Math.round(r.ms);
    sd.dense.push(upload(tf.tensor2d(r.base!, [K, N])));
    flush();
  }
  // Dense copies (same values, new GPU buffers) until the rotated weights hold --rotate-mb.
  for (let c = sd.dense.length, n = setsFor(4 * K * N); withDense && c < n; c++) {
    sd.dense.push(upload(tf.tensor2d(bases[c % bases.length]!, [K, N])));
    flush();
  }
  if (withDense) say(`  dense: ${sd.dense.length} sets rotated (${(sd.dense.length * 4 * K * N / 2 ** 20).toFixed(0)} MiB)`);
  for (let j = 0; j < sps.length; j++) {
    const sp = sps[j]!;
    const want = Math.round(sp * K * N);
    const distinct: SparseMatrix[] = [];
    let maxMs = 0;
    for (let s = 0; s < args.sets; s++) {
      const r = await sparseP[j]![s]!;
      if (r.zeros !== want) throw new Error(`pruning ${key} to ${sp}: ${r.zeros} zeros, wanted ${want}`);
      const w = SparseMatrix.fromEncoded(r.encoded!);  // checks every array
      if (w.nnz !== K * N - want) throw new Error(`encoded ${key} at ${sp}: nnz ${w.nnz}, wanted ${K * N - want}`);
      uploadMatrix(w);
      distinct.push(w);
      taskMs[`${sp}/${s}`] = Math.round(r.ms);
      maxMs = Math.max(maxMs, r.ms);
    }
    const bytes = distinct[0]!.byteSize;
    const all = [...distinct];
    for (let c = all.length, n = setsFor(bytes); c < n; c++) {
      const w = SparseMatrix.fromEncoded(distinct[c % distinct.length]!.toEncoded());
      uploadMatrix(w);
      all.push(w);
    }
    sd.sparse.set(sp, {sparsity: sp, distinct, all, bytes, checkDense: null});
    say(`  s=${sp}: ${(bytes / 1e6).toFixed(2)} MB per set (${(bytes / (K * N)).toFixed(3)} B/weight), ` +
        `${all.length} sets rotated (${(all.length * bytes / 2 ** 20).toFixed(0)} MiB); slowest encode task ${(maxMs / 1000).toFixed(1)} s`);
  }
  if (args.fakeSparse && sps.length) {
    for (const set of sd.sparse.values()) {
      const dense = set.distinct.map(w => upload(w.toDense()));
      set.all.forEach((w, i) => fakeDense.set(w.tensors().values.dataId, dense[i % dense.length]!));
    }
  }
  await drain();
  build.seconds = r3((performance.now() - tb) / 1000);
  build.gpuMB = Math.round((backend.memory() as {numBytesInGPU: number}).numBytesInGPU / 2 ** 20);
  details.builds.push(build);
  say(`  built ${key} in ${(build.seconds as number).toFixed(1)} s; TF.js holds ${build.gpuMB} MiB on the GPU`);
  return sd;
}

function uploadMatrix(w: SparseMatrix): void {
  const {header, offsets, values} = w.tensors();
  upload(header);
  upload(offsets);
  upload(values);
  flush();
}

// ---------------------------------------------------------------------------------------------------
// Correctness: sparse vs dense on the same decoded weights, with poisoned output buffers

async function checkCase(M: number, sd: ShapeData, set: SparseSet, seed: number): Promise<CheckResult> {
  const {K, N} = sd;
  if (!set.checkDense) set.checkDense = upload(set.distinct[0]!.toDense());
  const x = upload(tf.tensor2d(randn(M * K, seed), [M, K]));
  flush();
  // Leave NaN-filled buffers of the output's size on top of TF.js's buffer pool, so an output element
  // the kernel does not write reads NaN instead of a stale right answer.
  const poison = [0, 1, 2].map(() => tf.fill([M, N], NaN));
  await poison[2]!.data();
  poison.forEach(p => p.dispose());
  const ys = sparseMatMul(x, set.distinct[0]!);
  const a = await ys.data() as Float32Array;
  const yd = tf.matMul(x, set.checkDense);
  const b = await yd.data() as Float32Array;
  ys.dispose(); yd.dispose(); x.dispose();
  let maxAbsErr = 0, maxAbsRef = 0, se = 0, sr = 0, nonFinite = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    if (!Number.isFinite(a[i]!)) nonFinite++;
    else if (Math.abs(d) > maxAbsErr) maxAbsErr = Math.abs(d);
    if (Math.abs(b[i]!) > maxAbsRef) maxAbsRef = Math.abs(b[i]!);
    se += d * d;
    sr += b[i]! * b[i]!;
  }
  const relMax = maxAbsRef > 0 ? maxAbsErr / maxAbsRef : maxAbsErr;
  const relL2 = sr > 0 ? Math.sqrt(se / sr) : Math.sqrt(se);
  const ok = a.length === b.length && nonFinite === 0 && relMax <= CHECK_TOL;
  return {M, maxAbsErr, maxAbsRef, relMax, relL2: Number.isFinite(relL2) ? relL2 : Infinity, nonFinite, ok};
}

// ---------------------------------------------------------------------------------------------------
// Table

const shortVariant = (v: string) => v.replace(/^TFJS_SPARSE_/, '');
let kernelWidth = 14;
const head = () => `${'M'.padStart(5)} ${'K'.padStart(6)} ${'N'.padStart(6)} ${'spars'.padStart(5)} ${'kernel'.padEnd(kernelWidth)}` +
    `${'gpuUs'.padStart(9)}${'isoUs'.padStart(9)}${'wallUs'.padStart(9)}${'MB'.padStart(8)}${'floorUs'.padStart(9)}` +
    `${'gpu/fl'.padStart(9)}${'xDnsGPU'.padStart(8)}${'xDnsWall'.padStart(9)}  check`;

function tableRow(r: DetailRow, dense: DetailRow | undefined): string {
  const label = r.variant ? `sparse[${shortVariant(r.variant)}]` : r.kernel;
  const sp = r.kernel === 'dense' ? '-' : r.sparsity.toFixed(2);
  const xg = r.kernel === 'sparse' && dense?.gpuUs && r.gpuUs ? dense.gpuUs / r.gpuUs : null;
  const xw = r.kernel === 'sparse' && dense?.wallUs && r.wallUs ? dense.wallUs / r.wallUs : null;
  const chk = r.check ? `${r.check.ok ? 'ok' : 'WRONG'} ${r.check.relMax.toExponential(1)}${r.check.nonFinite ? ` nonfinite=${r.check.nonFinite}` : ''}` : '';
  const err = r.gpuErrors.length ? ' GPU-ERROR' : '';
  return `${String(r.M).padStart(5)} ${String(r.K).padStart(6)} ${String(r.N).padStart(6)} ${sp.padStart(5)} ${label.padEnd(kernelWidth)}` +
      `${fmt(r.gpuUs, 1, 9)}${fmt(r.gpuIsoUs, 1, 9)}${fmt(r.wallUs, 1, 9)}${fmt(r.bytes / 1e6, 1, 8)}${fmt(r.floorUs, 2, 9)}` +
      `${fmt(r.gpuUs && r.floorUs ? r.gpuUs / r.floorUs : null, 2, 9)}${fmt(xg, 2, 8)}${fmt(xw, 2, 9)}  ${chk}${err}`;
}

// ---------------------------------------------------------------------------------------------------
// One case

const denseRows = new Map<string, DetailRow>();  // `${M}x${K}x${N}` -> dense row (default variant)

async function runCase(kind: 'sparse' | 'dense', M: number, sd: ShapeData, x: tf.Tensor2D, set: SparseSet | null, variant: Variant | null): Promise<void> {
  const {K, N} = sd;
  const where = `${kind}${variant ? `[${variant.label}]` : ''} M=${M} ${K}x${N}${set ? ` s=${set.sparsity}` : ''}`;
  if (timeLeftS() < 3) {
    details.skipped.push(`${where} (budget)`);
    return;
  }
  if (deviceLost) {
    details.skipped.push(`${where} (device lost)`);
    return;
  }
  const weights: Array<SparseMatrix | tf.Tensor2D> = kind === 'sparse' ? set!.all : sd.dense;
  const f: Op = kind === 'sparse'
      ? (i => sparseMatMul(x, set!.all[i % set!.all.length]!))
      : (i => tf.matMul(x, sd.dense[i % sd.dense.length]!));
  const prevFlags: Record<string, unknown> = {};
  if (variant) {
    for (const [flag, v] of Object.entries(variant.flags)) {
      prevFlags[flag] = tf.env().get(flag);
      tf.env().set(flag, v);
    }
  }
  try {
    const startedAt = new Date().toISOString();
    const res = await withErrorScopes(() => measure(f, weights.length));
    const endedAt = new Date().toISOString();
    if (res.error instanceof BudgetError) {
      details.skipped.push(`${where} (budget: ${res.error.message})`);
      say(`  skip ${where}: ${res.error.message}`);
      return;
    }
    if (res.error) {
      recordError(where, res.error);
      for (const g of res.gpuErrors) recordError(where, g);
      return;
    }
    const m = res.value!;
    const bytes = kind === 'sparse' ? set!.bytes : 4 * K * N;
    const floorUs = copyGBps ? bytes / (copyGBps * 1e3) : null;
    const gpuUs = args.gpuTime === 'iso' ? m.gpuIsoUs : m.gpuBatchedUs;
    const row: DetailRow = {
      M, K, N, sparsity: set ? set.sparsity : NaN, kernel: kind, gpuUs: r3(gpuUs), wallUs: r3(m.wallUs), bytes,
      variant: variant?.label ?? null, flops: 2 * M * K * N, floorUs: r3(floorUs),
      gpuBatchedUs: r3(m.gpuBatchedUs), gpuIsoUs: r3(m.gpuIsoUs), gpuSpanUs: r3(m.gpuSpanUs), tfTimeUs: r3(m.tfTimeUs),
      passesPerOp: m.passesPerOp, nSets: weights.length,
      rotatedBytes: bytes * weights.length,
      samples: {
        batchedUs: m.samples.batchedUs.map(v => r3(v)!), isoUs: m.samples.isoUs.map(v => r3(v)!),
        wallUs: m.samples.wallUs.map(v => r3(v)!), tfTimeUs: m.samples.tfTimeUs.map(v => r3(v)!),
        spanUs: m.samples.spanUs.map(v => r3(v)!),
      },
      check: null, gpuErrors: res.gpuErrors, notes: m.notes, startedAt, endedAt,
    };
    if (kind === 'sparse' && readBound && set!.read === undefined) {
      const rb = await withErrorScopes(async () => {
        await settle();
        return readBound!.measure(bytes, args.batch ?? tf.env().getNumber(BATCH_FLAG), 60, 5);
      });
      if (rb.error || rb.gpuErrors.length) recordError(`${where} read bound`, rb.error ?? rb.gpuErrors.join('; '));
      set!.read = rb.value ?? null;
    }
    if (kind === 'sparse' && set!.read) {
      row.readUs = r3(set!.read.batchedUs);
      row.readIsoUs = r3(set!.read.isoUs);
    }
    if (kind === 'sparse' && args.check) {
      const c = await withErrorScopes(() => checkCase(M, sd, set!, args.seed * 7919 + M * 131 + K + N));
      if (c.error) recordError(`${where} check`, c.error);
      else row.check = c.value!;
      row.gpuErrors.push(...c.gpuErrors);
    }
    for (const g of row.gpuErrors) recordError(where, g);
    for (const n of row.notes) say(`  note ${where}: ${n}`);
    if (kind === 'dense') {
      denseRows.set(`${M}x${K}x${N}`, row);
      row.sparsity = NaN;
      details.rows.push(row);
      // Dense does not depend on sparsity: one row per sparsity of the sweep, for the main JSON.
      if (!row.gpuErrors.length) {
        for (const sp of args.sparsity) mainRows.push({M, K, N, sparsity: sp, kernel: 'dense', gpuUs: row.gpuUs, wallUs: row.wallUs, bytes});
      }
    } else {
      details.rows.push(row);
      if (!variant && !row.gpuErrors.length) {
        mainRows.push({M, K, N, sparsity: set!.sparsity, kernel: 'sparse', gpuUs: row.gpuUs, wallUs: row.wallUs, bytes});
      }
    }
    say(tableRow(row, denseRows.get(`${M}x${K}x${N}`)));
    writeOutputs();
  } finally {
    for (const [flag, v] of Object.entries(prevFlags)) tf.env().set(flag, v as never);
  }
}

// ---------------------------------------------------------------------------------------------------
// Summary and targets

function summarize(): void {
  const sparse = details.rows.filter(r => r.kernel === 'sparse' && !r.variant && !r.gpuErrors.length);
  const dense = (r: DetailRow) => denseRows.get(`${r.M}x${r.K}x${r.N}`);
  say('');
  say('== sparse by shape and sparsity: gpuUs (gpu/floor, speedup vs dense GPU time) ==');
  const groups = new Map<string, DetailRow[]>();
  for (const r of sparse) {
    const k = `${r.K}x${r.N} s=${r.sparsity}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const [k, rs] of groups) {
    say(`${k.padEnd(18)}| ` + rs.map(r => {
      const d = dense(r);
      const fl = r.gpuUs && r.floorUs ? `${(r.gpuUs / r.floorUs).toFixed(1)}xfl` : '-';
      const x = r.gpuUs && d?.gpuUs ? `${(d.gpuUs / r.gpuUs).toFixed(1)}x` : '-';
      return `M=${r.M} ${r.gpuUs?.toFixed(1) ?? '-'}us (${fl}, ${x})${r.check && !r.check.ok ? ' WRONG' : ''}`;
    }).join(' | '));
  }

  const targets: Record<string, unknown> = {};
  say('');
  say('== targets (issue #3) ==');
  // (a) M=1, 4096x4096, 80%: sparse wall >= 15x faster than dense wall.
  {
    const r = sparse.find(x => x.M === 1 && x.K === 4096 && x.N === 4096 && Math.abs(x.sparsity - 0.8) < 1e-9);
    const d = r && dense(r);
    if (!r || !d || !r.wallUs || !d.wallUs) {
      say('(a) M=1 4096x4096 80%: sparse wall >= 15x faster than dense wall: NOT RUN');
      targets.a = {status: 'not run'};
    } else {
      const x = d.wallUs / r.wallUs;
      const pass = x >= 15;
      say(`(a) M=1 4096x4096 80%: sparse wall ${r.wallUs.toFixed(1)} us vs dense ${d.wallUs.toFixed(1)} us = ${x.toFixed(1)}x (need >= 15x): ${pass ? 'PASS' : 'FAIL'}`);
      targets.a = {status: pass ? 'pass' : 'fail', speedup: r3(x)};
    }
  }
  // (b) big shapes, 50-90%: gpu <= 1.5 floor for M <= 4, <= 2.5 floor for M = 16.
  {
    const big = (r: DetailRow) => (r.K === 4096 && r.N === 14336) || (r.K === 14336 && r.N === 4096) || (r.K === 8192 && r.N === 8192);
    const rs = sparse.filter(r => big(r) && r.sparsity >= 0.5 - 1e-9 && r.sparsity <= 0.9 + 1e-9 && (r.M <= 4 || r.M === 16));
    const fails: string[] = [];
    let measured = 0;
    for (const r of rs) {
      if (r.gpuUs == null || r.floorUs == null) continue;
      measured++;
      const lim = r.M <= 4 ? 1.5 : 2.5;
      const read = r.readUs != null ? `; reading its bytes alone ${(r.readUs / r.floorUs).toFixed(2)}x` : '';
      if (r.gpuUs > lim * r.floorUs) fails.push(`M=${r.M} ${r.K}x${r.N} s=${r.sparsity}: ${(r.gpuUs / r.floorUs).toFixed(2)}x floor (limit ${lim}${read})`);
    }
    // The read bound (bench/read_bound.ts): cases where a dispatch that only reads the weight takes longer
    // than the target allows cannot pass by any one-dispatch kernel.
    const bound = new Map<string, DetailRow>();
    for (const r of rs) if (r.readUs != null && r.floorUs != null) bound.set(`${r.K}x${r.N} s=${r.sparsity}`, r);
    const over = [...bound.values()].filter(r => r.readUs! > 1.5 * r.floorUs!);
    if (bound.size) {
      const ratios = [...bound.values()].map(r => r.readUs! / r.floorUs!);
      say(`    read bound: a dispatch that only reads the weight takes ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x ` +
          `the floor; over 1.5x in ${over.length} of ${bound.size} (shape, sparsity): ${over.map(r => `${r.K}x${r.N} s=${r.sparsity}`).join(', ') || 'none'}`);
    }
    const status = measured === 0 ? 'not run' : fails.length ? 'fail' : 'pass';
    say(`(b) 4096x14336/14336x4096/8192x8192, 50-90%: gpu <= 1.5x floor (M<=4), <= 2.5x (M=16): ${status.toUpperCase()} ` +
        `(${measured - fails.length}/${measured} cases pass)`);
    for (const f of fails.slice(0, 12)) say(`    ${f}`);
    if (fails.length > 12) say(`    ... ${fails.length - 12} more`);
    targets.b = {status, measured, fails, readBoundOver15: over.map(r => `${r.K}x${r.N} s=${r.sparsity}`)};
  }
  // (c) M >= 256: sparse gpu <= dense gpu.
  {
    const fails: string[] = [];
    let measured = 0;
    for (const r of sparse.filter(x => x.M >= 256)) {
      const d = dense(r);
      if (r.gpuUs == null || !d || d.gpuUs == null) continue;
      measured++;
      if (r.gpuUs > d.gpuUs) fails.push(`M=${r.M} ${r.K}x${r.N} s=${r.sparsity}: sparse ${r.gpuUs.toFixed(0)} us > dense ${d.gpuUs.toFixed(0)} us`);
    }
    const status = measured === 0 ? 'not run' : fails.length ? 'fail' : 'pass';
    say(`(c) M>=256: sparse GPU time <= dense GPU time: ${status.toUpperCase()} (${measured - fails.length}/${measured} cases pass)`);
    for (const f of fails.slice(0, 12)) say(`    ${f}`);
    if (fails.length > 12) say(`    ... ${fails.length - 12} more`);
    targets.c = {status, measured, fails};
  }
  // Correctness.
  {
    const checked = details.rows.filter(r => r.check);
    const bad = checked.filter(r => !r.check!.ok);
    const worst = checked.reduce((m, r) => Math.max(m, r.check!.relMax), 0);
    const status = checked.length === 0 ? 'not run' : bad.length ? 'fail' : 'pass';
    say(`(check) sparse vs dense on the same decoded weights, max|err|/max|ref| <= ${CHECK_TOL}: ${status.toUpperCase()} ` +
        `(${checked.length - bad.length}/${checked.length} ok, worst ${worst.toExponential(2)})`);
    for (const r of bad.slice(0, 12)) {
      say(`    WRONG M=${r.M} ${r.K}x${r.N} s=${r.sparsity}${r.variant ? ` [${r.variant}]` : ''}: relMax ${r.check!.relMax.toExponential(2)}, non-finite ${r.check!.nonFinite}`);
    }
    targets.check = {status, checked: checked.length, wrong: bad.length, worstRelMax: worst};
  }
  if (details.errors.length) say(`errors: ${details.errors.length} (see the details file)`);
  if (details.skipped.length) {
    say(`skipped: ${details.skipped.length} cases, e.g. ${details.skipped.slice(0, 3).join('; ')}`);
  }
  details.targets = targets;
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  details.args = {...args, kernels: [...args.kernels]};
  const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
  if (!adapter) {
    console.error('no WebGPU adapter (locally: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; see bench/NOTES.md)');
    return 1;
  }
  const info = adapter.info;
  const names = deviceNames(info, args.deviceName);
  deviceName = names.name;
  details.device = deviceName;
  details.adapterInfo = {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    subgroupMinSize: (info as unknown as {subgroupMinSize?: number}).subgroupMinSize,
    subgroupMaxSize: (info as unknown as {subgroupMaxSize?: number}).subgroupMaxSize,
  };

  mkdirSync(args.out, {recursive: true});
  mainPath = join(args.out, `${date}-${names.slug}.json`);
  detailsPath = join(args.out, `${date}-${names.slug}.details.json`);
  logFile = join(args.out, `${date}-${names.slug}.log`);
  writeFileSync(logFile, log.join('\n') + (log.length ? '\n' : ''));

  const wanted = ['timestamp-query', 'subgroups', 'bgra8unorm-storage', ...args.features];
  const requiredFeatures = [...new Set(wanted)].filter(f => adapter.features.has(f)) as GPUFeatureName[];
  const L = adapter.limits as unknown as Record<string, number>;
  const limitNames = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize',
    'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ',
    'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'];
  const requiredLimits: Record<string, number> = {};
  for (const k of limitNames) if (typeof L[k] === 'number') requiredLimits[k] = L[k]!;
  device = await adapter.requestDevice({requiredFeatures, requiredLimits});
  details.features = [...device.features];
  details.limits = requiredLimits;
  void device.lost.then(i => {
    deviceLost = `${i.reason}: ${i.message}`;
    say(`DEVICE LOST: ${deviceLost}`);
  });
  try {
    (device as unknown as {onuncapturederror: (e: {error: {message: string}}) => void}).onuncapturederror = e => {
      details.errors.push({where: 'uncaptured', message: e.error.message});
      say(`  GPU uncaptured error: ${e.error.message.split('\n')[0]}`);
    };
  } catch { /* not supported */ }

  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => new WebGPUBackend(device, info), 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend(webgpu) failed');
  backend = tf.backend() as WebGPUBackend;
  pool = new WorkerPool(new URL('./encode_worker.mjs', import.meta.url), args.workers, runBuildTask);

  say(`tfjs-sparse kernel benchmark  ${new Date().toISOString()}`);
  say(`device: ${deviceName}  (vendor '${info.vendor}', architecture '${info.architecture}', device '${info.device}', description '${info.description}')`);
  say(`features: ${details.features.join(', ')}`);
  say(`limits: storage binding ${(requiredLimits.maxStorageBufferBindingSize ?? 0) / 2 ** 20} MiB, workgroup storage ${requiredLimits.maxComputeWorkgroupStorageSize} B, ` +
      `invocations ${requiredLimits.maxComputeInvocationsPerWorkgroup}, storage buffers/stage ${requiredLimits.maxStorageBuffersPerShaderStage}`);
  say(`dawn flags: ${dawnFlags.join(' ')}`);
  say(`commit: ${buildInfo.commit}${buildInfo.dirty?.length ? `  (uncommitted: ${buildInfo.dirty.join(', ')})` : ''}  [${buildInfo.source}]`);
  say(`sweep: M ${args.M.join(',')} | shapes ${args.shapes.map(s => s.join('x')).join(',')} | sparsity ${args.sparsity.join(',')} | ` +
      `kernels ${[...args.kernels].join(',')} | iters ${args.iters} | budget ${args.budgetS} s | gpuUs = ${args.gpuTime}`);
  if (args.iters < 50 && !args.quick) say(`warning: --iters ${args.iters} < 50 (issue #3 asks for loops of at least 50 calls)`);
  say(`output: ${mainPath}`);
  writeOutputs();

  // GPU timer: install, check that it sees passes, and that timestamps are not quantized.
  if (device.features.has('timestamp-query')) {
    timer = new PassTimer(device);
    timer.install();
    let st = await timerSelfTest(device, timer);
    if (st.passesSeen === 0) {
      timer.installOnDevice();
      st = await timerSelfTest(device, timer);
    }
    details.timer = st;
    if (st.passesSeen === 0 || st.invalid) {
      say(`GPU timer: self-test failed (${JSON.stringify(st)}); GPU times will be missing`);
      timer = null;
    } else {
      say(`GPU timer: ok (${st.passesSeen} passes seen; raw timestamps are multiples of ${st.granularityNs} ns)`);
      if (st.granularityNs >= 1024) say(`WARNING: timestamps look quantized to ${st.granularityNs} ns: per-op GPU times below that are noise`);
    }
  } else {
    say('GPU timer: the device has no timestamp-query; GPU times will be missing');
  }

  // The sparse kernel, its variant flags.
  const registered = tf.getKernel(KERNEL_NAME, 'webgpu') != null;
  details.kernelRegistered = registered;
  const flagRegistry = (tf.env() as unknown as {flagRegistry: Record<string, unknown>}).flagRegistry ?? {};
  const variantFlags: Record<string, unknown> = {};
  for (const name of Object.keys(flagRegistry).filter(n => /SPARSE/i.test(n))) {
    try {
      variantFlags[name] = tf.env().get(name);
    } catch (e) {
      variantFlags[name] = `(error: ${(e as Error).message})`;
    }
  }
  details.variantFlags = variantFlags;
  const sparseKernels = tf.getKernelsForBackend('webgpu').map(k => k.kernelName).filter(n => /sparse/i.test(n));
  say(`webgpu ${KERNEL_NAME} kernel: ${registered ? 'registered' : 'NOT registered'}; sparse kernels on webgpu: ${sparseKernels.join(', ') || 'none'}; ` +
      `variant flags: ${Object.keys(variantFlags).length ? Object.entries(variantFlags).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') : 'none'}`);
  if (args.variants === 'list') {
    say('(--variants without a spec: listed the flags above; time them with --variants \'FLAG=a,b\')');
    details.finished = true;
    writeOutputs();
    return 0;
  }

  // Copy bandwidth.
  if (timer) {
    const maxBuf = Math.min(requiredLimits.maxStorageBufferBindingSize ?? 2 ** 27, requiredLimits.maxBufferSize ?? 2 ** 27);
    const bytes = Math.min(args.copyMB * 2 ** 20, maxBuf);
    await drain();
    const c = await withErrorScopes(() => measureCopy(device, timer!, bytes, args.copyReps));
    if (c.error || c.gpuErrors.length) {
      recordError('copy bandwidth', c.error ?? c.gpuErrors.join('; '));
    } else {
      const cr = c.value!;
      copyGBps = cr.GBps;
      details.copy = cr;
      say(`copy bandwidth: ${cr.GBps.toFixed(0)} GB/s (read+write; vec4 copy of ${(cr.bytesPerBuffer / 2 ** 20).toFixed(0)} MiB, ` +
          `${(cr.bytesMovedPerDispatch / 1e9).toFixed(2)} GB moved per dispatch, median of ${cr.samplesUs.length}: ` +
          `${median(cr.samplesUs).toFixed(1)} us; check ${cr.verified ? 'ok' : 'FAILED'})`);
      if (!cr.verified) recordError('copy bandwidth', 'copy result check failed');
    }
    writeOutputs();
    // The read bound's pool: twice the rotation, so that the ranges read in turn do not fit in L2.
    const poolBytes = Math.min(2 * Math.max(args.rotateMB, 8) * 2 ** 20, maxBuf);
    const rb = await withErrorScopes(async () => new ReadBound(device, timer!, poolBytes));
    if (rb.error || rb.gpuErrors.length) recordError('read bound', rb.error ?? rb.gpuErrors.join('; '));
    else readBound = rb.value!;
  }

  sparseAvailable = registered;
  if (!registered && args.fakeSparse) {
    tf.registerKernel({
      kernelName: KERNEL_NAME, backendName: 'webgpu',
      kernelFunc: ({inputs, backend: b, attrs}) => {
        const wd = fakeDense.get((inputs as Record<string, tf.TensorInfo>).values!.dataId);
        if (!wd) throw new Error('fake SparseMatMul: unknown weight');
        const a = attrs as unknown as {transposeX: boolean; transposeW: boolean};
        return tf.getKernel('BatchMatMul', 'webgpu')!.kernelFunc({
          inputs: {a: (inputs as Record<string, tf.TensorInfo>).x!, b: wd}, backend: b,
          attrs: {transposeA: a.transposeX, transposeB: a.transposeW},
        }) as tf.TensorInfo;
      },
    });
    sparseAvailable = true;
    say('SELF-TEST MODE (--fake-sparse): "sparse" rows are tf.matMul on the decoded weights, not the sparse kernel');
    details.errors.push({where: 'mode', message: 'fake-sparse self-test: sparse rows are not the sparse kernel'});
  }
  if (args.kernels.has('sparse') && !sparseAvailable) {
    say(`sparse cases skipped: no webgpu ${KERNEL_NAME} kernel (src/kernels/register_webgpu.ts not imported by src/index.ts yet?)`);
  }
  const variants = Array.isArray(args.variants) ? args.variants : [];

  await warmUp();

  // Sweep: M ascending, so that a budget stop drops the large-M cases and keeps the small-M targets.
  for (const v of variants) kernelWidth = Math.max(kernelWidth, `sparse[${shortVariant(v.label)}]`.length + 1);
  say('');
  say(head());
  for (const M of args.M) {
    for (const [K, N] of args.shapes) {
      const key = `${K}x${N}`;
      if (timeLeftS() < 3 || deviceLost) {
        details.skipped.push(`M=${M} ${key} (${deviceLost ? 'device lost' : 'budget'})`);
        continue;
      }
      let sd: ShapeData;
      try {
        sd = shapes.get(key) ?? await buildShape(K, N);
      } catch (e) {
        const s = shapes.get(key);
        if (s) s.failed = (e as Error).message;
        if (e instanceof BudgetError) {
          details.skipped.push(`M=${M} ${key} (budget: ${e.message})`);
          say(`  skip ${key}: ${e.message}`);
        } else {
          recordError(`build ${key}`, e);
        }
        continue;
      }
      if (sd.failed) {
        details.skipped.push(`M=${M} ${key} (build failed)`);
        continue;
      }
      const x = upload(tf.tensor2d(randn(M * K, args.seed * 31 + M), [M, K]));
      flush();
      try {
        if (args.kernels.has('dense')) await runCase('dense', M, sd, x, null, null);
        if (args.kernels.has('sparse') && sparseAvailable) {
          for (const sp of args.sparsity) {
            const set = sd.sparse.get(sp);
            if (!set) continue;
            await runCase('sparse', M, sd, x, set, null);
            for (const v of variants) await runCase('sparse', M, sd, x, set, v);
          }
        }
      } finally {
        x.dispose();
      }
    }
  }
  summarize();
  details.finished = true;
  writeOutputs();
  say('');
  say(`wrote ${mainPath} (${mainRows.length} rows), ${detailsPath}, ${logFile}; ${elapsedS().toFixed(0)} s`);
  return 0;
}

const watchdog = setTimeout(() => {
  say(`watchdog: ${args.budgetS + 90} s passed; writing what there is and exiting`);
  try {
    summarize();
  } catch { /* ignore */ }
  writeOutputs();
  process.exit(3);
}, (args.budgetS + 90) * 1000);

process.on('unhandledRejection', e => {
  recordError('unhandled rejection', e);
  writeOutputs();
});

main().then(code => {
  clearTimeout(watchdog);
  process.exit(code);
}, e => {
  recordError('fatal', e);
  console.error(e);
  try {
    summarize();
  } catch { /* ignore */ }
  writeOutputs();
  process.exit(1);
});
