/** The cpu RowNorm kernel: each row's statistics in float64, then the normalised row. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {RowNorm, RowNormAttrs, RowNormInputs} from '../kernel_names.js';
import {output, read, SyncBackend} from './sync_backend.js';

function rowNormCpu(args: {inputs: RowNormInputs, backend: unknown, attrs: RowNormAttrs}): TensorInfo {
  const {inputs: {x}, attrs: {kind, epsilon}} = args;
  const backend = args.backend as SyncBackend;
  const src = read(backend, x);
  const [rows, C] = x.shape;
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    const row = src.subarray(r * C, (r + 1) * C);
    let mean = 0;
    if (kind === 'layer') {
      for (let c = 0; c < C; c++) mean += row[c];
      mean /= C;
    }
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (row[c] - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / C + epsilon);
    for (let c = 0; c < C; c++) out[r * C + c] = (row[c] - mean) * inv;
  }
  return output(backend, out, [rows, C]);
}

export const rowNormCpuConfig: KernelConfig = {
  kernelName: RowNorm,
  backendName: 'cpu',
  kernelFunc: rowNormCpu as unknown as KernelFunc,
};
