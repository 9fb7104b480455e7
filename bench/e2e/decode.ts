/**
 * End-to-end benchmark of issue #6: greedy decoding with a GPT-style decoder whose projections,
 * embedding and LM head are sparse (sparseMatMul, sparseGather) against the same model dense on TF.js
 * (tf.fused.matMul, tf.gather), in one run, in Node on Dawn. See bench/e2e/NOTES.md.
 *
 *   bash bench/e2e/run.sh --config tiny               # here, SwiftShader: checks that it runs
 *   bash bench/e2e/prepare.sh                         # bundle into .device/ for the lent GPU
 *   bash .device/setup.sh && .device/node .device/decode.mjs [flags]
 *
 * Flags: node decode.mjs --help
 */
import {dawnFlags, gpu} from '../webgpu_env.js';  // first: sets navigator.gpu before tfjs-backend-webgpu loads
import * as tf from '@tensorflow/tfjs-core';
import {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {appendFileSync, mkdirSync, renameSync, writeFileSync} from 'node:fs';
import {availableParallelism, cpus} from 'node:os';
import {join} from 'node:path';
import {SparseMatrix, ValueType} from '../../src/index.js';
import {busyAndSpan, PassTimer, timerSelfTest} from '../gpu_timer.js';
import {choice, eachFlag, parseNumbers} from '../cli.js';
import {deviceNames, readBuildInfo} from '../run_info.js';
import {CONFIGS, DecoderConfig} from './config.js';
import {Counts, DispatchLabel, Instruments, projectionsInOrder} from './instrument.js';
import {Decoder, KVCache} from './model.js';
import {buildParams} from './params.js';
import {WorkerPool} from '../worker_pool.js';
import {runWeightTask, WeightResult, WeightTask} from './weight_tasks.js';
import {prunedCount, specSize, TensorSpec, weightSpecs} from './weights.js';

type WeightPool = WorkerPool<WeightTask, WeightResult>;

const T0 = performance.now();
const BATCH_FLAG = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
/** Passes one timed window may hold (a query set holds at most 4096 timestamps). */
const MAX_TIMED_PASSES = 2000;

// ---------------------------------------------------------------------------------------------------
// Arguments

interface Args {
  configs: string[];
  sparsities: number[];
  batches: number[];
  prompt: number;
  newTokens: number;
  prefillLens: number[];
  prefillBatches: number[];
  valueType: ValueType;
  budgetS: number;
  out: string;
  seed: number;
  workers: number;
  /** Steps the host's token read trails the recording by; 0 reads each step's tokens at once. */
  lag: number;
  /** Timed generations per decode run; the median is reported. */
  repeats: number;
  tfFlags: Array<[string, string | number | boolean]>;
  profile: boolean;
  deviceName: string | null;
}

const HELP = `bench/e2e/decode.ts: greedy decoding, sparse vs dense TF.js, on WebGPU (Node, Dawn)

  --config 7b-slice,small   configs, in order (default 7b-slice,small; also tiny, tiny-llama)
  --sparsity 0,0.8,...      sparsities, in order; 0 is the dense model (default 0,0.8,0.9,0.7,0.5)
  --batch 1,8               decode batches (default 1,8)
  --prompt 128              prompt tokens of the decode runs (default 128)
  --new-tokens 128          tokens generated per sequence, the first by the prefill (default 128)
  --prefill 512             prompt lengths of the prefill-only runs; 'none' for none (default 512)
  --prefill-batch 1         batches of the prefill-only runs (default 1,8)
  --value-type float16      sparse value type: float16 or float32 (default float16)
  --budget 420              seconds after which no new run starts (default 420; a watchdog exits 90 s later)
  --out DIR                 output folder (default $OUT, else bench/results)
  --seed 1                  weight and prompt seed (default 1)
  --workers N               threads that draw and encode weights (default: cores, at most 16)
  --lag 1                   steps the host's token read trails the recording (default 1; 0 reads each
                            step's tokens before recording the next)
  --repeats 5               timed generations per decode run, median reported (default 5)
  --tf-flag NAME=VALUE      set a tf.env() flag for the whole run, repeatable, e.g.
                            WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64 (TF.js's default is 15) or
                            TFJS_SPARSE_TARGET_WORKGROUPS=256 (when the sparse kernel splits K)
  --no-profile              skip op counts, GPU timing and the matmul-only loop
  --device-name NAME        device name written to the JSON
Env: OUT, BENCH_COMMIT, BENCH_DAWN_FLAGS.`;


function parseArgs(argv: string[]): Args {
  const a: Args = {
    configs: ['7b-slice', 'small'], sparsities: [0, 0.8, 0.9, 0.7, 0.5], batches: [1, 8], prompt: 128, newTokens: 128,
    prefillLens: [512], prefillBatches: [1, 8], valueType: 'float16', budgetS: 420,
    out: process.env.OUT || join('bench', 'results'), seed: 1,
    workers: Math.max(1, Math.min(16, availableParallelism())), lag: 1, repeats: 5, tfFlags: [], profile: true,
    deviceName: null,
  };
  eachFlag(argv, (k, val) => {
    switch (k) {
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      case '--config': a.configs = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--sparsity': a.sparsities = parseNumbers(val(), 'sparsity'); break;
      case '--batch': a.batches = parseNumbers(val(), 'batch'); break;
      case '--prompt': a.prompt = Number(val()); break;
      case '--new-tokens': a.newTokens = Number(val()); break;
      case '--prefill': {
        const v = val();
        a.prefillLens = v === 'none' ? [] : parseNumbers(v, 'prefill');
        break;
      }
      case '--prefill-batch': a.prefillBatches = parseNumbers(val(), 'prefill batch'); break;
      case '--value-type': a.valueType = choice(k, val(), ['float16', 'float32'] as const); break;
      case '--budget': a.budgetS = Number(val()); break;
      case '--out': a.out = val(); break;
      case '--seed': a.seed = Number(val()); break;
      case '--workers': a.workers = Number(val()); break;
      case '--lag': a.lag = Number(val()); break;
      case '--repeats': a.repeats = Number(val()); break;
      case '--tf-flag': {
        const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(val());
        if (!m) throw new Error('--tf-flag takes NAME=VALUE');
        const v = m[2]!;
        a.tfFlags.push([m[1]!, v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) && v !== '' ? Number(v) : v]);
        break;
      }
      case '--no-profile': a.profile = false; break;
      case '--device-name': a.deviceName = val(); break;
      default: throw new Error(`unknown flag ${k} (see --help)`);
    }
  });
  for (const c of a.configs) if (!CONFIGS[c]) throw new Error(`unknown config '${c}'; known: ${Object.keys(CONFIGS).join(', ')}`);
  for (const s of a.sparsities) if (!(s >= 0 && s < 1)) throw new Error(`sparsity ${s} must be in [0, 1)`);
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  for (const b of [...a.batches, ...a.prefillBatches, ...a.prefillLens, a.prompt]) {
    if (!positive(b)) throw new Error(`batches, prompt and prefill lengths must be positive integers, got ${b}`);
  }
  if (!(Number.isInteger(a.repeats) && a.repeats >= 1)) throw new Error(`--repeats must be an integer ≥ 1, got ${a.repeats}`);
  if (!(Number.isInteger(a.lag) && a.lag >= 0)) throw new Error(`--lag must be an integer ≥ 0, got ${a.lag}`);
  if (!(Number.isInteger(a.newTokens) && a.newTokens >= 2)) throw new Error(`--new-tokens must be an integer ≥ 2, got ${a.newTokens}`);
  return a;
}

