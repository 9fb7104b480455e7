/** sparsifyModel: prune the Dense (and 1×1 Conv2D) layers of a LayersModel and make them SparseDense. */
import {LayersModel} from '@tensorflow/tfjs-layers';
import {convertValueType} from '../ops/convert_value_type.js';
import {encodeDense} from '../ops/encode.js';
import {EncodedSparseMatrix, storedValueWords, ValueType} from '../ops/format.js';
import {SparseDense} from '../layers/sparse_dense.js';
import {countSamples, disposeOutputs, inputGrams, inputSquareSums, layerDeviations, ModelInputs, modelOutputs, outputDeviation} from './calibration.js';
import {rebuildModel, setKernel, SparseLayerSpec} from './rebuild.js';
import {allocateLevels, autoLevels} from './allocate.js';
import {matchesPattern} from './patterns.js';
import {pruneSparseGPT} from './sparsegpt.js';
import {pruneMagnitude, pruneMagnitudeGlobal, pruneWanda} from './select.js';

/** How the weights to drop are chosen. */
export type PruneMethod = 'magnitude' | 'wanda' | 'sparsegpt';

/** Sparsity chosen by the calibration data: a global budget spent on the layers that tolerate it. */
export interface AutoSparsity {
  /** Fraction of all pruned layers' weights to drop, in [0, 1]. */
  auto: number;
  /** Sparsities a layer may get. Defaults to [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]. */
  levels?: number[];
}

/** Options of {@link sparsifyModel}. */
export interface SparsifyOptions {
  /**
   * Fraction of zero weights: one target for every layer, a per-layer map by layer name (layers not in
   * the map stay dense), or `{auto: budget}`.
   */
  sparsity: number | Record<string, number> | AutoSparsity;
  /**
   * 'magnitude' (the default) drops the smallest |W|. 'wanda' drops the smallest |W_ij|·‖X_i‖₂ within
   * each output column, with the input norms measured on `calibration`; it needs no retraining.
   * 'sparsegpt' chooses by w²/[H⁻¹]_ii² and updates the kept weights to make up for the dropped ones
   * (H = XᵀX on `calibration`; see docs/sparsify.md).
   */
  method?: PruneMethod;
  /** Magnitude only: a threshold per layer ('layer', the default) or one across layers ('global'). */
  scope?: 'layer' | 'global';
  /** Model inputs for wanda, auto sparsity and the report's deviations. */
  calibration?: ModelInputs;
  /** Batch size for calibration runs. Defaults to 256. */
  batchSize?: number;
  /**
   * Wanda and SparseGPT: measure each layer's inputs with the layers before it already pruned, as the
   * reference implementations do (default true), or all on the dense model.
   */
  sequential?: boolean;
  /** Layers to keep dense: exact names, globs with `*`, or regular expressions. */
  skip?: Array<string | RegExp>;
  /** Layers with fewer weights stay dense unless named in a sparsity map. Defaults to 16384 (16 tiles). */
  minWeights?: number;
  /** How the nonzeros are stored. 'float16' (the default) for inference; 'float32' to fine-tune. */
  valueType?: ValueType;
  /** Called after each step (auto's measurements, then one per pruned layer). */
  onProgress?: (done: number, total: number, layer: string) => void;
}

/** One Dense or Conv2D layer of the model in a {@link SparsifyReport}. */
export interface SparsifyLayerReport {
  name: string;
  /** The source layer's class: 'Dense' or 'Conv2D'. */
  className: string;
  /** The kernel as a matrix [K, N]. */
  shape: [number, number];
  /** Whether the layer became SparseDense. */
  sparse: boolean;
  /** Why it stayed dense. */
  reason?: string;
  /** Fraction of zero weights in the new model's kernel. */
  sparsity: number;
  /** The kernel's bytes as dense float32. */
  bytesBefore: number;
  /** The kernel's bytes in the new model: encoded arrays, or dense float32 if it stayed dense. */
  bytesAfter: number;
  /** ‖y − y_dense‖ / ‖y_dense‖ of this layer's output over the calibration data; null without calibration. */
  deviation: number | null;
}

/** What {@link sparsifyModel} did. */
export interface SparsifyReport {
  method: PruneMethod;
  layers: SparsifyLayerReport[];
  /** Over the listed layers' kernels. */
  bytesBefore: number;
  bytesAfter: number;
  /** Fraction of zero weights over the listed layers' kernels. */
  sparsity: number;
  /** ‖y − y_dense‖ / ‖y_dense‖ of the model's outputs over the calibration data; null without calibration. */
  outputDeviation: number | null;
}

