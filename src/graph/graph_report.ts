/** The report of sparsifyGraphModel: every matmul-like node, converted or not, and the model's sizes. */
import {EncodedSparseMatrix, storedValueWords} from '../ops/format.js';
import type {PruneMethod} from '../prune/sparsify_model.js';
import type {GraphCandidate} from './graph_candidates.js';
import {NodeReplacement, sparsityOf} from './rewrite_graph.js';
import {loadedBytes, WeightEntry} from './weight_entries.js';

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

function totals(entries: WeightEntry[]): WeightBytes {
  return {
    file: entries.reduce((a, e) => a + e.bytes.byteLength, 0),
    backend: entries.reduce((a, e) => a + loadedBytes(e.spec, e.bytes.byteLength), 0),
  };
}

function encodedBytes(e: EncodedSparseMatrix): number {
  return 4 * (e.header.length + e.offsets.length + storedValueWords(e));
}

/**
 * The report: `kernels` are the dense [K, N] kernels of every candidate with a constant weight, `before`
 * and `after` all weights of the source and of the converted model.
 */
export function makeReport(
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