// ---------------------------------------------------------------------------------------------------
// Output

/** One measured run. The first eight fields are the issue's; the rest say where the time goes. */
interface Row {
  config: string;
  batch: number;
  promptLen: number;
  /** Tokens generated per sequence (the first by the prefill); 0 for a prefill-only run. */
  newTokens: number;
  /** 0: the dense TF.js model. */
  sparsity: number;
  /**
   * Tokens per second of all B sequences together over the decode steps (after the prefill): the
   * median of `decodeTokPerSRuns`.
   */
  decodeTokPerS: number | null;
  /** Every timed generation's tokens per second. */
  decodeTokPerSRuns?: number[];
  prefillMs: number;
  /** Bytes of every parameter on the GPU (sparse: header, offsets and values; biases, positions f32). */
  weightBytes: number;
  mode: 'dense' | 'sparse';
  /** Wall time of one decode step (B tokens). */
  stepMs?: number;
  /** decodeTokPerS over the dense model's, same config and batch. */
  speedupVsDense?: number | null;
  /** CPU time spent recording one step (TF.js ops), without waiting for the GPU. */
  cpuRecordMsPerStep?: number;
  /** Engine kernel calls per step (every TF.js op, reshapes included). */
  opsPerStep?: number;
  /** GPU dispatches per step, and how many of them belong to the projections (matmuls). */
  dispatchesPerStep?: number;
  matmulDispatchesPerStep?: number;
  /** GPU busy time per step as TF.js batches it (sum of timestamped pass durations). */
  gpuMsPerStep?: number | null;
  /** GPU time per step with one dispatch per pass: the projections' dispatches and all others. */
  gpuMatmulMsPerStep?: number | null;
  gpuOtherMsPerStep?: number | null;
  /** Wall time per step of the step's projections alone (same shapes, same order): the matmul time. */
  matmulOnlyMsPerStep?: number;
  /** stepMs − matmulOnlyMsPerStep: everything else. */
  otherMsPerStep?: number;
  kvCacheBytes?: number;
  /** The last generated tokens were valid ids (a cheap check that the run computed something). */
  tokensOk?: boolean;
}