const DEFAULT_MIN_WEIGHTS = 16384;

interface Candidate {
  name: string;
  className: string;
  K: number;
  N: number;
  /** Why it stays dense, if it does. */
  reason?: string;
}

/** A Dense layer, or a Conv2D that is a matmul over channels, as a candidate; null for other layers. */
function candidateOf(layer: LayersModel['layers'][number]): Candidate | null {
  const className = layer.getClassName();
  if (className !== 'Dense' && className !== 'Conv2D') return null;
  const kernel = layer.getWeights()[0];
  if (kernel == null) return null;
  const shape = kernel.shape;
  const K = shape[shape.length - 2], N = shape[shape.length - 1];
  const candidate: Candidate = {name: layer.name, className, K, N};
  if (className === 'Conv2D') {
    const c = layer.getConfig();
    const ones = (v: unknown) => (Array.isArray(v) ? v : [v, v]).every((d) => d === 1);
    if (!ones(c['kernelSize']) || !ones(c['strides'])) {
      candidate.reason = 'Conv2D kernel is not 1×1 with stride 1';
    } else if (c['dataFormat'] !== 'channelsLast') {
      candidate.reason = 'Conv2D is channelsFirst';
    }
  }
  return candidate;
}

function isAuto(s: SparsifyOptions['sparsity']): s is AutoSparsity {
  return typeof s === 'object' && s !== null && 'auto' in s && typeof (s as AutoSparsity).auto === 'number';
}

function checkFraction(v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`sparsifyModel: ${what} must be a number in [0, 1], got ${String(v)}`);
  return v;
}

/**
 * Prunes a LayersModel and returns a new one in which every Dense layer, and every Conv2D whose kernel
 * is 1×1 with stride 1 (a matmul over channels), that is not skipped or too small is a SparseDense
 * layer. Every other layer, and its weights, is carried over; the input model is not modified.
 *
 * The report lists each Dense and Conv2D layer: its shape, sparsity, bytes before and after, and the
 * deviation of its output from the dense model's on the calibration data.
 */
