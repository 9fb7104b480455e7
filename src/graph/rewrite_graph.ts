/**
 * Writes a converted GraphModel: each replaced node becomes a SPARSE_GRAPH_OP node reading its encoded
 * weight from three new int32 Const nodes; the dense weight's Const node and its bytes are dropped.
 * Everything else (other nodes, weights byte for byte, signature, metadata) is carried over.
 */
import type {io} from '@tensorflow/tfjs-core';
import {EncodedSparseMatrix, HEADER_WORDS, popcount32, storedValueWords, TILE_N} from '../ops/format.js';
import type {GraphCandidate} from './graph_candidates.js';
import {dataInputs, GraphDef, isControlInput, NodeDef} from './graph_def.js';
import {sparseNodeAttrs, SPARSE_GRAPH_OP} from './sparse_graph_node.js';
import {int32Entry, joinWeights, WeightEntry} from './weight_entries.js';

/** A node to replace and its pruned, encoded weight. */
export interface NodeReplacement {
  candidate: GraphCandidate;
  encoded: EncodedSparseMatrix;
}

function constNode(name: string, length: number): NodeDef {
  return {
    name, op: 'Const',
    attr: {
      value: {tensor: {dtype: 'DT_INT32', tensorShape: {dim: [{size: String(length)}]}}},
      dtype: {type: 'DT_INT32'},
    },
  };
}

export function sparsityOf(e: EncodedSparseMatrix): number {
  let nnz = 0;
  for (let i = 0; i < e.header.length; i++) if (i % HEADER_WORDS < TILE_N) nnz += popcount32(e.header[i]);
  return 1 - nnz / (e.shape[0] * e.shape[1]);
}

function storedValues(e: EncodedSparseMatrix): Int32Array {
  return e.values.length === storedValueWords(e) ? e.values : new Int32Array(storedValueWords(e));
}

/** The new artifacts. `entries` are the source's weights in manifest order. */
export function rewriteGraph(
    artifacts: io.ModelArtifacts, graph: GraphDef, entries: WeightEntry[],
    replacements: NodeReplacement[]): io.ModelArtifacts {
  const taken = new Set(graph.node.map((n) => n.name));
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const byNode = new Map(replacements.map((r) => [r.candidate.node, r]));
  const dropped = new Set(replacements.map((r) => r.candidate.weight!));
  const added = new Map<string, NodeDef[]>();
  const addedEntries = new Map<string, WeightEntry[]>();
  const nodes: NodeDef[] = [];
  for (const node of graph.node) {
    const r = byNode.get(node.name);
    if (r == null) {
      if (!dropped.has(node.name)) nodes.push(node);
      continue;
    }
    const c = r.candidate, e = r.encoded;
    const base = `${c.weight}/sparse`;
    const arrays: Array<[string, Int32Array]> = [
      [unique(`${base}/header`), e.header], [unique(`${base}/offsets`), e.offsets], [unique(`${base}/values`), storedValues(e)],
    ];
    added.set(node.name, arrays.map(([name, a]) => constNode(name, a.length)));
    addedEntries.set(c.weight!, arrays.map(([name, a]) => int32Entry(name, a)));
    const [x] = dataInputs(node);
    nodes.push({
      name: node.name,
      op: SPARSE_GRAPH_OP,
      input: [x, ...arrays.map(([name]) => name), ...c.args, ...(node.input ?? []).filter(isControlInput)],
      ...(node.device != null ? {device: node.device} : {}),
      attr: sparseNodeAttrs({
        shape: e.shape, valueType: e.valueType, transposeX: c.transposeX, activation: c.activation,
        leakyreluAlpha: c.leakyreluAlpha, numArgs: c.args.length, outRank: c.weightRank, sourceOp: c.op,
        weight: c.weight!, sparsity: sparsityOf(e),
      }),
    });
    nodes.push(...added.get(node.name)!);
  }
  // The encoded arrays take the place of the dense weight in the manifest, so shards keep their order.
  const weights: WeightEntry[] = [];
  for (const entry of entries) {
    const replacement = addedEntries.get(entry.spec.name);
    if (replacement != null) weights.push(...replacement);
    else if (!dropped.has(entry.spec.name)) weights.push(entry);
  }
  const {specs, data} = joinWeights(weights);
  return {
    ...artifacts,
    format: artifacts.format ?? 'graph-model',
    modelTopology: {...graph, node: nodes},
    weightSpecs: specs,
    weightData: data,
  };
}
