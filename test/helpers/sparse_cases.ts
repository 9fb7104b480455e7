/**
 * Random sparseMatMul cases for the property specs: a fast-check arbitrary of the case's parameters
 * (shapes, sparsity pattern, kinds of values, layout), and builders that fill the weight and x from the
 * case's seed. fast-check draws and shrinks the parameters; the arrays follow from them.
 */
import fc from 'fast-check';
import {Rng} from './random';
import type {ValueType} from '../../src/index';

export type Pattern = 'uniform' | 'clustered' | 'emptyTiles' | 'denseTiles' | 'fewRows';
/** normal; wide: magnitudes from f16's subnormals to its max; edges: f16's range edges, ±0 and f32 subnormals; nonfinite: a few NaN and ±Inf. */
export type WeightValues = 'normal' | 'wide' | 'edges' | 'nonfinite';
/** normal; wide: ±0, f32 subnormals up to 2^50; nonfinite: NaN and ±Inf, single or whole rows. */
export type XValues = 'normal' | 'wide' | 'nonfinite';

export interface MatMulCase {
  M: number;
  K: number;
  N: number;
  pattern: Pattern;
  /** Fraction of entries the pattern stores (before whole tiles or rows are emptied or filled). */
  density: number;
  weightValues: WeightValues;
  xValues: XValues;
  valueType: ValueType;
  transposeX: boolean;
  /** A bias and relu (fused), or neither. */
  biasRelu: boolean;
  seed: number;
}

export interface Budget {
  /** K·N at most. */
  weights: number;
  /** M·K·N at most. */
  work: number;
  /** ceil(M / rows per workgroup) · ceil(N / 32) at most: the webgpu program's workgroups before split-K. */
  workgroups: number;
}

/**
 * The webgpu kernel compiles one shader per (rows per workgroup, value type, transposeX, epilogue) and per
 * fused or split-K pass, which takes about a second on SwiftShader. So cases come in seven variants that
 * cover every pair of those values, with rows per workgroup 1, 4 and 16 (fewer rows than the 8 slices of a
 * workgroup, and more), instead of all 60. sparse_mat_mul.spec.ts covers 2 and 8 rows.
 */
interface Variant {
  /** The range of M: one rows-per-workgroup bucket. */
  M: [number, number];
  valueType: ValueType;
  transposeX: boolean;
  biasRelu: boolean;
}

const VARIANTS: Variant[] = [
  {M: [1, 1], valueType: 'float16', transposeX: false, biasRelu: false},
  {M: [1, 1], valueType: 'float32', transposeX: true, biasRelu: false},
  {M: [1, 1], valueType: 'float32', transposeX: false, biasRelu: true},
  {M: [3, 4], valueType: 'float16', transposeX: false, biasRelu: true},
  {M: [3, 4], valueType: 'float32', transposeX: true, biasRelu: false},
  {M: [9, 300], valueType: 'float16', transposeX: true, biasRelu: false},
  {M: [9, 300], valueType: 'float32', transposeX: false, biasRelu: true},
];

/** f16's range edges and neighbours, ±0 (not stored) and values that underflow f16 (stored as 0). */
const EDGES = [
  65504, -65504, 65503.99, 65000, Math.pow(2, -24), -Math.pow(2, -24), Math.pow(2, -14), Math.pow(2, -25),
  3 * Math.pow(2, -26), -Math.pow(2, -26), 1e-9, Math.fround(1e-40), 1, -1, 0, -0,
];

/** Rows of x one webgpu workgroup takes for M rows (sparse_mat_mul_webgpu.ts). */
function rowsPerGroup(M: number): number {
  return M <= 1 ? 1 : M <= 2 ? 2 : M <= 4 ? 4 : M <= 8 ? 8 : 16;
}

function side(max: number): fc.Arbitrary<number> {
  return fc.oneof(
      {weight: 4, arbitrary: fc.integer({min: 1, max: Math.min(80, max)})},
      {weight: 3, arbitrary: fc.integer({min: 1, max: Math.min(700, max)})},
      {weight: 1, arbitrary: fc.integer({min: 1, max})});
}

/** Shapes 1..5000 on each side and M up to 300, cut down to the budget (the larger side first). */
export function matMulCases(budget: Budget): fc.Arbitrary<MatMulCase> {
  return fc.record({
    variant: fc.integer({min: 0, max: VARIANTS.length - 1}),
    mFraction: fc.oneof({weight: 3, arbitrary: fc.constant(0)}, {weight: 1, arbitrary: fc.double({min: 0, max: 1, noNaN: true})}),
    K: side(5000),
    N: side(5000),
    pattern: fc.constantFrom<Pattern>('uniform', 'clustered', 'emptyTiles', 'denseTiles', 'fewRows'),
    density: fc.constantFrom(0, 0.002, 0.05, 0.2, 0.5, 0.8, 1),
    weightValues: fc.constantFrom<WeightValues>('normal', 'wide', 'edges', 'nonfinite'),
    xValues: fc.constantFrom<XValues>('normal', 'normal', 'wide', 'nonfinite'),
    seed: fc.integer(),
  }).map(({variant, mFraction, K, N, ...rest}) => {
    const v = VARIANTS[variant];
    const M = v.M[0] + Math.floor(mFraction * (v.M[1] - v.M[0]));
    const fit = (limit: number) => {
      if (K * N <= limit) return;
      if (K >= N) K = Math.max(1, Math.floor(limit / N));
      else N = Math.max(1, Math.floor(limit / K));
      if (K * N > limit) {  // the smaller side alone was over
        if (K === 1) N = limit;
        else K = limit;
      }
    };
    fit(budget.weights);
    fit(Math.max(1, Math.floor(budget.work / M)));
    N = Math.min(N, 32 * Math.max(1, Math.floor(budget.workgroups / Math.ceil(M / rowsPerGroup(M)))));
    return {...rest, M, K, N, valueType: v.valueType, transposeX: v.transposeX, biasRelu: v.biasRelu};
  });
}

