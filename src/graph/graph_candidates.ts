/**
 * Which nodes of a GraphModel are a matmul with a constant weight, x·W: MatMul, BatchMatMul(V2) and
 * _FusedMatMul with a constant right operand, and Conv2D / _FusedConv2D with a constant 1×1 kernel,
 * stride 1, no dilation, NHWC and no padding (a matmul over channels). Every such op is listed; those in
 * a form that cannot become a sparse node carry the reason.
 */
import type {io} from '@tensorflow/tfjs-core';
import {Activation, ACTIVATIONS} from '../kernels/kernel_names.js';
import {attrBool, attrInts, attrNumber, attrString, attrStrings, dataInputs, GraphDef, inputNode, NodeDef} from './graph_def.js';

/** The ops looked at. */
export const MATMUL_OPS = ['MatMul', 'BatchMatMul', 'BatchMatMulV2', '_FusedMatMul', 'Conv2D', '_FusedConv2D'];

/** A matmul-like node and how it maps onto `act(x·W + bias)` with W [K, N]. */
export interface GraphCandidate {
  /** The node's name. */
  node: string;
  op: string;
  /** The Const node that holds the weight, when there is one. */
  weight?: string;
  /** The weight as a matrix [K, N], when known. */
  shape?: [number, number];
  /** The stored weight is [N, K] (transpose_b / adj_y). */
  transposeW: boolean;
  /** x's last two axes are [K, M] (transpose_a / adj_x). */
  transposeX: boolean;
  activation: Activation;
  leakyreluAlpha: number;
  /** The node's bias input, if it fuses one, then its prelu weights, if any. */
  args: string[];
  hasBias: boolean;
  /** Rank of the weight operand (BatchMatMul broadcasts x up to it). */
  weightRank: number;
  /** Why it cannot become a sparse node. */
  reason?: string;
}

const FUSED_ACTIVATIONS: Record<string, Activation> = {
  relu: 'relu', relu6: 'relu6', elu: 'elu', leakyrelu: 'leakyrelu', prelu: 'prelu', sigmoid: 'sigmoid',
};

/** Fused ops of a _Fused* node: ['BiasAdd'] or ['BiasAdd', activation]. Returns a reason if not. */
function fusedOps(node: NodeDef, c: GraphCandidate): string | undefined {
  const ops = attrStrings(node, 'fused_ops', []).map((o) => o.toLowerCase());
  if (ops.length === 0 || ops[0] !== 'biasadd' || ops.length > 2) return `fused ops [${ops.join(', ')}] are not BiasAdd plus an activation`;
  const activation = ops.length === 2 ? FUSED_ACTIVATIONS[ops[1]] : 'linear';
  if (activation == null || !ACTIVATIONS.includes(activation)) return `fused activation '${ops[1]}' is not supported`;
  const numArgs = attrNumber(node, 'num_args', 1);
  const want = activation === 'prelu' ? 2 : 1;
  const inputs = dataInputs(node);
  if (numArgs !== want || inputs.length < 2 + want) return `fused ops [${ops.join(', ')}] with ${numArgs} extra inputs`;
  c.activation = activation;
  c.leakyreluAlpha = attrNumber(node, 'leakyrelu_alpha', 0.2);
  c.args = inputs.slice(2, 2 + want);
  c.hasBias = true;
  return undefined;
}

function convReason(node: NodeDef, shape: number[]): string | undefined {
  if (shape.length !== 4 || shape[0] !== 1 || shape[1] !== 1) return `kernel is [${shape.join(', ')}], not 1×1`;
  if (attrInts(node, 'strides', [1, 1, 1, 1]).some((s) => s !== 1)) return 'stride is not 1';
  if (attrInts(node, 'dilations', [1, 1, 1, 1]).some((d) => d !== 1)) return 'dilation is not 1';
  const format = attrString(node, 'data_format', 'NHWC').toUpperCase();
  if (format !== 'NHWC') return `data format is ${format}, not NHWC`;
  const padding = attrString(node, 'padding', 'VALID').toUpperCase();
  if (padding === 'EXPLICIT' && attrInts(node, 'explicit_paddings', []).some((p) => p !== 0)) return 'explicit padding';
  return undefined;
}

/**
 * Lists every matmul-like node of `graph`. `weights` are the model's weight specs by name: a weight
 * operand counts as constant when it is a Const node with a float32 weight of that name.
 */
export function findCandidates(graph: GraphDef, weights: Map<string, io.WeightsManifestEntry>): GraphCandidate[] {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const consumers = new Map<string, string[]>();
  for (const n of graph.node) {
    for (const i of n.input ?? []) {
      const from = inputNode(i);
      consumers.set(from, [...(consumers.get(from) ?? []), n.name]);
    }
  }
  const isConst = (input: string | undefined) => input != null && byName.get(inputNode(input))?.op === 'Const';
  const out: GraphCandidate[] = [];
  for (const node of graph.node) {
    if (!MATMUL_OPS.includes(node.op)) continue;
    const conv = node.op === 'Conv2D' || node.op === '_FusedConv2D';
    const batch = node.op.startsWith('BatchMatMul');
    const c: GraphCandidate = {
      node: node.name, op: node.op, transposeW: false, transposeX: false, activation: 'linear', leakyreluAlpha: 0.2,
      args: [], hasBias: false, weightRank: 2,
    };
    out.push(c);
    const [x, w] = dataInputs(node);
    if (x == null || w == null) {
      c.reason = 'fewer than two inputs';
      continue;
    }
    if (!isConst(w)) {
      c.reason = isConst(x) && !conv ? 'the constant is the left operand' : 'the weight operand is not a constant';
      continue;
    }
    if (isConst(x)) {
      c.reason = 'both operands are constants';
      continue;
    }
    const weightName = inputNode(w);
    c.weight = weightName;
    const spec = weights.get(weightName);
    if (spec == null) {
      c.reason = `constant '${weightName}' is not in the weights manifest`;
      continue;
    }
    if (spec.dtype !== 'float32') {
      c.reason = `weight is ${spec.dtype}, not float32`;
      continue;
    }
    const shape = spec.shape;
    c.weightRank = shape.length;
    if (conv) {
      c.reason = convReason(node, shape);
      if (c.reason == null) c.shape = [shape[2], shape[3]];
    } else if (shape.length < 2) {
      c.reason = `weight has rank ${shape.length}`;
    } else if (shape.slice(0, -2).some((d) => d !== 1)) {
      c.reason = `weight is a batch of matrices [${shape.join(', ')}]`;
    } else {
      c.transposeX = batch ? attrBool(node, 'adj_x', false) : attrBool(node, 'transpose_a', false);
      c.transposeW = batch ? attrBool(node, 'adj_y', false) : attrBool(node, 'transpose_b', false);
      const [r0, r1] = shape.slice(-2);
      c.shape = c.transposeW ? [r1, r0] : [r0, r1];
      if (!batch && shape.length !== 2) c.reason = `${node.op} weight has rank ${shape.length}`;
    }
    if (c.reason == null && node.op.startsWith('_Fused')) c.reason = fusedOps(node, c);
    const users = consumers.get(weightName) ?? [];
    if (c.reason == null && users.length > 1) {
      c.reason = `weight '${weightName}' is shared with node '${users.find((u) => u !== node.name) ?? node.name}'`;
    }
  }
  return out;
}
