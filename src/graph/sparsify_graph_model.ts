/**
 * sparsifyGraphModel: prune the constant matmul weights of a GraphModel (model.json + weights) and
 * rewrite its artifacts so that those nodes run SparseMatMul.
 */
import type {io} from '@tensorflow/tfjs-core';
import type {ValueType} from '../ops/format.js';
import {allocateLevels, autoLevels} from '../prune/allocate.js';
import type {PruneMethod} from '../prune/sparsify_model.js';
import {findCandidates} from './graph_candidates.js';
import type {GraphModelInputs} from './graph_calibration.js';
import {asGraphDef, topologicalOrder} from './graph_def.js';
import {PruningSession} from './graph_pruning.js';
import {GraphSparsifyReport, makeReport} from './graph_report.js';
import {selectTargets} from './graph_targets.js';
import {rewriteGraph} from './rewrite_graph.js';
import {splitWeights} from './weight_entries.js';

/** Options of {@link sparsifyGraphModel}. */
export interface GraphSparsifyOptions {
  /**
   * Fraction of zero weights: one target for every converted node, a map by node name (nodes not in the
   * map stay dense), or `{auto: budget, levels?}` (see docs/graph.md).
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

const DEFAULT_MIN_WEIGHTS = 16384;
const WHAT = 'sparsifyGraphModel';

function checkFraction(v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${WHAT}: ${what} must be a number in [0, 1], got ${String(v)}`);
  return v;
}

function isAuto(s: GraphSparsifyOptions['sparsity']): s is {auto: number, levels?: number[]} {
  return typeof s === 'object' && s !== null && 'auto' in s;
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
  const graph = asGraphDef(artifacts.modelTopology, WHAT);
  const entries = splitWeights(artifacts.weightSpecs ?? [], artifacts.weightData);

  const order = new Map(topologicalOrder(graph).map((n, i) => [n, i]));
  const candidates = findCandidates(graph, new Map(entries.map((e) => [e.spec.name, e.spec])))
      .sort((a, b) => order.get(a.node)! - order.get(b.node)!);
  if (map != null) {
    for (const [name, s] of Object.entries(map)) {
      checkFraction(s, `sparsity of '${name}'`);
      if (!candidates.some((c) => c.node === name)) throw new Error(`${WHAT}: the sparsity map names '${name}', which is not a matmul-like node of the model`);
    }
  }
  const {targets, kernels} = await selectTargets(candidates, new Map(entries.map((e) => [e.spec.name, e])), {
    sparsity: auto != null ? 'auto' : map ?? opts.sparsity as number, skip: opts.skip ?? [],
    minWeights: opts.minWeights ?? DEFAULT_MIN_WEIGHTS,
  });

  const session = new PruningSession(artifacts, graph, method, targets.length > 0 ? calibration : undefined);
  try {
    const steps = targets.length * (1 + levels.length);
    let done = 0;
    const progress = (node: string) => opts.onProgress?.(++done, steps, node);
    let autoReport: GraphSparsifyReport['auto'] = null;
    if (auto != null && targets.length > 0) {
      const cost = await session.sensitivity(targets, levels, progress);
      autoReport = {levels, deviations: Object.fromEntries(cost)};
      const size = new Map(targets.map((t) => [t.c.node, t.K * t.N]));
      const chosen = allocateLevels(targets.map((t) => t.c.node), (n) => size.get(n)!, levels, cost, auto.auto);
      for (const t of targets) {
        t.sparsity = chosen.get(t.c.node)!;
        if (t.sparsity === 0) {
          t.c.reason = 'auto: kept dense';
          progress(t.c.node);
        }
      }
    }
    const replacements = await session.pruneAll(targets, opts.sequential ?? true, valueType, progress);
    const outputDeviation = await session.outputDeviation();
    const out = rewriteGraph(artifacts, graph, entries, replacements);
    const report = makeReport(method, candidates, kernels, replacements, entries,
        splitWeights(out.weightSpecs!, out.weightData), outputDeviation, autoReport);
    return {artifacts: out, report};
  } finally {
    session.dispose();
  }
}
