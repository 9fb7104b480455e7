/**
 * `tfjs-sparse/graph`: GraphModels with sparse weights. Importing it registers the SparseMatMul kernels
 * and, with tfjs-converter's `registerOp`, the op that converted nodes carry, so that `tf.loadGraphModel`
 * runs a converted model. It needs `@tensorflow/tfjs-converter` (an optional peer dependency of the
 * package: only this entry uses it). {@link sparsifyGraphModel} converts a model's artifacts.
 *
 * @packageDocumentation
 */
import {registerOp} from '@tensorflow/tfjs-converter';
import './kernels/register_cpu.js';
import './kernels/register_wasm.js';
import './kernels/register_webgpu.js';
import {executeSparseGraphNode, SPARSE_GRAPH_OP} from './graph/sparse_graph_node.js';

registerOp(SPARSE_GRAPH_OP, executeSparseGraphNode);

export {SPARSE_GRAPH_OP} from './graph/sparse_graph_node.js';
export {sparsifyGraphModel} from './graph/sparsify_graph_model.js';
export type {GraphSparsifyOptions} from './graph/sparsify_graph_model.js';
export type {GraphSparsifyNodeReport, GraphSparsifyReport, WeightBytes} from './graph/graph_report.js';
export type {GraphModelInputs} from './graph/graph_calibration.js';
export type {PruneMethod} from './prune/sparsify_model.js';