const args = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
})();
const buildInfo = readBuildInfo();
const date = new Date().toISOString().slice(0, 10);
const rows: Row[] = [];
const details: {
  args: Args; dawnFlags: string[]; buildInfo: unknown; adapter: Record<string, unknown>; timer: unknown;
  builds: Array<Record<string, unknown>>; steps: Array<Record<string, unknown>>; errors: string[]; skipped: string[];
  target: unknown; elapsedS: number; finished: boolean;
} = {args, dawnFlags, buildInfo, adapter: {}, timer: null, builds: [], steps: [], errors: [], skipped: [], target: null, elapsedS: 0, finished: false};
let deviceName = 'unknown';
let mainPath = '', detailsPath = '', logFile = '';
const elapsedS = () => (performance.now() - T0) / 1000;
const timeLeftS = () => args.budgetS - elapsedS();

function say(line = ''): void {
  const stamped = `[${elapsedS().toFixed(1).padStart(6)} s] ${line}`;
  console.log(stamped);
  if (logFile) {
    try {
      appendFileSync(logFile, stamped + '\n');
    } catch { /* keep going without the log */ }
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path + '.tmp', JSON.stringify(value, null, 1) + '\n');
  renameSync(path + '.tmp', path);
}

function writeOutputs(): void {
  if (!mainPath) return;
  details.elapsedS = Math.round(elapsedS());
  try {
    // Batch-1 decoding is bound by the host's CPU, which differs between lent machines of one GPU kind.
    writeJson(mainPath, {device: deviceName, date, commit: buildInfo.commit, hostCpu: cpus()[0]?.model ?? 'unknown', rows});
    writeJson(detailsPath, details);
  } catch (e) {
    console.error(`could not write results: ${(e as Error).message}`);
  }
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------------
// GPU helpers

let device!: GPUDevice;
let backend!: WebGPUBackend;
let timer: PassTimer | null = null;

function flush(): void {
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
}

async function drain(): Promise<void> {
  flush();
  await device.queue.onSubmittedWorkDone();
}

/** Random token ids [n] from a seed. */
function randomIds(n: number, vocab: number, seed: number): tf.Tensor1D {
  let s = (seed * 2654435761) >>> 0 || 1;
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    ids[i] = (s >>> 0) % vocab;
  }
  return tf.tensor1d(ids, 'int32');
}

// ---------------------------------------------------------------------------------------------------
// Decoding

interface Generation {
  prefillMs: number;
  decodeMs: number;
  recordMs: number;
  steps: number;
  tokensOk: boolean;
}

/**
 * Prefill, then `steps` greedy decode steps. Each step's token ids feed the next step on the GPU; the
 * host reads every step's tokens, `--lag` steps behind (1 by default), as a streaming generator would.
 */
async function generate(model: Decoder, cache: KVCache, prompt: tf.Tensor1D, steps: number): Promise<Generation> {
  cache.length = 0;
  await drain();
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  let prev = model.next(prompt, cache);
  await prev.data();
  const t1 = performance.now();
  // A step's tokens stay alive until the step after it is recorded and their read has come back.
  const pending: Array<{tokens: tf.Tensor1D, read: Promise<unknown>}> = [];
  let recordMs = 0;
  for (let s = 0; s < steps; s++) {
    const r0 = performance.now();
    const next = model.next(prev, cache);
    recordMs += performance.now() - r0;
    if (!pending.some((p) => p.tokens === prev)) prev.dispose();  // used, and read already
    pending.push({tokens: next, read: next.data()});
    while (pending.length > args.lag) {
      const {tokens, read} = pending.shift()!;
      await read;
      if (tokens !== next) tokens.dispose();
    }
    prev = next;
  }
  for (const {tokens, read} of pending) {
    await read;
    if (tokens !== prev) tokens.dispose();
  }
  const last = await prev.data();
  const t2 = performance.now();
  prev.dispose();
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) throw new Error(`generate left ${leaked} tensors`);
  const tokensOk = Array.from(last).every((t) => Number.isInteger(t) && t >= 0 && t < model.config.vocab);
  return {prefillMs: t1 - t0, decodeMs: t2 - t1, recordMs, steps, tokensOk};
}

