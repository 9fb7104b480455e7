/**
 * The dense twin of a converted GraphModel: the weights each TfjsSparseMatMul node multiplies with,
 * decoded from the converted artifacts into the layout of the dense model's Const node, to feed into the
 * dense model. The twin computes what the converted model computes (same weights, f16-rounded when so
 * stored), on the backend's fast dense kernels; the evaluation checks the two agree on a sample.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {io} from '@tensorflow/tfjs-core';
import {decodeDense} from '../../src/ops/decode';
import {FORMAT_NAME, FORMAT_VERSION} from '../../src/ops/format';
import {SPARSE_GRAPH_OP} from '../../src/graph/sparse_graph_node';
import {attrBool, attrNumber, attrString, NodeDef} from '../../src/graph/graph_def';
import {splitWeights} from '../../src/graph/weight_entries';

function int32(entry: {bytes: Uint8Array}): Int32Array {
  return new Int32Array(entry.bytes.slice().buffer);
}

/** Weight name → dense tensor in the dense model's layout, for every converted node. Dispose them. */
export function twinOverrides(dense: io.ModelArtifacts, converted: io.ModelArtifacts): tf.NamedTensorMap {
  const denseNodes = new Map(((dense.modelTopology as {node: NodeDef[]}).node).map((n) => [n.name, n]));
  const specs = new Map(dense.weightSpecs!.map((s) => [s.name, s]));
  const entries = new Map(splitWeights(converted.weightSpecs!, converted.weightData).map((e) => [e.spec.name, e]));
  const out: tf.NamedTensorMap = {};
  for (const node of (converted.modelTopology as {node: NodeDef[]}).node) {
    if (node.op !== SPARSE_GRAPH_OP) continue;
    const K = attrNumber(node, 'K', 0), N = attrNumber(node, 'N', 0);
    const weight = attrString(node, 'weight', '');
    const [h, o, v] = node.input!.slice(1, 4).map((name) => int32(entries.get(name)!));
    const valueType = attrString(node, 'value_type', 'float16') as 'float16' | 'float32';
    const offsetsTotal = o[o.length - 1];
    const values = offsetsTotal === 0 ? new Int32Array(0) : v;
    const kn = decodeDense({format: FORMAT_NAME, version: FORMAT_VERSION, shape: [K, N], valueType, header: h, offsets: o, values});
    const source = denseNodes.get(node.name)!;
    const transposed = source.op.startsWith('BatchMatMul') ? attrBool(source, 'adj_y', false) : attrBool(source, 'transpose_b', false);
    const w = tf.tensor2d(kn, [K, N]);
    const stored = transposed ? tf.transpose(w) : w;
    out[weight] = tf.reshape(stored, specs.get(weight)!.shape);
    if (stored !== w) stored.dispose();
    w.dispose();
  }
  return out;
}
