/** Registers the cpu kernels. */
import {registerKernel} from '@tensorflow/tfjs-core';
import {kvCacheWriteCpuConfig} from './cpu/kv_cache_write_cpu.js';
import {sparseGatherCpuConfig} from './cpu/sparse_gather_cpu.js';
import {sparseMatMulCpuConfig} from './cpu/sparse_mat_mul_cpu.js';

registerKernel(sparseMatMulCpuConfig);
registerKernel(sparseGatherCpuConfig);
registerKernel(kvCacheWriteCpuConfig);