/** Runs `steps` decode steps after the prompt, recording only (no reads); returns the last tokens. */
function recordSteps(model: Decoder, cache: KVCache, first: tf.Tensor1D, steps: number): tf.Tensor1D {
  let prev = first.clone();
  for (let s = 0; s < steps; s++) {
    const next = model.next(prev, cache);
    prev.dispose();
    prev = next;
  }
  return prev;
}

interface Profile {
  counts: Counts;
  gpuMsPerStep: number | null;
  gpuMatmulMsPerStep: number | null;
  gpuOtherMsPerStep: number | null;
  gpuByProgram: Record<string, number>;
  matmulOnlyMsPerStep: number;
}

/** Op counts, GPU time (batched, then one dispatch per pass, labelled) and the matmul-only loop. */
async function profileDecode(model: Decoder, instruments: Instruments, cache: KVCache, B: number): Promise<Profile> {
  const promptLen = args.prompt;
  const maxSteps = args.newTokens - 1;
  const token = tf.zeros([B], 'int32') as tf.Tensor1D;
  // Op counts of one step.
  cache.length = promptLen;
  const {value: t1, counts} = instruments.count(() => model.next(token, cache));
  await t1.data();
  t1.dispose();

  let gpuMsPerStep: number | null = null, gpuMatmulMsPerStep: number | null = null, gpuOtherMsPerStep: number | null = null;
  const gpuByProgram: Record<string, number> = {};
  if (timer) {
    // Batched, as in the timed run: busy time of all passes.
    const passesPerStep = Math.max(1, counts.dispatches / Number(tf.env().get(BATCH_FLAG)));
    const n = Math.max(1, Math.min(maxSteps, Math.floor(MAX_TIMED_PASSES / (passesPerStep + 1))));
    cache.length = promptLen;
    await drain();
    timer.start();
    const last = recordSteps(model, cache, token, n);
    flush();
    const w = await timer.stop();
    await last.data();
    last.dispose();
    if (!w.overflow && !w.invalid && w.passes.length) gpuMsPerStep = busyAndSpan(w).busyNs / 1e6 / n;
    // One dispatch per pass: each pass labelled by its program and whether a projection ran it.
    const m = Math.max(1, Math.min(maxSteps, Math.floor(MAX_TIMED_PASSES / counts.dispatches)));
    const prevBatch = tf.env().get(BATCH_FLAG);
    tf.env().set(BATCH_FLAG, 1);
    const labels: DispatchLabel[] = [];
    cache.length = promptLen;
    await drain();
    timer.start();
    let isolated: tf.Tensor1D | null = null;
    try {
      isolated = instruments.label(() => recordSteps(model, cache, token, m), (l) => labels.push(l)).value;
      flush();
    } finally {
      tf.env().set(BATCH_FLAG, prevBatch);
    }
    const wi = await timer.stop();
    await isolated.data();
    isolated.dispose();
    if (!wi.overflow && !wi.invalid && wi.passes.length === labels.length) {
      let mm = 0, other = 0;
      wi.passes.forEach((p, i) => {
        const ms = (p.end - p.begin) / 1e6;
        const l = labels[i]!;
        if (l.projection) mm += ms;
        else other += ms;
        gpuByProgram[l.program] = (gpuByProgram[l.program] ?? 0) + ms / m;
      });
      gpuMatmulMsPerStep = mm / m;
      gpuOtherMsPerStep = other / m;
    } else {
      details.errors.push(`isolated GPU profile: ${wi.passes.length} passes for ${labels.length} dispatches (overflow ${wi.overflow}, invalid ${wi.invalid})`);
    }
  }

  // The step's projections alone, on fixed inputs of the same shapes, in the same order.
  const projections = projectionsInOrder(model.params);
  const inputs = projections.map((p, i) => tf.randomNormal([B, p.shape[0]], 0, 1, 'float32', args.seed + i) as tf.Tensor2D);
  const loop = (n: number): tf.Tensor => {
    let y: tf.Tensor | null = null;
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < projections.length; i++) {
        y?.dispose();
        y = projections[i]!.apply(inputs[i]!);
      }
    }
    return y!;
  };
  const warm = loop(1);
  await warm.data();
  warm.dispose();
  const n = Math.max(4, Math.min(32, maxSteps));
  await drain();
  const t0 = performance.now();
  const y = loop(n);
  await y.data();
  const matmulOnlyMsPerStep = (performance.now() - t0) / n;
  y.dispose();
  tf.dispose([...inputs, token]);
  return {counts, gpuMsPerStep, gpuMatmulMsPerStep, gpuOtherMsPerStep, gpuByProgram, matmulOnlyMsPerStep};
}

// ---------------------------------------------------------------------------------------------------
// Building the models

