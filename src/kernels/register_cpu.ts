/** Registers the cpu kernels. */
import {registerKernel} from '@tensorflow/tfjs-core';
import {decodeAttentionCpuConfig} from './cpu/decode_attention_cpu.js';
import {rowArgMaxCpuConfig} from './cpu/row_arg_max_cpu.js';
import {kvCacheWriteCpuConfig} from './cpu/kv_cache_write_cpu.js';
import {mlpActivationCpuConfig} from './cpu/mlp_activation_cpu.js';
import {rowNormCpuConfig} from './cpu/row_norm_cpu.js';
import {sparseGatherCpuConfig} from './cpu/sparse_gather_cpu.js';
import {sparseMatMulCpuConfig} from './cpu/sparse_mat_mul_cpu.js';

registerKernel(sparseMatMulCpuConfig);
registerKernel(sparseGatherCpuConfig);
registerKernel(kvCacheWriteCpuConfig);
registerKernel(rowNormCpuConfig);
registerKernel(mlpActivationCpuConfig);
registerKernel(decodeAttentionCpuConfig);
registerKernel(rowArgMaxCpuConfig);
