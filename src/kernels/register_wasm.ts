/**
 * Registers the cpu reference SparseMatMul kernel for the `wasm` backend too. The kernel only uses
 * `readSync` and `write`, which tfjs-backend-wasm implements with the same meaning, so it runs there as
 * written (in JS, not in wasm). It makes sparse models usable, and trainable, on the much faster wasm
 * backend for everything around the sparse layers. Registering needs no import of the wasm backend.
 */
import {registerKernel} from '@tensorflow/tfjs-core';
import {sparseMatMulCpuConfig} from './cpu/sparse_mat_mul_cpu.js';

registerKernel({...sparseMatMulCpuConfig, backendName: 'wasm'});