interface HostWeights {
  config: DecoderConfig;
  specs: TensorSpec[];
  buffers: Map<string, SharedArrayBuffer>;
}

async function drawWeights(pool: WeightPool, config: DecoderConfig): Promise<HostWeights> {
  const specs = weightSpecs(config);
  const total = specs.reduce((s, x) => s + specSize(x), 0);
  say(`${config.name}: drawing ${(total / 1e6).toFixed(0)} M weights (${(4 * total / 2 ** 30).toFixed(2)} GiB f32) on ${pool.size} ${pool.mode === 'workers' ? 'worker threads' : 'thread (inline)'}`);
  const t0 = performance.now();
  const buffers = new Map(specs.map((s) => [s.name, new SharedArrayBuffer(4 * specSize(s))]));
  await Promise.all(specs.map((s) => pool.run({kind: 'draw', spec: s, seed: args.seed, buffer: buffers.get(s.name)!})));
  const s = (performance.now() - t0) / 1000;
  details.builds.push({config: config.name, what: 'draw', weights: total, seconds: r3(s)});
  say(`  drawn in ${s.toFixed(1)} s`);
  return {config, specs, buffers};
}

async function buildModel(pool: WeightPool, host: HostWeights, sparsity: number): Promise<Decoder> {
  const {config, specs, buffers} = host;
  const t0 = performance.now();
  const view = (s: TensorSpec) => new Float32Array(buffers.get(s.name)!);
  let encodeMs = 0, checkMs = 0;
  // All encode tasks are queued at once, largest first (the head and the embedding set the critical
  // path); buildParams takes them in model order while the later ones run.
  const bySize = specs.filter((s) => s.sparse && sparsity > 0).sort((a, b) => specSize(b) - specSize(a));
  const encoded = new Map(bySize.map((s) => [s.name, pool.run({
    kind: 'encode', spec: s, buffer: buffers.get(s.name)!, sparsity, valueType: args.valueType,
  })]));
  for (const p of encoded.values()) p.catch(() => undefined);  // each is awaited below
  const params = await buildParams(config, async (s) => {
    if (sparsity === 0) return view(s);
    const r = await encoded.get(s.name)!;
    encodeMs = Math.max(encodeMs, r.ms);
    const c0 = performance.now();
    const want = prunedCount(s, sparsity);
    if (r.zeros! < want) throw new Error(`${s.name} pruned to ${r.zeros} zeros, wanted at least ${want}`);
    const m = SparseMatrix.fromEncoded(r.encoded!);  // checks every array
    checkMs += performance.now() - c0;
    return m;
  }, view);
  const model = new Decoder(config, params);
  const s = (performance.now() - t0) / 1000;
  details.builds.push({config: config.name, sparsity, seconds: r3(s), slowestEncodeS: r3(encodeMs / 1000), checkS: r3(checkMs / 1000), weightBytes: model.weightBytes});
  say(`  ${sparsity === 0 ? 'dense' : `sparse ${sparsity}`}: built in ${s.toFixed(1)} s` +
      `${sparsity ? ` (slowest encode ${(encodeMs / 1000).toFixed(1)} s, fromEncoded checks ${(checkMs / 1000).toFixed(1)} s)` : ''}; ` +
      `weights ${(model.weightBytes / 1e6).toPrecision(4)} MB`);
  return model;
}

// ---------------------------------------------------------------------------------------------------
// Runs

