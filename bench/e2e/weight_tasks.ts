/**
 * The CPU work of building a model's weights, as tasks a worker thread can run: draw a tensor into a
 * SharedArrayBuffer (the main thread and every worker see the same values, nothing is copied), or prune
 * and encode a drawn matrix at one sparsity. No TF.js here.
 */
import type {EncodedSparseMatrix, ValueType} from '../../src/ops/format.js';
import {drawTensor, encodePruned, TensorSpec} from './weights.js';

export type WeightTask =
  | {kind: 'draw'; spec: TensorSpec; seed: number; buffer: SharedArrayBuffer}
  | {kind: 'encode'; spec: TensorSpec; buffer: SharedArrayBuffer; sparsity: number; valueType: ValueType};

export interface WeightResult {
  ms: number;
  encoded?: EncodedSparseMatrix;
  zeros?: number;
  error?: string;
}

export function runWeightTask(t: WeightTask): {result: WeightResult; transfer: ArrayBuffer[]} {
  const t0 = performance.now();
  try {
    const values = new Float32Array(t.buffer);
    if (t.kind === 'draw') {
      drawTensor(t.spec, t.seed, values);
      return {result: {ms: performance.now() - t0}, transfer: []};
    }
    const {encoded, zeros} = encodePruned(values, t.spec, t.sparsity, t.valueType);
    return {
      result: {ms: performance.now() - t0, encoded, zeros},
      transfer: [encoded.header.buffer, encoded.offsets.buffer, encoded.values.buffer] as ArrayBuffer[],
    };
  } catch (e) {
    return {result: {ms: performance.now() - t0, error: e instanceof Error ? e.message : String(e)}, transfer: []};
  }
}
