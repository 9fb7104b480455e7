/** Registers the webgpu kernels. Registering needs no GPU: they run once the webgpu backend is active. */
import {registerKernel} from '@tensorflow/tfjs-core';
import {sparseMatMulWebGPUConfig} from './webgpu/sparse_mat_mul_webgpu.js';

registerKernel(sparseMatMulWebGPUConfig);
