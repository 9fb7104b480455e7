/**
 * The synthetic weights of a DecoderConfig: which tensors there are, drawing them at random from a seed,
 * and pruning them by magnitude. Pure CPU work without TF.js, so worker threads can run it.
 *
 * Constants the model would multiply by are folded into the weights, as an inference graph would fold
 * them, to save an op each: the attention scale 1/√headDim into q's columns (weight and bias). GELU
 * needs none: mlpActivation computes it whole. A norm's own scale and shift would fold into the
 * next projection the same way, so the norms have none.
 */
import {encodeDense} from '../../src/ops/encode.js';
import type {EncodedSparseMatrix, ValueType} from '../../src/ops/format.js';
import {magnitudeHistogram, pruneCopy, randn} from '../weights.js';
import type {DecoderConfig} from './config.js';

/** One weight tensor: its shape, how it is drawn and whether the sparse model stores it sparse. */
export interface TensorSpec {
  name: string;
  /** [K, N] for a matrix (y = x·W), [N] for a bias. */
  shape: number[];
  /** Standard deviation of the draw. */
  std: number;
  /**
   * Column blocks, left to right, covering all N columns: each is pruned on its own (q|k|v and gate|up
   * are separate matrices stored as one) and scaled by a folded constant.
   */
  blocks: Array<{columns: number; scale: number}>;
  /** Stored sparse by the sparse model (the projections, the embedding and the head). */
  sparse: boolean;
}

/** Every tensor of the model, in the order the model takes them. */
export function weightSpecs(c: DecoderConfig): TensorSpec[] {
  const d = c.dModel, F = c.mlpHidden;
  const qScale = 1 / Math.sqrt(d / c.heads);
  const gelu = c.family === 'gpt2';
  const matrix = (name: string, K: number, blocks: Array<{columns: number; scale: number}>): TensorSpec =>
    ({name, shape: [K, blocks.reduce((s, b) => s + b.columns, 0)], std: 1 / Math.sqrt(K), blocks, sparse: true});
  const bias = (of: TensorSpec): TensorSpec => ({name: `${of.name}.bias`, shape: [of.shape[1]], std: 0.1, blocks: of.blocks, sparse: false});
  const specs: TensorSpec[] = [
    {name: 'embedding', shape: [c.vocab, d], std: 1, blocks: [{columns: d, scale: 1}], sparse: true},
    {name: 'positions', shape: [c.maxPositions, d], std: 1, blocks: [{columns: d, scale: 1}], sparse: false},
  ];
  for (let l = 0; l < c.layers; l++) {
    const qkv = matrix(`layer${l}.qkv`, d, [{columns: d, scale: qScale}, {columns: d, scale: 1}, {columns: d, scale: 1}]);
    const o = matrix(`layer${l}.o`, d, [{columns: d, scale: 1}]);
    const up = gelu ? matrix(`layer${l}.up`, d, [{columns: F, scale: 1}]) :
        matrix(`layer${l}.up`, d, [{columns: F, scale: 1}, {columns: F, scale: 1}]);
    const down = matrix(`layer${l}.down`, F, [{columns: d, scale: 1}]);
    for (const m of [qkv, o, up, down]) {
      specs.push(m);
      if (gelu) specs.push(m === down ? {...bias(m), blocks: [{columns: d, scale: 1}]} : bias(m));
    }
  }
  specs.push(matrix('head', d, [{columns: c.vocab, scale: 1}]));
  return specs;
}

/** Number of entries of a spec's tensor. */
export function specSize(s: TensorSpec): number {
  return s.shape.reduce((a, b) => a * b, 1);
}

/** A seed per tensor, from the run's seed and the tensor's name. */
export function tensorSeed(seed: number, name: string): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Draws a tensor: about-normal values times std and its block's scale, into `out` when given. */
export function drawTensor(s: TensorSpec, seed: number, out?: Float32Array): Float32Array {
  const n = specSize(s);
  const v = randn(n, tensorSeed(seed, s.name), out);
  const N = s.shape[s.shape.length - 1]!;
  const scale = new Float32Array(N);
  let n0 = 0;
  for (const b of s.blocks) {
    scale.fill(s.std * b.scale, n0, n0 + b.columns);
    n0 += b.columns;
  }
  for (let row = 0; row < n; row += N) {
    for (let j = 0; j < N; j++) v[row + j] *= scale[j]!;
  }
  return v;
}

/**
 * A copy of a [K, N] matrix with exactly round(sparsity · K · columns) entries of each column block set
 * to 0, those of smallest magnitude. Returns the copy and how many entries are 0 in all.
 */
export function pruneBlocks(values: Float32Array, s: TensorSpec, sparsity: number): {values: Float32Array; zeros: number} {
  const [K, N] = s.shape as [number, number];
  if (s.blocks.length === 1) return pruneCopy(values, sparsity, magnitudeHistogram(values));
  const out = new Float32Array(K * N);
  let zeros = 0, n0 = 0;
  for (const b of s.blocks) {
    const block = new Float32Array(K * b.columns);
    for (let k = 0; k < K; k++) block.set(values.subarray(k * N + n0, k * N + n0 + b.columns), k * b.columns);
    const pruned = pruneCopy(block, sparsity, magnitudeHistogram(block));
    for (let k = 0; k < K; k++) out.set(pruned.values.subarray(k * b.columns, (k + 1) * b.columns), k * N + n0);
    zeros += pruned.zeros;
    n0 += b.columns;
  }
  return {values: out, zeros};
}

/** Entries of a matrix that pruneBlocks sets to 0 (more where drawn values are 0 already). */
export function prunedCount(s: TensorSpec, sparsity: number): number {
  return s.blocks.reduce((n, b) => n + Math.round(sparsity * s.shape[0]! * b.columns), 0);
}

/** Prunes a drawn matrix and encodes it in the tiled-bitmap format. */
export function encodePruned(values: Float32Array, s: TensorSpec, sparsity: number, valueType: ValueType): {encoded: EncodedSparseMatrix; zeros: number} {
  const {values: pruned, zeros} = pruneBlocks(values, s, sparsity);
  return {encoded: encodeDense(pruned, s.shape as [number, number], valueType), zeros};
}
