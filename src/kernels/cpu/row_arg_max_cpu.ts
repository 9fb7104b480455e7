/** The cpu RowArgMax kernel. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {RowArgMax, RowArgMaxInputs} from '../kernel_names.js';
import {output, read, SyncBackend} from './sync_backend.js';

function rowArgMaxCpu(args: {inputs: RowArgMaxInputs, backend: unknown}): TensorInfo {
  const {inputs: {x}} = args;
  const backend = args.backend as SyncBackend;
  const src = read(backend, x);
  const [rows, C] = x.shape;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = NaN, at = 0;
    for (let c = 0; c < C; c++) {
      const v = src[r * C + c];
      if (v > best || (Number.isNaN(best) && !Number.isNaN(v))) {
        best = v;
        at = c;
      }
    }
    out[r] = at;
  }
  return output(backend, out, [rows]);
}

export const rowArgMaxCpuConfig: KernelConfig = {
  kernelName: RowArgMax,
  backendName: 'cpu',
  kernelFunc: rowArgMaxCpu as unknown as KernelFunc,
};
