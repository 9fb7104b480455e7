/** Registers the cpu kernels. */
import {registerKernel} from '@tensorflow/tfjs-core';
import {sparseMatMulCpuConfig} from './cpu/sparse_mat_mul_cpu.js';

registerKernel(sparseMatMulCpuConfig);
