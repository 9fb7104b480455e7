/**
 * The parameters of a Decoder on the backend, dense or sparse. Both modes hold the same tensors; the
 * sparse one stores the projections, the embedding and the LM head as SparseMatrix (the head and the
 * embedding too: at 7B-slice shapes they are a quarter of all weights, and the weight-bytes target
 * cannot be met with them dense). Biases and the position table stay dense float32 in both.
 */
import * as tf from '@tensorflow/tfjs-core';
import {denseProjection, Projection, SparseMatrix, sparseGather, sparseProjection} from '../../src/index.js';
import type {DecoderConfig} from './config.js';
import {TensorSpec, weightSpecs} from './weights.js';

/** Where each token sits: B sequences of S tokens each (ids sequence-major), from position `start`. */
export interface Positions {
  table: tf.Tensor2D;
  start: number;
  perSequence: number;
}

/** Rows of an embedding table [vocabulary, d], looked up by token id, plus learned positions. */
export interface Embedding {
  readonly byteSize: number;
  /** ids [B·S] int32 → [B·S, d]: the tokens' rows plus their positions' rows. */
  lookup(ids: tf.Tensor1D, positions: Positions): tf.Tensor2D;
  dispose(): void;
}

export interface LayerParams {
  /** [d, 3d]: q (scaled by 1/√headDim), k and v. */
  qkv: Projection;
  o: Projection;
  /** [d, F] (gpt2) or [d, 2F] gate|up (llama). */
  up: Projection;
  down: Projection;
}

export interface DecoderParams {
  embedding: Embedding;
  /** [maxPositions, d]. */
  positions: tf.Tensor2D;
  layers: LayerParams[];
  head: Projection;
}

/** Bytes of every parameter on the backend. */
export function paramBytes(p: DecoderParams): number {
  const projections = p.layers.flatMap((l) => [l.qkv, l.o, l.up, l.down]).concat(p.head);
  return p.embedding.byteSize + 4 * p.positions.size + projections.reduce((s, q) => s + q.byteSize, 0);
}

export function disposeParams(p: DecoderParams): void {
  p.embedding.dispose();
  p.positions.dispose();
  for (const l of p.layers) for (const q of [l.qkv, l.o, l.up, l.down]) q.dispose();
  p.head.dispose();
}

/** One weight matrix as a mode stores it: a SparseMatrix, or dense float32 values [K, N]. */
export type StoredMatrix = SparseMatrix | Float32Array;

/**
 * Builds the parameters from the host: `matrix(spec)` gives each matrix of `weightSpecs(config)` (sparse
 * or dense as the mode wants), `vector(spec)` each bias and the position table. Matrices are asked one
 * at a time, in order, so a caller can free each host copy once it is on the backend.
 */
export async function buildParams(
    config: DecoderConfig, matrix: (s: TensorSpec) => StoredMatrix | Promise<StoredMatrix>,
    vector: (s: TensorSpec) => Float32Array): Promise<DecoderParams> {
  const built = new Map<string, Projection | Embedding | tf.Tensor2D>();
  const specs = weightSpecs(config);
  const biases = new Map(specs.filter((s) => s.name.endsWith('.bias')).map((s) => [s.name.slice(0, -5), s]));
  try {
    for (const s of specs) {
      if (s.name.endsWith('.bias')) continue;
      if (s.name === 'positions') {
        built.set(s.name, tf.tensor2d(vector(s), s.shape as [number, number]));
        continue;
      }
      const m = await matrix(s);
      if (s.name === 'embedding') {
        built.set(s.name, m instanceof SparseMatrix ? sparseEmbedding(m) : denseEmbedding(tf.tensor2d(m, s.shape as [number, number])));
        continue;
      }
      const b = biases.get(s.name);
      const bias = b ? tf.tensor1d(vector(b)) : undefined;
      built.set(s.name, m instanceof SparseMatrix ? sparseProjection(m, bias) : denseProjection(tf.tensor2d(m, s.shape as [number, number]), bias));
    }
  } catch (e) {
    for (const v of built.values()) v.dispose();
    throw e;
  }
  const get = <T>(name: string) => built.get(name) as T;
  return {
    embedding: get<Embedding>('embedding'),
    positions: get<tf.Tensor2D>('positions'),
    layers: Array.from({length: config.layers}, (_, l) => ({
      qkv: get<Projection>(`layer${l}.qkv`), o: get<Projection>(`layer${l}.o`),
      up: get<Projection>(`layer${l}.up`), down: get<Projection>(`layer${l}.down`),
    })),
    head: get<Projection>('head'),
  };
}

/**
 * An embedding stored sparse, looked up with sparseGather, which reads only the tiles of the rows asked
 * and adds the positions in the same kernel.
 */
export function sparseEmbedding(table: SparseMatrix): Embedding {
  return {
    byteSize: table.byteSize,
    lookup: (ids, positions) => sparseGather(table, ids, {positions}) as tf.Tensor2D,
    dispose: () => table.dispose(),
  };
}

/** A dense float32 embedding, looked up with tf.gather; the positions sliced and added by TF.js. */
export function denseEmbedding(table: tf.Tensor2D): Embedding {
  return {
    byteSize: 4 * table.size,
    lookup: (ids, {table: positions, start, perSequence: S}) => tf.tidy(() => {
      const rows = ids.size, d = table.shape[1];
      const embedded = tf.gather(table, ids);
      const pos = tf.slice(positions, [start, 0], [S, d]);
      return S === 1 ? tf.add(embedded, pos) : tf.reshape(tf.add(tf.reshape(embedded, [rows / S, S, d]), pos), [rows, d]);
    }),
    dispose: () => table.dispose(),
  };
}