async function decodeRun(model: Decoder, instruments: Instruments, sparsity: number, B: number): Promise<void> {
  const {config} = model;
  const maxLen = args.prompt + args.newTokens;
  const cache = model.createCache(B, maxLen);
  const prompt = randomIds(B * args.prompt, config.vocab, args.seed * 7 + B);
  try {
    // A whole generation first: it compiles every shader of this batch, uploads the weights, and fills
    // TF.js's buffer pool and the kernels' bind-group cache (a first generation runs at about half speed).
    await generate(model, cache, prompt, args.newTokens - 1);
    // Batch-1 steps are CPU-bound and vary from one generation to the next: the median of several.
    const runs: Generation[] = [];
    for (let i = 0; i < args.repeats; i++) runs.push(await generate(model, cache, prompt, args.newTokens - 1));
    const byTime = [...runs].sort((a, b) => a.decodeMs - b.decodeMs);
    const g = byTime[Math.floor((byTime.length - 1) / 2)]!;
    const stepMs = g.decodeMs / g.steps;
    const row: Row = {
      config: config.name, batch: B, promptLen: args.prompt, newTokens: args.newTokens, sparsity,
      decodeTokPerS: r3(B * g.steps / (g.decodeMs / 1000)), prefillMs: r3(g.prefillMs), weightBytes: model.weightBytes,
      mode: sparsity === 0 ? 'dense' : 'sparse', stepMs: r3(stepMs), cpuRecordMsPerStep: r3(g.recordMs / g.steps),
      kvCacheBytes: cache.byteSize, tokensOk: runs.every((x) => x.tokensOk),
      decodeTokPerSRuns: runs.map((x) => r3(B * x.steps / (x.decodeMs / 1000))),
    };
    if (args.profile) {
      const p = await profileDecode(model, instruments, cache, B);
      Object.assign(row, {
        opsPerStep: p.counts.kernels, dispatchesPerStep: p.counts.dispatches, matmulDispatchesPerStep: p.counts.projectionDispatches,
        gpuMsPerStep: p.gpuMsPerStep == null ? null : r3(p.gpuMsPerStep),
        gpuMatmulMsPerStep: p.gpuMatmulMsPerStep == null ? null : r3(p.gpuMatmulMsPerStep),
        gpuOtherMsPerStep: p.gpuOtherMsPerStep == null ? null : r3(p.gpuOtherMsPerStep),
        matmulOnlyMsPerStep: r3(p.matmulOnlyMsPerStep), otherMsPerStep: r3(stepMs - p.matmulOnlyMsPerStep),
      });
      const top = Object.entries(p.gpuByProgram).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, r3(v)]);
      details.steps.push({config: config.name, batch: B, sparsity, byKernel: p.counts.byKernel, gpuMsByProgram: Object.fromEntries(top)});
    }
    const dense = rows.find((r) => r.config === config.name && r.batch === B && r.promptLen === args.prompt && r.newTokens === args.newTokens && r.sparsity === 0);
    row.speedupVsDense = dense?.decodeTokPerS && row.decodeTokPerS ? r3(row.decodeTokPerS / dense.decodeTokPerS) : null;
    rows.push(row);
    say(`  B=${B} ${row.mode.padEnd(6)} s=${sparsity}: ${row.decodeTokPerS!.toFixed(1)} tok/s (${stepMs.toFixed(2)} ms/step` +
        `${row.speedupVsDense ? `, ${row.speedupVsDense.toFixed(2)}x dense` : ''}), prefill ${args.prompt}: ${g.prefillMs.toFixed(1)} ms, ` +
        `record ${row.cpuRecordMsPerStep!.toFixed(2)} ms/step, median of ${runs.length} (${byTime[0]!.decodeMs > 0 ? (B * g.steps / (byTime[byTime.length - 1]!.decodeMs / 1000)).toFixed(0) : '-'}-${(B * g.steps / (byTime[0]!.decodeMs / 1000)).toFixed(0)} tok/s)` +
        (args.profile ? `, ${row.opsPerStep} ops / ${row.dispatchesPerStep} dispatches (${row.matmulDispatchesPerStep} matmul) per step, ` +
            `gpu ${fmtMs(row.gpuMsPerStep)} ms/step (iso: matmul ${fmtMs(row.gpuMatmulMsPerStep)}, other ${fmtMs(row.gpuOtherMsPerStep)}), ` +
            `matmul-only ${row.matmulOnlyMsPerStep!.toFixed(2)} ms/step` : '') + (g.tokensOk ? '' : ' TOKENS OUT OF RANGE'));
    writeOutputs();
  } finally {
    prompt.dispose();
    cache.dispose();
  }
}

function fmtMs(x: number | null | undefined): string {
  return x == null ? '-' : x.toFixed(2);
}

