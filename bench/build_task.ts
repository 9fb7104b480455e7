/**
 * One unit of weight building, run in a worker thread (bench/encode_worker.ts) or inline: a random
 * [K, N] matrix from a seed, either returned as is (the dense set) or pruned to one sparsity and
 * encoded in the tiled-bitmap format. Pure CPU work; no TF.js.
 */
import {encodeDense} from '../src/ops/encode.js';
import type {EncodedSparseMatrix, ValueType} from '../src/ops/format.js';
import {magnitudeHistogram, pruneCopy, randn} from './weights.js';

export interface BuildTask {
  id: number;
  K: number;
  N: number;
  seed: number;
  /** null: the unpruned matrix (dense set). */
  sparsity: number | null;
  valueType: ValueType;
}

export interface BuildResult {
  id: number;
  base?: Float32Array;
  encoded?: EncodedSparseMatrix;
  zeros?: number;
  ms: number;
  error?: string;
}

export function runBuildTask(t: BuildTask): {result: BuildResult; transfer: ArrayBuffer[]} {
  const t0 = performance.now();
  try {
    const base = randn(t.K * t.N, t.seed);
    if (t.sparsity == null) {
      return {result: {id: t.id, base, ms: performance.now() - t0}, transfer: [base.buffer as ArrayBuffer]};
    }
    const {values, zeros} = pruneCopy(base, t.sparsity, magnitudeHistogram(base));
    const encoded = encodeDense(values, [t.K, t.N], t.valueType);
    return {
      result: {id: t.id, encoded, zeros, ms: performance.now() - t0},
      transfer: [encoded.header.buffer, encoded.offsets.buffer, encoded.values.buffer] as ArrayBuffer[],
    };
  } catch (e) {
    return {result: {id: t.id, error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0}, transfer: []};
  }
}
