/**
 * Pruning the targets of a GraphModel: magnitude, wanda or SparseGPT, with the statistics they need
 * measured by running the dense GraphModel on the calibration batches. Pruned weights are fed in place
 * of their Const nodes, so later nodes are measured on the partly pruned model and auto sparsity can
 * try each node at each level without rebuilding anything.
 */
import {io, NamedTensorMap, tensor} from '@tensorflow/tfjs-core';
import {loadGraphModelSync} from '@tensorflow/tfjs-converter';
import type {GraphModel} from '@tensorflow/tfjs-converter';
import {decodeDense} from '../ops/decode.js';
import {encodeDense} from '../ops/encode.js';
import type {ValueType} from '../ops/format.js';
import type {PruneMethod} from '../prune/sparsify_model.js';
import {pruneSparseGPT} from '../prune/sparsegpt.js';
import {pruneMagnitude, pruneWanda} from '../prune/select.js';
import {disposeOutputs, GraphModelInputs, graphOutputDeviation, graphOutputs, InputProbe, InputStats, inputStats} from './graph_calibration.js';
import {dataInputs, GraphDef} from './graph_def.js';
import {Target, transpose2d} from './graph_targets.js';
import type {NodeReplacement} from './rewrite_graph.js';

/**
 * SparseGPT's damping, as a fraction of the mean of diag(XᵀX). 0.1, not the 0.01 of the paper: on
 * USE-lite, layer by layer, it kept the embeddings of IMDB reviews closer at every layer we measured,
 * and much closer for a layer that sees one row per text (128 rows for K = 512), where 0.01 overfits the
 * calibration data and loses to magnitude pruning.
 */
const SPARSEGPT_DAMP = 0.1;

const NO_STATS: InputStats = {squareSums: new Float64Array(0), gram: null, rows: 0};

/** A running session: the dense model (when there is calibration data) and the weights fed in. */
export class PruningSession {
  private readonly model: GraphModel<io.IOHandlerSync> | null;
  private readonly overrides: NamedTensorMap = {};

  constructor(artifacts: io.ModelArtifacts, private readonly graph: GraphDef, private readonly method: PruneMethod,
      private readonly calibration: GraphModelInputs[] | undefined) {
    this.model = calibration != null ? loadGraphModelSync(artifacts) : null;
  }

  private probe(t: Target): InputProbe {
    return {input: dataInputs(this.graph.node.find((n) => n.name === t.c.node)!)[0], K: t.K, transposeX: t.c.transposeX};
  }

  /** What the method needs of the targets' inputs on `batches`, on the model as fed now. */
  private stats(targets: Target[], batches: GraphModelInputs[]): Promise<InputStats[]> {
    if (this.method === 'magnitude') return Promise.resolve(targets.map(() => NO_STATS));
    return inputStats(this.model!, batches, targets.map((t) => this.probe(t)), this.method === 'sparsegpt', this.overrides);
  }

  private prune(t: Target, s: number, stats: InputStats): Float32Array {
    if (this.method === 'magnitude') return pruneMagnitude(t.kernel, s);
    if (this.method === 'wanda') return pruneWanda(t.kernel, [t.K, t.N], stats.squareSums.map(Math.sqrt), s);
    return pruneSparseGPT(t.kernel, [t.K, t.N], stats.gram!, s, {damp: SPARSEGPT_DAMP});
  }

  /** Feeds a [K, N] kernel in place of the target's Const node (null: the dense weight again). */
  private feed(t: Target, kernel: Float32Array | null): void {
    const name = t.c.weight!;
    this.overrides[name]?.dispose();
    delete this.overrides[name];
    if (kernel != null) this.overrides[name] = tensor(t.c.transposeW ? transpose2d(kernel, t.K, t.N) : kernel, t.spec.shape, 'float32');
  }

  /**
   * Auto sparsity's measurements: the output deviation with each target alone at each level. The
   * statistics come from the even calibration batches and the deviation from the odd ones, so that a
   * method that fits the calibration data (SparseGPT) is not judged on the data it fitted.
   */
  async sensitivity(targets: Target[], levels: number[], progress: (node: string) => void): Promise<Map<string, number[]>> {
    const batches = this.calibration!;
    const fit = batches.length > 1 ? batches.filter((_, i) => i % 2 === 0) : batches;
    const measure = batches.length > 1 ? batches.filter((_, i) => i % 2 === 1) : batches;
    const stats = await this.stats(targets, fit);
    const ref = await graphOutputs(this.model!, measure);
    const cost = new Map<string, number[]>();
    try {
      for (const [i, t] of targets.entries()) {
        const d: number[] = [];
        for (const s of levels) {
          this.feed(t, this.prune(t, s, stats[i]));
          d.push(await graphOutputDeviation(this.model!, measure, ref, this.overrides));
          progress(t.c.node);
        }
        this.feed(t, null);
        cost.set(t.c.node, d);
      }
    } finally {
      disposeOutputs(ref);
    }
    return cost;
  }

  /**
   * Prunes and encodes each target that auto did not keep dense, in order. `sequential`: each target's
   * statistics are measured with the targets before it already pruned (fed in); otherwise all on the
   * dense model.
   */
  async pruneAll(targets: Target[], sequential: boolean, valueType: ValueType,
      progress: (node: string) => void): Promise<NodeReplacement[]> {
    const pruned = targets.filter((t) => t.c.reason == null);
    const dense = sequential || this.model == null ? null : await this.stats(pruned, this.calibration!);
    const replacements: NodeReplacement[] = [];
    for (const [i, t] of pruned.entries()) {
      const stats = dense != null ? dense[i] : this.model != null ? (await this.stats([t], this.calibration!))[0] : NO_STATS;
      const encoded = encodeDense(this.prune(t, t.sparsity, stats), [t.K, t.N], valueType);
      replacements.push({candidate: t.c, encoded});
      // Later nodes see exactly the weights the sparse node multiplies with (f16-rounded if so stored).
      if (this.model != null) this.feed(t, decodeDense(encoded));
      progress(t.c.node);
    }
    return replacements;
  }

  /** ‖y − y_dense‖ / ‖y_dense‖ of the outputs on the calibration data with what is fed now; null without. */
  async outputDeviation(): Promise<number | null> {
    if (this.model == null) return null;
    const ref = await graphOutputs(this.model, this.calibration!);
    try {
      return await graphOutputDeviation(this.model, this.calibration!, ref, this.overrides);
    } finally {
      disposeOutputs(ref);
    }
  }

  dispose(): void {
    for (const name of Object.keys(this.overrides)) this.overrides[name].dispose();
    this.model?.dispose();
  }
}
