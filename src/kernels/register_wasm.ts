/**
 * Registers the cpu reference SparseMatMul and SparseGather kernels for the `wasm` backend too. They only
 * use `readSync` and `write`, which tfjs-backend-wasm implements with the same meaning, so they run there
 * as written (in JS, not in wasm). It makes sparse models usable, and trainable, on the much faster wasm
 * backend for everything around the sparse layers. Registering needs no import of the wasm backend.
 * KVCacheWrite is not registered here: it writes in place, and wasm's readSync returns a copy.
 */
import {registerKernel} from '@tensorflow/tfjs-core';
import {sparseGatherCpuConfig} from './cpu/sparse_gather_cpu.js';
import {sparseMatMulCpuConfig} from './cpu/sparse_mat_mul_cpu.js';

registerKernel({...sparseMatMulCpuConfig, backendName: 'wasm'});
registerKernel({...sparseGatherCpuConfig, backendName: 'wasm'});