export async function sparsifyModel(
    model: LayersModel, opts: SparsifyOptions): Promise<{model: LayersModel, report: SparsifyReport}> {
  if (!(model instanceof LayersModel)) throw new Error('sparsifyModel: model must be a tf.LayersModel');
  if (opts == null || opts.sparsity == null) throw new Error('sparsifyModel: opts.sparsity is required');
  const method = opts.method ?? 'magnitude';
  if (method !== 'magnitude' && method !== 'wanda' && method !== 'sparsegpt') throw new Error(`sparsifyModel: unknown method '${String(method)}'`);
  const scope = opts.scope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') throw new Error(`sparsifyModel: unknown scope '${String(scope)}'`);
  if (scope === 'global' && (method !== 'magnitude' || typeof opts.sparsity !== 'number')) {
    throw new Error("sparsifyModel: scope 'global' needs method 'magnitude' and one sparsity target");
  }
  const valueType = opts.valueType ?? 'float16';
  if (valueType !== 'float16' && valueType !== 'float32') throw new Error(`sparsifyModel: unknown valueType '${String(valueType)}'`);
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`sparsifyModel: batchSize must be a positive integer, got ${batchSize}`);
  const minWeights = opts.minWeights ?? DEFAULT_MIN_WEIGHTS;
  const calibration = opts.calibration;
  if (calibration != null) countSamples(model, calibration);
  const auto = isAuto(opts.sparsity) ? opts.sparsity : null;
  if ((method !== 'magnitude' || auto) && calibration == null) {
    throw new Error(`sparsifyModel: ${auto ? 'auto sparsity' : `method '${method}'`} needs calibration inputs`);
  }

  // Which layers are pruned, and at what target.
  const candidates = model.layers.map(candidateOf).filter((c): c is Candidate => c != null);
  const map = typeof opts.sparsity === 'object' && !auto ? opts.sparsity as Record<string, number> : null;
  if (map != null) {
    for (const [name, s] of Object.entries(map)) {
      checkFraction(s, `sparsity of '${name}'`);
      if (!candidates.some((c) => c.name === name)) {
        throw new Error(`sparsifyModel: the sparsity map names '${name}', which is not a Dense or Conv2D layer of the model`);
      }
    }
  } else if (!auto) {
    checkFraction(opts.sparsity, 'sparsity');
  }
  const targets = new Map<string, number>();
  for (const c of candidates) {
    if (c.reason != null) continue;
    if ((opts.skip ?? []).some((p) => matchesPattern(c.name, p))) {
      c.reason = 'skipped';
    } else if (map != null && !(c.name in map)) {
      c.reason = 'not in the sparsity map';
    } else if (c.K * c.N < minWeights && !(map != null && c.name in map)) {
      c.reason = `too small (${c.K * c.N} weights < minWeights ${minWeights})`;
    } else {
      targets.set(c.name, map != null ? map[c.name] : typeof opts.sparsity === 'number' ? opts.sparsity : 0);
    }
  }

  const dense = new Map<string, {kernel: Float32Array, bias?: Float32Array}>();
  for (const name of targets.keys()) {
    const [kernel, bias] = model.getLayer(name).getWeights();
    dense.set(name, {
      kernel: await kernel.data() as Float32Array,
      bias: bias ? await bias.data() as Float32Array : undefined,
    });
  }
  const shapeOf = (name: string): [number, number] => {
    const c = candidates.find((x) => x.name === name)!;
    return [c.K, c.N];
  };

  const steps = targets.size * (1 + (auto != null ? autoLevels(auto.levels, 'sparsifyModel').length : 0));
  let done = 0;
  const progress = (layer: string) => opts.onProgress?.(++done, steps, layer);
  if (auto != null) {
    const chosen = await allocate(model, [...targets.keys()], dense, shapeOf, method, auto, calibration!, batchSize, progress);
    for (const [name, s] of chosen) {
      if (s === 0) {
        targets.delete(name);
        progress(name);
        candidates.find((c) => c.name === name)!.reason = 'auto: kept dense';
      } else {
        targets.set(name, s);
      }
    }
  }

  // Prune.
  const pruned = new Map<string, Float32Array>();
  if (method === 'magnitude' && scope === 'global') {
    const names = [...targets.keys()];
    pruneMagnitudeGlobal(names.map((n) => dense.get(n)!.kernel), opts.sparsity as number).forEach((w, i) => {
      pruned.set(names[i], w);
      progress(names[i]);
    });
  } else if (method === 'magnitude') {
    for (const [name, s] of targets) {
      pruned.set(name, pruneMagnitude(dense.get(name)!.kernel, s));
      progress(name);
    }
  } else if (opts.sequential ?? true) {
    const work = await rebuildModel(model, new Map());
    try {
      for (const [name, s] of targets) {
        const w = await pruneCalibrated(work, name, dense.get(name)!.kernel, shapeOf(name), method, s, calibration!, batchSize);
        pruned.set(name, w);
        setKernel(work, name, w);
        progress(name);
      }
    } finally {
      work.dispose();
    }
  } else {
    const stats = await layerStats(model, [...targets.keys()], method, calibration!, batchSize);
    for (const [name, s] of targets) {
      pruned.set(name, pruneWith(dense.get(name)!.kernel, shapeOf(name), method, stats.get(name)!, s));
      progress(name);
    }
  }

  const replace = new Map<string, SparseLayerSpec>();
  for (const [name, w] of pruned) replace.set(name, {encoded: encodeDense(w, shapeOf(name), valueType), bias: dense.get(name)!.bias});
  const sparse = await rebuildModel(model, replace);
  try {
    const report = await makeReport(model, sparse, candidates, replace, method, calibration, batchSize);
    return {model: sparse, report};
  } catch (e) {
    sparse.dispose();
    throw e;
  }
}

/** What wanda (input square sums) or SparseGPT (XᵀX) needs of each layer's inputs. */
function layerStats(
    model: LayersModel, names: string[], method: PruneMethod, x: ModelInputs, batchSize: number): Promise<Map<string, Float64Array>> {
  return method === 'sparsegpt' ? inputGrams(model, names, x, batchSize) : inputSquareSums(model, names, x, batchSize);
}

function pruneWith(kernel: Float32Array, shape: [number, number], method: PruneMethod, stats: Float64Array, s: number): Float32Array {
  return method === 'sparsegpt' ? pruneSparseGPT(kernel, shape, stats, s) : pruneWanda(kernel, shape, stats.map(Math.sqrt), s);
}

/** Prunes one layer of `model` by wanda or SparseGPT, measuring its inputs on `model` as it is now. */
async function pruneCalibrated(
    model: LayersModel, name: string, kernel: Float32Array, shape: [number, number], method: PruneMethod, s: number,
    x: ModelInputs, batchSize: number): Promise<Float32Array> {
  const stats = await layerStats(model, [name], method, x, batchSize);
  return pruneWith(kernel, shape, method, stats.get(name)!, s);
}

