/** The cpu SparseGather kernel: decodes the asked rows by the address formula of docs/format.md. */
import {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {f16BitsToF32} from '../../ops/f16.js';
import {groupPrefix, HEADER_WORDS, popcount32, TILE_K, TILE_N, tileGrid} from '../../ops/format.js';
import {SparseGather, SparseGatherAttrs, SparseGatherInputs} from '../kernel_names.js';
import {output, read, SyncBackend} from './sync_backend.js';

function sparseGatherCpu(args: {inputs: SparseGatherInputs, backend: unknown, attrs: SparseGatherAttrs}): TensorInfo {
  const {inputs, attrs: {K, N, valueType, positionStart = 0, positionPeriod = 1}} = args;
  const backend = args.backend as SyncBackend;
  const indices = read(backend, inputs.indices);
  const header = read(backend, inputs.header) as Int32Array;
  const offsets = read(backend, inputs.offsets) as Int32Array;
  const words = read(backend, inputs.values);
  const halves = new Uint16Array(words.buffer, words.byteOffset, words.length * 2);
  const floats = new Float32Array(words.buffer, words.byteOffset, words.length);
  const {KT, NT} = tileGrid(K, N);
  const out = new Float32Array(indices.length * N);
  if (inputs.positionTable != null) {
    const table = read(backend, inputs.positionTable);
    for (let i = 0; i < indices.length; i++) {
      const from = (positionStart + i % positionPeriod) * N;
      out.set(table.subarray(from, from + N), i * N);
    }
  }
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    if (!Number.isInteger(row) || row < 0 || row >= K) {
      throw new Error(`sparseGather: index ${row} at ${i} is not in [0, ${K - 1}]`);
    }
    const kt = Math.floor(row / TILE_K);
    const r = row % TILE_K;
    const below = r === 0 ? 0 : (0xffffffff >>> (32 - r));
    for (let nt = 0; nt < NT; nt++) {
      const t = nt * KT + kt;
      const h = t * HEADER_WORDS;
      for (let c = 0; c < TILE_N && nt * TILE_N + c < N; c++) {
        const bits = header[h + c];
        if (((bits >>> r) & 1) === 0) continue;
        let e = offsets[t] + groupPrefix(header, t, c >> 2) + popcount32(bits & below);
        for (let c2 = c & ~3; c2 < c; c2++) e += popcount32(header[h + c2]);
        out[i * N + nt * TILE_N + c] += valueType === 'float16' ? f16BitsToF32(halves[e]) : floats[e];
      }
    }
  }
  return output(backend, out, [indices.length, N]);
}

export const sparseGatherCpuConfig: KernelConfig = {
  kernelName: SparseGather,
  backendName: 'cpu',
  kernelFunc: sparseGatherCpu as unknown as KernelFunc,
};
