/**
 * sparsifyGraphModel: prune the constant matmul weights of a GraphModel (model.json + weights) and
 * rewrite its artifacts so that those nodes run SparseMatMul.
 */
import {io, NamedTensorMap, tensor} from '@tensorflow/tfjs-core';
import {loadGraphModelSync} from '@tensorflow/tfjs-converter';
import type {GraphModel} from '@tensorflow/tfjs-converter';
import {decodeDense} from '../ops/decode.js';
import {encodeDense} from '../ops/encode.js';
import {EncodedSparseMatrix, storedValueWords, ValueType} from '../ops/format.js';
import {allocateLevels, autoLevels} from '../prune/allocate.js';
import {matchesPattern} from '../prune/patterns.js';
import type {PruneMethod} from '../prune/sparsify_model.js';
import {pruneSparseGPT} from '../prune/sparsegpt.js';
import {pruneMagnitude, pruneWanda} from '../prune/select.js';
import {findCandidates, GraphCandidate} from './graph_candidates.js';
import {disposeOutputs, GraphModelInputs, graphOutputDeviation, graphOutputs, InputProbe, inputStats} from './graph_calibration.js';
import {asGraphDef, dataInputs, GraphDef, topologicalOrder} from './graph_def.js';
import {NodeReplacement, rewriteGraph, sparsityOf} from './rewrite_graph.js';
import {floatValues, loadedBytes, splitWeights, WeightEntry} from './weight_entries.js';

/** Options of {@link sparsifyGraphModel}. */
export interface GraphSparsifyOptions {
  /**
   * Fraction of zero weights: one target for every converted node, a map by node name (nodes not in the
   * map stay dense), or `{auto: budget, levels?}` (see docs/sparsify.md).
   */
  sparsity: number | Record<string, number> | {auto: number, levels?: number[]};
  /**
   * 'magnitude' (the default) drops the smallest |W|; 'wanda' the smallest |W_kn|·‖X_k‖₂ per output;
   * 'sparsegpt' chooses by w²/[H⁻¹]_kk² and updates the kept weights to make up for the dropped ones
   * (H = XᵀX). Wanda and SparseGPT measure X on `calibration`.
   */
  method?: PruneMethod;
  /** Calibration batches, each what `GraphModel.executeAsync` takes. Needed by wanda, sparsegpt and auto. */
  calibration?: GraphModelInputs[];
  /**
   * Wanda and SparseGPT: measure each node's inputs with the nodes before it already pruned (default
   * true), or all on the dense model.
   */
  sequential?: boolean;
  /** Nodes to keep dense, by node name: exact names, globs with `*`, or regular expressions. */
  skip?: Array<string | RegExp>;
  /** Weights with fewer entries stay dense unless named in a sparsity map. Defaults to 16384 (16 tiles). */
  minWeights?: number;
  /** How the nonzeros are stored: 'float16' (the default) or 'float32'. */
  valueType?: ValueType;
  /** Called after each step (auto's measurements, then one per pruned node). */
  onProgress?: (done: number, total: number, node: string) => void;
}

/** One matmul-like node of the model in a {@link GraphSparsifyReport}. */
export interface GraphSparsifyNodeReport {
  node: string;
  op: string;
  /** The Const node holding the weight; null when the weight operand is not a constant. */
  weight: string | null;
  /** The weight as a matrix [K, N]; null when unknown. */
  shape: [number, number] | null;
  /** Whether the node became a sparse node. */
  sparse: boolean;
  /** Why it stayed dense. */
  reason?: string;
  /** Fraction of zero weights in the new model; null without a constant weight. */
  sparsity: number | null;
  /** The weight's bytes as a dense float32 tensor. */
  bytesBefore: number;
  /** The weight's bytes in the new model: encoded arrays, or dense float32 if it stayed dense. */
  bytesAfter: number;
}

/** Bytes of all of a model's weights: in the weight files, and as tensors on the backend. */
export interface WeightBytes {
  file: number;
  backend: number;
}

