/** The decodeAttention op: one query position per sequence against a KV cache, in one kernel. */
import {engine, Tensor, Tensor2D, Tensor4D} from '@tensorflow/tfjs-core';
import {DecodeAttention, DecodeAttentionAttrs} from '../kernels/kernel_names.js';
import {checkFloatTensor} from './check_tensor.js';

/** Longest `length` the webgpu kernel takes: its scores live in workgroup memory (8 KB). */
export const DECODE_ATTENTION_MAX_LENGTH = 2048;

/** Options of {@link decodeAttention}. */
export interface DecodeAttentionOptions {
  /** Cached positions to attend to: [0, length), the query's own included. */
  length: number;
  /** First column of q's heads: head h is columns [column + h·D, column + (h + 1)·D). Defaults to 0. */
  column?: number;
  /** Multiplies the scores. Defaults to 1 (fold 1/√D into the q projection to save the multiply). */
  scale?: number;
}

/**
 * Multi-head attention of one new position per sequence over a [B, H, L, D] key and value cache (as
 * {@link kvCacheWrite} fills it): for each sequence b and head h, softmax over t < length of
 * scale·q_bh·keys[b, h, t] weights values[b, h, t]. q is [B, C], e.g. a fused q|k|v projection output
 * read in place at `column`. Returns [B, H·D], heads side by side, as the output projection takes them.
 * Positions from `length` on are ignored, so no causal mask is needed.
 *
 * The keys and values may also be one cache [B, 2H, L, D], keys in heads [0, H) and values in [H, 2H):
 * `decodeAttention(q, cache, opts)`. kvCacheWrite fills such a cache from a fused k|v block in one
 * dispatch, where separate caches take two.
 *
 * One dispatch on webgpu (one workgroup per sequence and head), where TF.js ops take four or more.
 * `length` is at most {@link DECODE_ATTENTION_MAX_LENGTH}. Registered on `cpu` and `webgpu`; no gradient.
 */
export function decodeAttention(q: Tensor2D, keys: Tensor4D, values: Tensor4D, opts: DecodeAttentionOptions): Tensor2D;
export function decodeAttention(q: Tensor2D, cache: Tensor4D, opts: DecodeAttentionOptions): Tensor2D;
export function decodeAttention(q: Tensor2D, keys: Tensor4D, valuesOrOpts: Tensor4D | DecodeAttentionOptions,
    maybeOpts?: DecodeAttentionOptions): Tensor2D {
  const joint = !(valuesOrOpts instanceof Tensor);
  const values = joint ? keys : valuesOrOpts;
  const opts = joint ? valuesOrOpts : maybeOpts!;
  checkFloatTensor('decodeAttention', 'q', q, 2, '[B, C]');
  checkFloatTensor('decodeAttention', joint ? 'cache' : 'keys', keys, 4, joint ? '[B, 2H, L, D]' : '[B, H, L, D]');
  checkFloatTensor('decodeAttention', 'values', values, 4, '[B, H, L, D]');
  const [B, cacheHeads, L, D] = keys.shape;
  if (values.shape.join() !== keys.shape.join()) {
    throw new Error(`decodeAttention: values [${values.shape.join(', ')}] and keys [${keys.shape.join(', ')}] differ in shape`);
  }
  if (joint && cacheHeads % 2 !== 0) {
    throw new Error(`decodeAttention: a joint cache holds keys and values as [B, 2H, L, D], got an odd ${cacheHeads} heads`);
  }
  const H = joint ? cacheHeads / 2 : cacheHeads;
  if (q.shape[0] !== B) throw new Error(`decodeAttention: q has ${q.shape[0]} rows, the cache's batch is ${B}`);
  const length = opts?.length;
  const column = opts?.column ?? 0;
  const scale = opts?.scale ?? 1;
  if (!Number.isInteger(length) || length < 1 || length > L || length > DECODE_ATTENTION_MAX_LENGTH) {
    throw new Error(`decodeAttention: length must be an integer in [1, ${Math.min(L, DECODE_ATTENTION_MAX_LENGTH)}] (cache length ${L}, kernel limit ${DECODE_ATTENTION_MAX_LENGTH}), got ${String(length)}`);
  }
  if (!Number.isInteger(column) || column < 0 || column + H * D > q.shape[1]) {
    throw new Error(`decodeAttention: columns [${column}, ${column + H * D}) for ${H} heads × ${D} are not within q's ${q.shape[1]} columns`);
  }
  if (!Number.isFinite(scale)) throw new Error(`decodeAttention: scale must be finite, got ${scale}`);
  const attrs: DecodeAttentionAttrs = {length, column, scale, heads: H, valueHead: joint ? H : 0};
  return engine().runKernel(DecodeAttention, {q, keys, values}, attrs as never) as Tensor2D;
}