function encodedBytes(e: EncodedSparseMatrix): number {
  return 4 * (e.header.length + e.offsets.length + storedValueWords(e));
}

async function makeReport(
    model: LayersModel, sparse: LayersModel, candidates: Candidate[], replace: Map<string, SparseLayerSpec>,
    method: PruneMethod, calibration: ModelInputs | undefined, batchSize: number): Promise<SparsifyReport> {
  const deviations = calibration != null ?
    await layerDeviations(model, sparse, candidates.map((c) => c.name), calibration, batchSize) : null;
  let before = 0, after = 0, zeros = 0, total = 0;
  const layers: SparsifyLayerReport[] = [];
  for (const c of candidates) {
    const spec = replace.get(c.name);
    const size = c.K * c.N;
    let sparsity: number;
    if (spec) {
      sparsity = (sparse.getLayer(c.name) as SparseDense).sparsity;
    } else {
      const data = await model.getLayer(c.name).getWeights()[0].data();
      let z = 0;
      for (let i = 0; i < data.length; i++) if (data[i] === 0) z++;
      sparsity = z / size;
    }
    const entry: SparsifyLayerReport = {
      name: c.name, className: c.className, shape: [c.K, c.N], sparse: spec != null, sparsity,
      bytesBefore: 4 * size, bytesAfter: spec ? encodedBytes(spec.encoded) : 4 * size,
      deviation: deviations ? deviations.layers.get(c.name)! : null,
    };
    if (c.reason != null) entry.reason = c.reason;
    layers.push(entry);
    before += entry.bytesBefore;
    after += entry.bytesAfter;
    zeros += sparsity * size;
    total += size;
  }
  return {
    method, layers, bytesBefore: before, bytesAfter: after, sparsity: total > 0 ? zeros / total : 0,
    outputDeviation: deviations ? deviations.output : null,
  };
}

/**
 * Auto sparsity: measures, for each layer alone, the model's output deviation at each level, then
 * raises the layer whose next level costs the least deviation per dropped weight (counting only weights
 * up to the budget) until the budget is spent. It may overshoot by part of one step. Returns each
 * layer's sparsity (0: stays dense).
 */
async function allocate(
    model: LayersModel, names: string[], dense: Map<string, {kernel: Float32Array}>,
    shapeOf: (name: string) => [number, number], method: PruneMethod, auto: AutoSparsity, calibration: ModelInputs,
    batchSize: number, progress: (layer: string) => void): Promise<Map<string, number>> {
  const budget = checkFraction(auto.auto, 'the auto budget');
  const levels = autoLevels(auto.levels, 'sparsifyModel');
  const stats = method !== 'magnitude' ? await layerStats(model, names, method, calibration, batchSize) : null;
  const prune = (name: string, s: number) => stats ?
    pruneWith(dense.get(name)!.kernel, shapeOf(name), method, stats.get(name)!, s) :
    pruneMagnitude(dense.get(name)!.kernel, s);
  const ref = await modelOutputs(model, calibration, batchSize);
  const work = await rebuildModel(model, new Map());
  const cost = new Map<string, number[]>();
  try {
    for (const name of names) {
      const d: number[] = [];
      for (const s of levels) {
        setKernel(work, name, prune(name, s));
        d.push(await outputDeviation(work, ref, calibration, batchSize));
        progress(name);
      }
      setKernel(work, name, dense.get(name)!.kernel);
      cost.set(name, d);
    }
  } finally {
    work.dispose();
    disposeOutputs(ref);
  }
  return allocateLevels(names, (name) => shapeOf(name)[0] * shapeOf(name)[1], levels, cost, budget);
}

/**
 * Re-encodes every SparseDense layer of a model with another value type, keeping each bitmap exactly,
 * and returns the new model (the input is not modified). Use it after fine-tuning with float32 values
 * to store float16 values for inference.
 */
export async function convertSparseValueType(model: LayersModel, valueType: ValueType): Promise<LayersModel> {
  if (valueType !== 'float16' && valueType !== 'float32') throw new Error(`convertSparseValueType: unknown valueType '${String(valueType)}'`);
  const replace = new Map<string, SparseLayerSpec>();
  for (const layer of model.layers) {
    if (!(layer instanceof SparseDense)) continue;
    replace.set(layer.name, {
      encoded: convertValueType(await layer.getEncoded(), valueType),
      bias: await layer.getBias() ?? undefined,
    });
  }
  return rebuildModel(model, replace);
}
