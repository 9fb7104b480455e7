/**
 * tfjs-sparse: sparse weights for TensorFlow.js. Importing the package registers its kernels
 * (`SparseMatMul`, `SparseGather`, `KVCacheWrite`, and the decoder's `RowNorm`, `MLPActivation`,
 * `DecodeAttention`, `RowArgMax`) on the `cpu` backend and, where tfjs-backend-webgpu is
 * loaded, on `webgpu`.
 *
 * @packageDocumentation
 */
import './kernels/register_cpu.js';
import './kernels/register_wasm.js';
import './kernels/register_webgpu.js';

export {SparseMatrix} from './ops/sparse_matrix.js';
export type {SparseMatrixOptions, SparseMatrixTensors} from './ops/sparse_matrix.js';
export {sparseMatMul} from './ops/sparse_mat_mul.js';
export type {SparseMatMulOptions} from './ops/sparse_mat_mul.js';
export {sparseGather} from './ops/sparse_gather.js';
export type {SparseGatherOptions} from './ops/sparse_gather.js';
export {kvCacheWrite} from './ops/kv_cache_write.js';
export type {KVCacheWriteOptions} from './ops/kv_cache_write.js';
export {rowNorm} from './ops/row_norm.js';
export type {RowNormOptions} from './ops/row_norm.js';
export {mlpActivation} from './ops/mlp_activation.js';
export {decodeAttention, DECODE_ATTENTION_MAX_LENGTH} from './ops/decode_attention.js';
export {rowArgMax} from './ops/row_arg_max.js';
export type {DecodeAttentionOptions} from './ops/decode_attention.js';
export {denseProjection, sparseProjection} from './ops/projection.js';
export type {Projection} from './ops/projection.js';
export type {EncodedSparseMatrix, ValueType} from './ops/format.js';
export {FORMAT_NAME, FORMAT_VERSION} from './ops/format.js';
export type {Activation, MLPActivationKind, RowNormKind} from './kernels/kernel_names.js';

export {SparseDense} from './layers/sparse_dense.js';
export type {SparseDenseArgs} from './layers/sparse_dense.js';
export {sparsifyModel, convertSparseValueType} from './prune/sparsify_model.js';
export type {AutoSparsity, PruneMethod, SparsifyLayerReport, SparsifyOptions, SparsifyReport} from './prune/sparsify_model.js';
export type {ModelInputs} from './prune/calibration.js';