async function prefillRun(model: Decoder, sparsity: number, B: number, len: number): Promise<void> {
  const {config} = model;
  const cache = model.createCache(B, len);
  const prompt = randomIds(B * len, config.vocab, args.seed * 11 + B + len);
  try {
    let ms = 0;
    for (let rep = 0; rep < 2; rep++) {  // the first compiles the shaders of these shapes
      cache.length = 0;
      await drain();
      const t0 = performance.now();
      const tok = model.next(prompt, cache);
      await tok.data();
      ms = performance.now() - t0;
      tok.dispose();
    }
    rows.push({
      config: config.name, batch: B, promptLen: len, newTokens: 0, sparsity, decodeTokPerS: null, prefillMs: r3(ms),
      weightBytes: model.weightBytes, mode: sparsity === 0 ? 'dense' : 'sparse', kvCacheBytes: cache.byteSize,
    });
    say(`  B=${B} ${sparsity === 0 ? 'dense ' : 'sparse'} s=${sparsity}: prefill ${len}: ${ms.toFixed(1)} ms`);
    writeOutputs();
  } finally {
    prompt.dispose();
    cache.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------
// Summary

function summarize(): void {
  say('');
  say('== decode: tokens/s of all sequences (speedup vs dense), ms per step, where a step goes ==');
  say(`${'config'.padEnd(9)} ${'B'.padStart(2)} ${'spars'.padStart(5)} ${'tok/s'.padStart(9)} ${'x dense'.padStart(7)} ${'step ms'.padStart(8)} ` +
      `${'record'.padStart(7)} ${'gpu ms'.padStart(7)} ${'gpu mm'.padStart(7)} ${'gpu oth'.padStart(7)} ${'mm-only'.padStart(8)} ` +
      `${'ops'.padStart(5)} ${'disp'.padStart(5)} ${'pre ms'.padStart(8)} ${'weight MB'.padStart(10)}`);
  const sorted = [...rows].sort((a, b) => a.config.localeCompare(b.config) || a.promptLen - b.promptLen || a.batch - b.batch || a.sparsity - b.sparsity);
  for (const r of sorted.filter((x) => x.newTokens > 0)) {
    say(`${r.config.padEnd(9)} ${String(r.batch).padStart(2)} ${r.sparsity.toFixed(2).padStart(5)} ${fmt(r.decodeTokPerS, 1, 9)} ${fmt(r.speedupVsDense, 2, 7)} ` +
        `${fmt(r.stepMs, 2, 8)} ${fmt(r.cpuRecordMsPerStep, 2, 7)} ${fmt(r.gpuMsPerStep, 2, 7)} ${fmt(r.gpuMatmulMsPerStep, 2, 7)} ${fmt(r.gpuOtherMsPerStep, 2, 7)} ` +
        `${fmt(r.matmulOnlyMsPerStep, 2, 8)} ${fmt(r.opsPerStep, 0, 5)} ${fmt(r.dispatchesPerStep, 0, 5)} ${fmt(r.prefillMs, 1, 8)} ${(r.weightBytes / 1e6).toPrecision(4).padStart(10)}`);
  }
  const prefill = sorted.filter((x) => x.newTokens === 0);
  if (prefill.length) {
    say('== prefill-only: ms ==');
    for (const r of prefill) say(`${r.config.padEnd(9)} B=${r.batch} prompt ${r.promptLen} s=${r.sparsity.toFixed(2)}: ${r.prefillMs.toFixed(1)} ms`);
  }
  // The issue's target: 7b-slice, 80%, batch 1.
  const s = rows.find((r) => r.config === '7b-slice' && r.batch === 1 && r.sparsity === 0.8 && r.newTokens > 0);
  const d = rows.find((r) => r.config === '7b-slice' && r.batch === 1 && r.sparsity === 0 && r.newTokens > 0);
  if (s && d && s.decodeTokPerS && d.decodeTokPerS) {
    const speed = s.decodeTokPerS / d.decodeTokPerS, bytes = d.weightBytes / s.weightBytes;
    details.target = {speedup: r3(speed), speedupPass: speed >= 4, bytesRatio: r3(bytes), bytesPass: bytes >= 6};
    say(`target (7b-slice, 80%, batch 1): decode ${speed.toFixed(2)}x dense (need >= 4): ${speed >= 4 ? 'PASS' : 'FAIL'}; ` +
        `weights 1/${bytes.toFixed(2)} of dense (need <= 1/6): ${bytes >= 6 ? 'PASS' : 'FAIL'}`);
  } else {
    say('target (7b-slice, 80%, batch 1): NOT RUN');
  }
}

function fmt(x: number | null | undefined, digits: number, width: number): string {
  return (x == null || !Number.isFinite(x) ? '-' : x.toFixed(digits)).padStart(width);
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
  if (!adapter) {
    console.error('no WebGPU adapter (locally: bash bench/e2e/run.sh, which points Vulkan at SwiftShader)');
    return 1;
  }
  const names = deviceNames(adapter.info, args.deviceName);
  deviceName = names.name;
  details.adapter = {vendor: adapter.info.vendor, architecture: adapter.info.architecture, device: adapter.info.device, description: adapter.info.description};
  mkdirSync(args.out, {recursive: true});
  mainPath = join(args.out, `${date}-${names.slug}-e2e.json`);
  detailsPath = join(args.out, `${date}-${names.slug}-e2e.details.json`);
  logFile = join(args.out, `${date}-${names.slug}-e2e.log`);
  writeFileSync(logFile, '');
  // Weights up to 32000×4096 f32 (524 MB) are single buffers: ask for the adapter's largest.
  const L = adapter.limits;
  const requiredFeatures = (['timestamp-query'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {maxStorageBufferBindingSize: L.maxStorageBufferBindingSize, maxBufferSize: L.maxBufferSize},
  });
  void device.lost.then((i) => say(`DEVICE LOST: ${i.reason}: ${i.message}`));
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => new WebGPUBackend(device, adapter.info), 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend(webgpu) failed');
  backend = tf.backend() as WebGPUBackend;
  for (const [name, value] of args.tfFlags) tf.env().set(name, value);

  say(`tfjs-sparse e2e decode benchmark, ${new Date().toISOString()}`);
  say(`device: ${deviceName} (${adapter.info.vendor} / ${adapter.info.architecture} / ${adapter.info.device}); host CPU ${cpus()[0]?.model ?? 'unknown'}; commit ${buildInfo.commit}`);
  say(`configs ${args.configs.join(',')} | sparsity ${args.sparsities.join(',')} | batch ${args.batches.join(',')} | prompt ${args.prompt} + ${args.newTokens} new | ` +
      `prefill ${args.prefillLens.join(',') || 'none'} at batch ${args.prefillBatches.join(',')} | ${args.valueType} | ${args.lag === 0 ? 'reads each step at once' : `reads ${args.lag} step(s) behind`} | ` +
      `submit batch ${tf.env().get(BATCH_FLAG)} | budget ${args.budgetS} s` +
      (args.tfFlags.length ? ` | flags ${args.tfFlags.map(([k, v]) => `${k}=${v}`).join(' ')}` : ''));
  say(`output: ${mainPath}`);

  if (device.features.has('timestamp-query') && args.profile) {
    timer = new PassTimer(device);
    timer.install();
    let st = await timerSelfTest(device, timer);
    if (st.passesSeen === 0) {
      timer.installOnDevice();  // Dawn's encoders did not share the prototype
      st = await timerSelfTest(device, timer);
    }
    details.timer = st;
    if (st.passesSeen === 0 || st.invalid) {
      say(`GPU timer: self-test failed (${JSON.stringify(st)}); no GPU times`);
      timer = null;
    } else {
      say(`GPU timer: ok (timestamps in steps of ${st.granularityNs} ns)`);
    }
  }

  const pool: WeightPool = new WorkerPool(new URL('./weight_worker.mjs', import.meta.url), args.workers, runWeightTask);
  try {
    for (const name of args.configs) {
      const config = CONFIGS[name]!;
      if (timeLeftS() < 10) {
        details.skipped.push(`${name} (budget)`);
        continue;
      }
      if (args.prompt + args.newTokens > config.maxPositions || Math.max(0, ...args.prefillLens) > config.maxPositions) {
        throw new Error(`${name}: sequences longer than its ${config.maxPositions} positions`);
      }
      const host = await drawWeights(pool, config);
      for (const sparsity of args.sparsities) {
        if (timeLeftS() < 10) {
          details.skipped.push(`${name} s=${sparsity} (budget)`);
          say(`  skip ${name} s=${sparsity}: budget`);
          continue;
        }
        let model: Decoder;
        try {
          model = await buildModel(pool, host, sparsity);
        } catch (e) {
          details.errors.push(`build ${name} s=${sparsity}: ${(e as Error).stack ?? e}`);
          say(`  ERROR building ${name} s=${sparsity}: ${(e as Error).message}`);
          continue;
        }
        const instruments = new Instruments(projectionsInOrder(model.params));
        try {
          for (const B of args.batches) {
            if (timeLeftS() < 5) {
              details.skipped.push(`${name} s=${sparsity} B=${B} (budget)`);
              continue;
            }
            await decodeRun(model, instruments, sparsity, B);
          }
          for (const len of args.prefillLens) {
            for (const B of args.prefillBatches) {
              if (timeLeftS() < 5) {
                details.skipped.push(`${name} s=${sparsity} prefill ${len} B=${B} (budget)`);
                continue;
              }
              await prefillRun(model, sparsity, B, len);
            }
          }
        } catch (e) {
          details.errors.push(`${name} s=${sparsity}: ${(e as Error).stack ?? e}`);
          say(`  ERROR ${name} s=${sparsity}: ${(e as Error).message}`);
        } finally {
          model.dispose();
          await drain();
        }
      }
    }
  } finally {
    await pool.close();
  }
  summarize();
  details.finished = true;
  writeOutputs();
  say(`wrote ${mainPath} (${rows.length} rows), ${detailsPath}, ${logFile}`);
  return 0;
}

const watchdog = setTimeout(() => {
  say(`watchdog: ${args.budgetS + 90} s passed; writing what there is and exiting`);
  summarize();
  writeOutputs();
  process.exit(3);
}, (args.budgetS + 90) * 1000);

main().then((code) => {
  clearTimeout(watchdog);
  process.exit(code);
}, (e) => {
  details.errors.push(`fatal: ${(e as Error).stack ?? e}`);
  console.error(e);
  summarize();
  writeOutputs();
  process.exit(1);
});