export function describeCase(c: MatMulCase): string {
  return `${c.M}×${c.K}·${c.K}×${c.N} ${c.valueType}, ${c.pattern} ${c.density}, w ${c.weightValues}, ` +
      `x ${c.xValues}${c.transposeX ? ', transposeX' : ''}${c.biasRelu ? ', bias + relu' : ''}, seed ${c.seed}`;
}

/** Which entries of the [K, N] weight are stored. */
function patternMask(c: MatMulCase, r: Rng): Uint8Array {
  const {K, N, density} = c;
  const mask = new Uint8Array(K * N);
  const fill = (k0: number, k1: number, n0: number, n1: number, p: number) => {
    for (let k = k0; k < k1; k++) for (let n = n0; n < n1; n++) mask[k * N + n] = r.next() < p ? 1 : 0;
  };
  const KT = Math.ceil(K / 32), NT = Math.ceil(N / 32);
  const tiles = (p: number, value: number) => {
    for (let kt = 0; kt < KT; kt++) {
      for (let nt = 0; nt < NT; nt++) {
        if (r.next() < p) fill(kt * 32, Math.min(K, kt * 32 + 32), nt * 32, Math.min(N, nt * 32 + 32), value);
      }
    }
  };
  switch (c.pattern) {
    case 'uniform':
      fill(0, K, 0, N, density);
      break;
    case 'clustered': {
      fill(0, K, 0, N, density / 20);
      for (let b = 1 + r.int(4); b > 0; b--) {
        const k0 = r.int(K), n0 = r.int(N);
        fill(k0, Math.min(K, k0 + 1 + r.int(Math.ceil(K / 2))), n0, Math.min(N, n0 + 1 + r.int(Math.ceil(N / 2))), Math.min(1, 0.3 + 4 * density));
      }
      break;
    }
    case 'emptyTiles':
      fill(0, K, 0, N, density);
      tiles(0.5, 0);
      if (r.next() < 0.5) { const k = r.int(K); fill(k, k + 1, 0, N, 0); }
      if (r.next() < 0.5) { const n = r.int(N); fill(0, K, n, n + 1, 0); }
      break;
    case 'denseTiles':
      fill(0, K, 0, N, 0.3 * density);
      tiles(0.3, 1);
      break;
    case 'fewRows':
      for (let k = 0; k < K; k++) if (r.next() < 0.1) fill(k, k + 1, 0, N, Math.max(density, 0.3));
      break;
  }
  return mask;
}

function weightValue(kind: WeightValues, r: Rng): number {
  switch (kind) {
    case 'normal': return r.normal();
    case 'wide': return (r.next() < 0.5 ? -1 : 1) * Math.min(65504, Math.pow(2, r.uniform(-30, 16)));
    case 'edges': return EDGES[r.int(EDGES.length)];
    case 'nonfinite': {
      const u = r.next();
      return u < 0.01 ? NaN : u < 0.02 ? Infinity : u < 0.03 ? -Infinity : r.normal();
    }
  }
}

/** The dense [K, N] weight (row-major): the pattern's entries, with values of the case's kind. */
export function buildWeight(c: MatMulCase, r: Rng): Float32Array {
  const mask = patternMask(c, r);
  const w = new Float32Array(c.K * c.N);
  for (let i = 0; i < w.length; i++) if (mask[i]) w[i] = weightValue(c.weightValues, r);
  return w;
}

/** x as [M, K] row-major; `w` is the weight, so that an Inf can land on an empty row of it. */
export function buildX(c: MatMulCase, w: Float32Array, r: Rng): Float32Array {
  const {M, K, N} = c;
  const x = new Float32Array(M * K);
  for (let i = 0; i < x.length; i++) {
    if (c.xValues === 'wide') {
      const u = r.next();
      x[i] = u < 0.1 ? 0 : u < 0.2 ? -0 : (r.next() < 0.5 ? -1 : 1) * Math.pow(2, r.uniform(-149, 50));
    } else {
      x[i] = r.normal();
    }
  }
  if (c.xValues === 'nonfinite') {
    const specials = [NaN, Infinity, -Infinity];
    for (let j = 1 + r.int(3); j > 0; j--) x[r.int(x.length)] = specials[r.int(3)];
    if (r.next() < 0.2) {
      const m = r.int(M);
      x.fill(r.next() < 0.5 ? Infinity : -Infinity, m * K, (m + 1) * K);
    }
    // An Inf on a row of w with no stored value: only x·0 makes it NaN.
    const empty: number[] = [];
    for (let k = 0; k < K; k++) {
      let any = false;
      for (let n = 0; n < N && !any; n++) any = w[k * N + n] !== 0;
      if (!any) empty.push(k);
    }
    if (empty.length > 0 && r.next() < 0.5) x[r.int(M) * K + empty[r.int(empty.length)]] = Infinity;
  }
  return x;
}
