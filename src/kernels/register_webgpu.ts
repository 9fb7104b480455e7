/**
 * Registers the webgpu kernels. Registering needs no GPU: they run once the webgpu backend is active.
 * Also asks for the `subgroups` feature on the backend's device, if the backend is not created yet.
 */
import {registerKernel} from '@tensorflow/tfjs-core';
import {decodeAttentionWebGPUConfig} from './webgpu/decode_attention_webgpu.js';
import {kvCacheWriteWebGPUConfig} from './webgpu/kv_cache_write_webgpu.js';
import {mlpActivationWebGPUConfig} from './webgpu/mlp_activation_webgpu.js';
import {rowArgMaxWebGPUConfig} from './webgpu/row_arg_max_webgpu.js';
import {rowNormWebGPUConfig} from './webgpu/row_norm_webgpu.js';
import {sparseGatherWebGPUConfig} from './webgpu/sparse_gather_webgpu.js';
import {sparseMatMulWebGPUConfig} from './webgpu/sparse_mat_mul_webgpu.js';
import {requestSubgroups} from './webgpu/subgroup_backend.js';

registerKernel(sparseMatMulWebGPUConfig);
registerKernel(sparseGatherWebGPUConfig);
registerKernel(kvCacheWriteWebGPUConfig);
registerKernel(rowNormWebGPUConfig);
registerKernel(mlpActivationWebGPUConfig);
registerKernel(decodeAttentionWebGPUConfig);
registerKernel(rowArgMaxWebGPUConfig);

requestSubgroups();
