/**
 * The custom GraphModel op that replaces a converted matmul node: its attributes (written by the
 * converter) and its executor (run by tfjs-converter once registered with `registerOp`).
 *
 * Inputs, in order: x, then the encoded weight as three int32 Const nodes (header, offsets, values;
 * docs/format.md), then the fused bias and prelu weights when the source node had them, then whatever
 * control dependencies the source node had.
 */
import {reshape, Tensor, tidy} from '@tensorflow/tfjs-core';
import {Activation, ACTIVATIONS} from '../kernels/kernel_names.js';
import {EMPTY_VALUE_WORDS, FORMAT_NAME, FORMAT_VERSION, ValueType} from '../ops/format.js';
import {sparseMatMulEncoded} from '../ops/sparse_mat_mul.js';
import {validateEncoded} from '../ops/validate.js';
import {AttrValue, boolAttr, floatAttr, intAttr, stringAttr} from './graph_def.js';

/** The op name converted nodes carry in model.json. */
export const SPARSE_GRAPH_OP = 'TfjsSparseMatMul';

/** What a converted node computes: `act(x·W + bias)` with W [K, N]. */
export interface SparseNodeSpec {
  shape: [number, number];
  valueType: ValueType;
  transposeX: boolean;
  activation: Activation;
  leakyreluAlpha: number;
  /** Number of fused inputs after the weight: 0, 1 (bias) or 2 (bias, prelu weights). */
  numArgs: number;
  /** The output is broadcast up to this rank (BatchMatMul with a weight of rank > 2). */
  outRank: number;
  /** The source op and weight, kept for error messages and for people reading model.json. */
  sourceOp: string;
  weight: string;
  sparsity: number;
}

/** The node's attributes, in TF's AttrValue JSON. */
export function sparseNodeAttrs(s: SparseNodeSpec): Record<string, AttrValue> {
  return {
    T: {type: 'DT_FLOAT'},
    format: stringAttr(FORMAT_NAME),
    format_version: intAttr(FORMAT_VERSION),
    K: intAttr(s.shape[0]),
    N: intAttr(s.shape[1]),
    value_type: stringAttr(s.valueType),
    transpose_x: boolAttr(s.transposeX),
    activation: stringAttr(s.activation),
    leakyrelu_alpha: floatAttr(s.leakyreluAlpha),
    num_args: intAttr(s.numArgs),
    out_rank: intAttr(s.outRank),
    source_op: stringAttr(s.sourceOp),
    weight: stringAttr(s.weight),
    sparsity: floatAttr(s.sparsity),
  };
}

/** The shape of tfjs-converter's GraphNode (its `inputs` and parsed `attrs`; strings come lower-cased). */
export interface SparseGraphNodeValue {
  inputs: Tensor[];
  attrs: {[key: string]: unknown};
}

function fail(node: SparseGraphNodeValue, msg: string): never {
  const weight = typeof node.attrs['weight'] === 'string' ? ` (weight '${node.attrs['weight']}')` : '';
  throw new Error(`${SPARSE_GRAPH_OP}${weight}: ${msg}`);
}

function intOf(node: SparseGraphNodeValue, name: string): number {
  const v = node.attrs[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(node, `attribute ${name} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** dataIds of header, offsets and values already checked together. */
const checked = new WeakMap<object, {offsets: object, values: object}>();

/**
 * Checks the node's encoded weight as `SparseMatrix.fromEncoded` does, once per set of tensors. It reads
 * them synchronously: a loaded model's weights are still host data before their first use, so this works
 * on every backend, WebGPU in Node included.
 */
function checkEncoded(node: SparseGraphNodeValue, header: Tensor, offsets: Tensor, values: Tensor,
    shape: [number, number], valueType: ValueType): void {
  const seen = checked.get(header.dataId);
  if (seen != null && seen.offsets === offsets.dataId && seen.values === values.dataId) return;
  for (const [name, t] of [['header', header], ['offsets', offsets], ['values', values]] as const) {
    if (!(t instanceof Tensor) || t.dtype !== 'int32' || t.rank !== 1) {
      fail(node, `the encoded ${name} must be a 1-D int32 tensor, got ${t instanceof Tensor ? `${t.dtype} [${t.shape.join(', ')}]` : String(t)}`);
    }
  }
  try {
    const o = offsets.dataSync() as Int32Array;
    let v = values.dataSync() as Int32Array;
    // An all-zero matrix stores EMPTY_VALUE_WORDS words of nothing.
    if (o.length > 0 && o[o.length - 1] === 0 && v.length === EMPTY_VALUE_WORDS) v = v.subarray(0, 0);
    validateEncoded({
      format: FORMAT_NAME, version: FORMAT_VERSION, shape, valueType, header: header.dataSync() as Int32Array,
      offsets: o, values: v,
    });
  } catch (e) {
    fail(node, (e as Error).message);
  }
  checked.set(header.dataId, {offsets: offsets.dataId, values: values.dataId});
}

/** Runs a converted node: sparseMatMul with the node's fused bias and activation. */
export function executeSparseGraphNode(node: SparseGraphNodeValue): Tensor {
  const format = node.attrs['format'];
  if (format !== FORMAT_NAME) fail(node, `unknown format '${String(format)}', this build reads '${FORMAT_NAME}'`);
  const version = intOf(node, 'format_version');
  if (version !== FORMAT_VERSION) fail(node, `unknown format version ${version}, this build reads version ${FORMAT_VERSION}`);
  const shape: [number, number] = [intOf(node, 'K'), intOf(node, 'N')];
  const valueType = node.attrs['value_type'];
  if (valueType !== 'float16' && valueType !== 'float32') fail(node, `unknown value_type '${String(valueType)}'`);
  const activation = node.attrs['activation'] as Activation;
  if (!ACTIVATIONS.includes(activation)) fail(node, `unknown activation '${String(activation)}'`);
  const numArgs = intOf(node, 'num_args');
  const outRank = intOf(node, 'out_rank');
  if (node.inputs.length < 4 + numArgs) fail(node, `expected ${4 + numArgs} inputs, got ${node.inputs.length}`);
  const [x, header, offsets, values] = node.inputs;
  checkEncoded(node, header, offsets, values, shape, valueType);
  const leakyreluAlpha = node.attrs['leakyrelu_alpha'];
  // sparseMatMul names what is wrong with x, the bias or the prelu weights, but not the node.
  try {
    return tidy(() => {
      const y = sparseMatMulEncoded(x, {header, offsets, values, shape, valueType}, {
        transposeX: node.attrs['transpose_x'] === true,
        bias: numArgs >= 1 ? node.inputs[4] : undefined,
        activation,
        preluActivationWeights: numArgs >= 2 ? node.inputs[5] : undefined,
        leakyreluAlpha: typeof leakyreluAlpha === 'number' ? leakyreluAlpha : 0.2,
      });
      return y.rank >= outRank ? y : reshape(y, [...new Array<number>(outRank - y.rank).fill(1), ...y.shape]);
    });
  } catch (e) {
    fail(node, (e as Error).message);
  }
}
