/**
 * A GPT-style decoder-only transformer in TF.js whose projections are Projections (sparse or dense:
 * params.ts), with a KV cache for incremental decoding. Everything but the projections, the embedding
 * lookup and the decoder ops of this package (norms, cache write, attention, argmax) is ordinary TF.js,
 * and it is the same code in both modes.
 *
 * Op economy, since TF.js spends tens of µs of CPU per op: one fused q|k|v projection whose k|v block
 * one cache write copies and whose q the decode attention reads in place (a column offset), biases,
 * residual adds and the MLP activation fused into the projections (applyActivated; the dense one runs
 * mlpActivation after TF.js's fused matMul), positions added in the sparse embedding lookup, one kernel
 * each for the norms (rowNorm), the greedy token (rowArgMax) and, for a single new position, the whole
 * attention (decodeAttention), and folded constants (weights.ts). A multi-position forward (prefill)
 * adds the causal mask as the fused bias of the q·Kᵀ matMul, one mask slice shared by all layers. Per
 * decode step nothing is created on or read from the host except the token ids the caller reads.
 */
import * as tf from '@tensorflow/tfjs-core';
import {DECODE_ATTENTION_MAX_LENGTH, decodeAttention, kvCacheWrite, rowArgMax, rowNorm} from '../../src/index.js';
import {checkConfig, DecoderConfig} from './config.js';
import {DecoderParams, disposeParams, LayerParams, paramBytes} from './params.js';

const NORM_EPS = 1e-5;
/** Added to the scores of positions after the query's: exp underflows to exactly 0. */
const MASKED = -1e9;

/**
 * Keys and values of every layer, preallocated as one [B, 2H, maxLen, headDim] tensor per layer (keys in
 * heads [0, H), values in [H, 2H): the k|v columns of the q|k|v output in order) and written in place at
 * each new position by one kvCacheWrite, so a step moves only its own entries. Prefill attention reads
 * all maxLen positions; those not yet written are masked.
 */
export class KVCache {
  readonly kv: tf.Tensor4D[];
  /** [maxLen, maxLen]: row p is the additive causal mask of position p. */
  readonly mask: tf.Tensor2D;
  /** Positions written so far. */
  length = 0;

  constructor(readonly batch: number, readonly maxLen: number, layers: number, readonly heads: number, headDim: number) {
    const shape: [number, number, number, number] = [batch, 2 * heads, maxLen, headDim];
    this.kv = Array.from({length: layers}, () => tf.fill(shape, 0) as tf.Tensor4D);
    const m = new Float32Array(maxLen * maxLen);
    for (let p = 0; p < maxLen; p++) m.fill(MASKED, p * maxLen + p + 1, (p + 1) * maxLen);
    this.mask = tf.tensor2d(m, [maxLen, maxLen]);
  }

  /** Layer l's keys (part 0) or values (part 1) as [B·H, maxLen, headDim], as attention's matMuls take them (a copy). */
  heads3d(l: number, part: 0 | 1): tf.Tensor3D {
    const [B, H2, L, D] = this.kv[l]!.shape;
    const H = H2 / 2;
    return tf.reshape(tf.slice(this.kv[l]!, [0, part * H, 0, 0], [B, H, L, D]), [B * H, L, D]);
  }

  /** Bytes of the keys and values. */
  get byteSize(): number {
    return this.kv.reduce((s, t) => s + 4 * t.size, 0);
  }

  dispose(): void {
    tf.dispose([...this.kv, this.mask]);
  }
}

export class Decoder {
  readonly config: DecoderConfig;
  readonly params: DecoderParams;

  /** Takes ownership of `params`. */
  constructor(config: DecoderConfig, params: DecoderParams) {
    this.config = checkConfig(config);
    this.params = params;
  }

  get headDim(): number {
    return this.config.dModel / this.config.heads;
  }

  /** Bytes of every parameter on the backend. */
  get weightBytes(): number {
    return paramBytes(this.params);
  }

