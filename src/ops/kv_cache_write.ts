/** The kvCacheWrite op: new keys or values into a preallocated attention cache, in place. */
import {engine, Tensor, Tensor4D} from '@tensorflow/tfjs-core';
import {KVCacheWrite, KVCacheWriteAttrs} from '../kernels/kernel_names.js';

/** Options of {@link kvCacheWrite}. */
export interface KVCacheWriteOptions {
  /** Cache position of x's first row per sequence: rows go to positions [position, position + S). */
  position: number;
  /** First column of x to read: the heads' entries are columns [column, column + H·D). Defaults to 0. */
  column?: number;
}

/**
 * Writes S new positions of keys (or values) into a cache of shape [B, H, L, D], in place:
 * `cache[b, h, position + s, d] = x[b·S + s, column + h·D + d]`. x is [B·S, C] (rows are sequence b's
 * positions s, as a projection over the batch's tokens returns them), so a fused q/k/v projection
 * output is written without slicing it: pass the column where k (or v) starts.
 *
 * The cache is written where it lies; nothing is copied. The result is a tensor that shares the cache's
 * buffer (dispose it like any tensor; the cache stays), and every tensor that shares that buffer, the
 * cache among them, sees the new entries. Registered on `cpu` and `webgpu`.
 */
export function kvCacheWrite(cache: Tensor4D, x: Tensor, opts: KVCacheWriteOptions): Tensor4D {
  if (!(cache instanceof Tensor) || cache.rank !== 4) {
    throw new Error(`kvCacheWrite: cache must be a 4-D tensor [B, H, L, D], got ${describeTensor(cache)}`);
  }
  if (!(x instanceof Tensor) || x.rank !== 2) {
    throw new Error(`kvCacheWrite: x must be a 2-D tensor [B·S, C], got ${describeTensor(x)}`);
  }
  for (const [t, name] of [[cache, 'cache'], [x, 'x']] as const) {
    if (t.isDisposed) throw new Error(`kvCacheWrite: ${name} is disposed`);
    if (t.dtype !== 'float32') throw new Error(`kvCacheWrite: ${name} must be float32, got ${t.dtype}`);
  }
  const [B, H, L, D] = cache.shape;
  const [rows, C] = x.shape;
  const position = opts?.position;
  const column = opts?.column ?? 0;
  if (rows % B !== 0 || rows === 0) {
    throw new Error(`kvCacheWrite: x has ${rows} rows, not a positive multiple of the cache's batch ${B}`);
  }
  const S = rows / B;
  if (!Number.isInteger(position) || position < 0 || position + S > L) {
    throw new Error(`kvCacheWrite: position ${String(position)} with ${S} new positions does not fit a cache of length ${L}`);
  }
  if (!Number.isInteger(column) || column < 0 || column + H * D > C) {
    throw new Error(`kvCacheWrite: columns [${column}, ${column + H * D}) for ${H} heads × ${D} are not within x's ${C} columns`);
  }
  const attrs: KVCacheWriteAttrs = {position, column};
  return engine().runKernel(KVCacheWrite, {cache, x}, attrs as never) as Tensor4D;
}

function describeTensor(t: unknown): string {
  return t instanceof Tensor ? `shape [${t.shape.join(', ')}]` : typeof t;
}