/** What {@link sparsifyGraphModel} did. */
export interface GraphSparsifyReport {
  method: PruneMethod;
  nodes: GraphSparsifyNodeReport[];
  /** Over the listed nodes' constant weights. */
  bytesBefore: number;
  bytesAfter: number;
  /** Fraction of zero weights over the listed nodes' constant weights. */
  sparsity: number;
  /** ‖y − y_dense‖ / ‖y_dense‖ of the model's outputs on the calibration data; null without calibration. */
  outputDeviation: number | null;
  /** All weights of the model, before and after. */
  weightsBefore: WeightBytes;
  weightsAfter: WeightBytes;
  /**
   * With auto sparsity: the levels tried and, for each pruned node, the output deviation with that node
   * alone at each level (what the allocation was based on). Null otherwise.
   */
  auto: {levels: number[], deviations: Record<string, number[]>} | null;
}

const DEFAULT_MIN_WEIGHTS = 16384;
const WHAT = 'sparsifyGraphModel';

function checkFraction(v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${WHAT}: ${what} must be a number in [0, 1], got ${String(v)}`);
  return v;
}

function isAuto(s: GraphSparsifyOptions['sparsity']): s is {auto: number, levels?: number[]} {
  return typeof s === 'object' && s !== null && 'auto' in s;
}

function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

function totals(entries: WeightEntry[]): WeightBytes {
  return {
    file: entries.reduce((a, e) => a + e.bytes.byteLength, 0),
    backend: entries.reduce((a, e) => a + loadedBytes(e.spec, e.bytes.byteLength), 0),
  };
}

function encodedBytes(e: EncodedSparseMatrix): number {
  return 4 * (e.header.length + e.offsets.length + storedValueWords(e));
}

/** A node being converted: its candidate entry, dense [K, N] kernel and target sparsity. */
interface Target {
  c: GraphCandidate;
  K: number;
  N: number;
  kernel: Float32Array;
  sparsity: number;
}

/** The weight of `t` in the Const node's own layout, from a [K, N] kernel, to feed as an override. */
function asStored(t: Target, kernel: Float32Array, spec: io.WeightsManifestEntry) {
  return tensor(t.c.transposeW ? transpose2d(kernel, t.K, t.N) : kernel, spec.shape, 'float32');
}

/**
 * Prunes a GraphModel's artifacts (from any IOHandler's `load()`, or `tf.io.fromMemory`) and returns new
 * artifacts in which every MatMul, BatchMatMul(V2) and _FusedMatMul node with a constant weight, and
 * every Conv2D / _FusedConv2D with a constant 1×1 kernel, stride 1, no dilation and NHWC, that is not
 * skipped or too small runs SparseMatMul with the same transposes, fused bias and activation. The
 * encoded weights are int32 weights of the manifest; every other weight is carried over byte for byte.
 * Load the result with `tf.loadGraphModel` after importing `tfjs-sparse/graph`.
 *
 * The report lists every matmul-like node, converted or not, with the reason it stayed dense.
 */
export async function sparsifyGraphModel(
    artifacts: io.ModelArtifacts, opts: GraphSparsifyOptions): Promise<{artifacts: io.ModelArtifacts, report: GraphSparsifyReport}> {
  if (artifacts == null || typeof artifacts !== 'object') throw new Error(`${WHAT}: artifacts must be a ModelArtifacts object`);
  if (opts == null || opts.sparsity == null) throw new Error(`${WHAT}: opts.sparsity is required`);
  const method = opts.method ?? 'magnitude';
  if (!['magnitude', 'wanda', 'sparsegpt'].includes(method)) throw new Error(`${WHAT}: unknown method '${String(method)}'`);
  const valueType = opts.valueType ?? 'float16';
  if (valueType !== 'float16' && valueType !== 'float32') throw new Error(`${WHAT}: unknown valueType '${String(valueType)}'`);
  const minWeights = opts.minWeights ?? DEFAULT_MIN_WEIGHTS;
  const auto = isAuto(opts.sparsity) ? opts.sparsity : null;
  const map = typeof opts.sparsity === 'object' && auto == null ? opts.sparsity as Record<string, number> : null;
  if (auto != null) checkFraction(auto.auto, 'the auto budget');
  else if (map == null) checkFraction(opts.sparsity, 'sparsity');
  const levels = auto != null ? autoLevels(auto.levels, WHAT) : [];
  const calibration = opts.calibration;
  if (calibration != null && (!Array.isArray(calibration) || calibration.length === 0)) {
    throw new Error(`${WHAT}: calibration must be a non-empty array of batches`);
  }
  if ((method !== 'magnitude' || auto != null) && calibration == null) {
    throw new Error(`${WHAT}: ${auto != null ? 'auto sparsity' : `method '${method}'`} needs calibration batches`);
  }
  if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error(`${WHAT}: binary model topologies are not supported`);
  const graph: GraphDef = asGraphDef(artifacts.modelTopology, WHAT);
  const entries = splitWeights(artifacts.weightSpecs ?? [], artifacts.weightData);
  const entryOf = new Map(entries.map((e) => [e.spec.name, e]));
  const specs = new Map(entries.map((e) => [e.spec.name, e.spec]));

  const order = new Map(topologicalOrder(graph).map((n, i) => [n, i]));
  const candidates = findCandidates(graph, specs).sort((a, b) => order.get(a.node)! - order.get(b.node)!);
  if (map != null) {
    for (const [name, s] of Object.entries(map)) {
      checkFraction(s, `sparsity of '${name}'`);
      if (!candidates.some((c) => c.node === name)) throw new Error(`${WHAT}: the sparsity map names '${name}', which is not a matmul-like node of the model`);
    }
  }
  const targets: Target[] = [];
  const kernels = new Map<string, Float32Array>();
  for (const c of candidates) {
    if (c.shape == null) continue;
    const [K, N] = c.shape;
    const stored = await floatValues(entryOf.get(c.weight!)!);
    const kernel = c.transposeW ? transpose2d(stored, N, K) : stored;
    kernels.set(c.node, kernel);
    if (c.reason != null) continue;
    if ((opts.skip ?? []).some((p) => matchesPattern(c.node, p))) c.reason = 'skipped';
    else if (map != null && !(c.node in map)) c.reason = 'not in the sparsity map';
    else if (K * N < minWeights && !(map != null && c.node in map)) c.reason = `too small (${K * N} weights < minWeights ${minWeights})`;
    else targets.push({c, K, N, kernel, sparsity: map != null ? map[c.node] : auto != null ? 0 : opts.sparsity as number});
  }

  const needsModel = calibration != null && targets.length > 0;
  const model: GraphModel<io.IOHandlerSync> | null = needsModel ? loadGraphModelSync(artifacts) : null;
  const overrides: NamedTensorMap = {};
  const setOverride = (t: Target, kernel: Float32Array | null) => {
    const name = t.c.weight!;
    overrides[name]?.dispose();
    delete overrides[name];
    if (kernel != null) overrides[name] = asStored(t, kernel, specs.get(name)!);
  };
  try {
    const steps = targets.length * (1 + levels.length);
    let done = 0;
    const progress = (node: string) => opts.onProgress?.(++done, steps, node);

    const probe = (t: Target): InputProbe => ({input: dataInputs(graph.node.find((n) => n.name === t.c.node)!)[0], K: t.K, transposeX: t.c.transposeX});
    const denseStats = method !== 'magnitude' && (auto != null || opts.sequential === false) ?
      await inputStats(model!, calibration!, targets.map(probe), method === 'sparsegpt') : null;
    const pruneWith = (t: Target, s: number, stats: {squareSums: Float64Array, gram: Float64Array | null}) =>
      method === 'magnitude' ? pruneMagnitude(t.kernel, s) :
      method === 'wanda' ? pruneWanda(t.kernel, [t.K, t.N], stats.squareSums.map(Math.sqrt), s) :
      pruneSparseGPT(t.kernel, [t.K, t.N], stats.gram!, s);

    let autoReport: GraphSparsifyReport['auto'] = null;
    if (auto != null) {
      const ref = await graphOutputs(model!, calibration!);
      const cost = new Map<string, number[]>();
      try {
        for (const [i, t] of targets.entries()) {
          const d: number[] = [];
          for (const s of levels) {
            setOverride(t, pruneWith(t, s, denseStats?.[i] ?? {squareSums: new Float64Array(0), gram: null}));
            d.push(await graphOutputDeviation(model!, calibration!, ref, overrides));
            progress(t.c.node);
          }
          setOverride(t, null);
          cost.set(t.c.node, d);
        }
      } finally {
        disposeOutputs(ref);
      }
      autoReport = {levels, deviations: Object.fromEntries(cost)};
      const chosen = allocateLevels(targets.map((t) => t.c.node), (n) => {
        const t = targets.find((x) => x.c.node === n)!;
        return t.K * t.N;
      }, levels, cost, auto.auto);
      for (const t of targets) t.sparsity = chosen.get(t.c.node)!;
    }

    const replacements: NodeReplacement[] = [];
    for (const [i, t] of targets.entries()) {
      if (t.sparsity === 0 && auto != null) {
        t.c.reason = 'auto: kept dense';
        progress(t.c.node);
        continue;
      }
      let stats = denseStats?.[i] ?? {squareSums: new Float64Array(0), gram: null};
      if (method !== 'magnitude' && opts.sequential !== false) {
        [stats] = await inputStats(model!, calibration!, [probe(t)], method === 'sparsegpt', overrides);
      }
      const encoded = encodeDense(pruneWith(t, t.sparsity, stats), [t.K, t.N], valueType);
      replacements.push({candidate: t.c, encoded});
      // Later nodes see exactly the weights the sparse node multiplies with (f16-rounded if so stored).
      if (model != null) setOverride(t, decodeDense(encoded));
      progress(t.c.node);
    }

    let outputDeviation: number | null = null;
    if (model != null) {
      const ref = await graphOutputs(model, calibration!);
      try {
        outputDeviation = await graphOutputDeviation(model, calibration!, ref, overrides);
      } finally {
        disposeOutputs(ref);
      }
    }
    const out = rewriteGraph(artifacts, graph, entries, replacements);
    const outEntries = splitWeights(out.weightSpecs!, out.weightData);
    return {artifacts: out, report: makeReport(method, candidates, kernels, replacements, entries, outEntries, outputDeviation, autoReport)};
  } finally {
    for (const name of Object.keys(overrides)) overrides[name].dispose();
    model?.dispose();
  }
}

function makeReport(
    method: PruneMethod, candidates: GraphCandidate[], kernels: Map<string, Float32Array>,
    replacements: NodeReplacement[], before: WeightEntry[], after: WeightEntry[],
    outputDeviation: number | null, auto: GraphSparsifyReport['auto']): GraphSparsifyReport {
  const encodedOf = new Map(replacements.map((r) => [r.candidate.node, r.encoded]));
  const nodes: GraphSparsifyNodeReport[] = [];
  let bytesBefore = 0, bytesAfter = 0, zeros = 0, total = 0;
  for (const c of candidates) {
    const e = encodedOf.get(c.node);
    const kernel = kernels.get(c.node);
    const size = c.shape ? c.shape[0] * c.shape[1] : 0;
    let sparsity: number | null = null;
    if (e != null) {
      sparsity = sparsityOf(e);
    } else if (kernel != null) {
      let z = 0;
      for (let i = 0; i < kernel.length; i++) if (kernel[i] === 0) z++;
      sparsity = z / size;
    }
    const entry: GraphSparsifyNodeReport = {
      node: c.node, op: c.op, weight: c.weight ?? null, shape: c.shape ?? null, sparse: e != null, sparsity,
      bytesBefore: 4 * size, bytesAfter: e != null ? encodedBytes(e) : 4 * size,
    };
    if (c.reason != null) entry.reason = c.reason;
    nodes.push(entry);
    bytesBefore += entry.bytesBefore;
    bytesAfter += entry.bytesAfter;
    if (sparsity != null) {
      zeros += sparsity * size;
      total += size;
    }
  }
  return {
    method, nodes, bytesBefore, bytesAfter, sparsity: total > 0 ? zeros / total : 0, outputDeviation,
    weightsBefore: totals(before), weightsAfter: totals(after), auto,
  };
}