  createCache(batch: number, maxLen: number): KVCache {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`createCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > this.config.maxPositions) {
      throw new Error(`createCache: maxLen must be an integer in [1, ${this.config.maxPositions}], got ${maxLen}`);
    }
    return new KVCache(batch, maxLen, this.config.layers, this.config.heads, this.headDim);
  }

  /**
   * Runs S new positions of each of the cache's B sequences: `ids` is [B·S] int32, sequence-major (S
   * tokens of sequence 0, then of sequence 1, ...). Writes their keys and values into the cache at
   * positions [cache.length, cache.length + S) and advances it. Returns the logits of each sequence's
   * last position, [B, vocab], or with `allPositions` those of every new position, [B·S, vocab].
   */
  forward(ids: tf.Tensor1D, cache: KVCache, opts: {allPositions?: boolean} = {}): tf.Tensor2D {
    if (!(ids instanceof tf.Tensor) || ids.rank !== 1 || ids.dtype !== 'int32') {
      throw new Error(`forward: ids must be a 1-D int32 tensor, got ${ids instanceof tf.Tensor ? `${ids.dtype} [${ids.shape.join(', ')}]` : typeof ids}`);
    }
    const B = cache.batch, rows = ids.size, S = rows / B, p = cache.length;
    if (!Number.isInteger(S) || S < 1) throw new Error(`forward: ${rows} ids are not a positive multiple of the batch ${B}`);
    if (p + S > cache.maxLen) throw new Error(`forward: ${S} new positions after ${p} exceed the cache length ${cache.maxLen}`);
    if (cache.kv.length !== this.config.layers || cache.heads !== this.config.heads) {
      throw new Error('forward: the cache was not made by this model (createCache)');
    }
    const logits = tf.tidy(() => {
      const d = this.config.dModel;
      let x = this.params.embedding.lookup(ids, {table: this.params.positions, start: p, perSequence: S});
      // One new position: decodeAttention needs no mask (it reads positions [0, p] only).
      const mask = S === 1 && p < DECODE_ATTENTION_MAX_LENGTH ? null : tf.slice(cache.mask, [p, 0], [S, cache.maxLen]);
      this.params.layers.forEach((layer, l) => {
        x = this.block(x, layer, cache, l, mask, S);
      });
      if (!opts.allPositions && S > 1) x = tf.reshape(tf.slice(tf.reshape(x, [B, S, d]), [0, S - 1, 0], [B, 1, d]), [B, d]);
      return this.params.head.apply(this.norm(x)) as tf.Tensor2D;
    });
    cache.length = p + S;
    return logits;
  }

  /** forward, then the greedy next token of each sequence: [B] int32. */
  next(ids: tf.Tensor1D, cache: KVCache): tf.Tensor1D {
    const logits = this.forward(ids, cache);
    const tokens = rowArgMax(logits);
    logits.dispose();
    return tokens;
  }

  dispose(): void {
    disposeParams(this.params);
  }

  private block(x: tf.Tensor2D, layer: LayerParams, cache: KVCache, l: number, mask: tf.Tensor2D | null, S: number): tf.Tensor2D {
    const d = this.config.dModel, p = cache.length;
    const qkv = layer.qkv.apply(this.norm(x));
    kvCacheWrite(cache.kv[l]!, qkv, {position: p, column: d});
    const merged = mask === null ?
        decodeAttention(qkv, cache.kv[l]!, {length: p + 1}) :
        this.prefillAttention(qkv, cache, l, mask, S);
    // The residual adds ride in the o and down projections' kernels.
    const attended = layer.o.apply(merged, x);
    return layer.down.apply(this.mlp(this.norm(attended), layer), attended);
  }

  /** Attention of S new positions per sequence with TF.js ops and the causal mask: [B·S, d]. */
  private prefillAttention(qkv: tf.Tensor2D, cache: KVCache, l: number, mask: tf.Tensor2D, S: number): tf.Tensor2D {
    const {dModel: d, heads: H} = this.config;
    const D = this.headDim, B = cache.batch, rows = qkv.shape[0];
    const q = tf.slice(qkv, [0, 0], [rows, d]);
    const queries = tf.reshape(tf.transpose(tf.reshape(q, [B, S, H, D]), [0, 2, 1, 3]), [B * H, S, D]);
    const scores = tf.fused.matMul({a: queries, b: cache.heads3d(l, 0), transposeB: true, bias: mask});
    const context = tf.matMul(tf.softmax(scores), cache.heads3d(l, 1));
    return tf.reshape(tf.transpose(tf.reshape(context, [B, H, S, D]), [0, 2, 1, 3]), [rows, d]);
  }

  /** The MLP's hidden activation, from the up projection: GELU, or SiLU-gated from gate | up. */
  private mlp(h: tf.Tensor2D, layer: LayerParams): tf.Tensor2D {
    return layer.up.applyActivated(h, this.config.family === 'gpt2' ? 'gelu' : 'swiglu');
  }

  /** LayerNorm (gpt2) or RMSNorm (llama) over the last axis, without scale and shift (folded). */
  private norm(x: tf.Tensor2D): tf.Tensor2D {
    return rowNorm(x, {kind: this.config.family === 'gpt2' ? 'layer' : 'rms', epsilon: NORM_EPS});
  }
}
