/**
 * Issue #7: properties of the encoder (host side, on cpu) over arbitrary f32 values: NaN, ±Inf, ±0,
 * subnormals, f16's range edges and beyond. With f16 values (docs/format.md § What counts as stored):
 * a finite value beyond 65504 is an error that names how many and the largest, even one that would round
 * down to 65504; otherwise every nonzero is stored (NaN and ±Inf included, underflows as ±0 with their
 * bit) and decodes to its nearest-even f16. fromDense, fromCOO and the f32 → f16 conversion agree.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import './helpers/setup';
import {EncodedSparseMatrix, SparseMatrix, ValueType} from '../src/index';
import {convertValueType} from '../src/ops/convert_value_type';
import {f16roundRef} from './helpers/f16';
import {readEncoded} from './helpers/format_reader';
import {itHolds} from './helpers/property';

const F16_MAX = 65504;

/** Edges of f16 and f32: the f16 max and the values around it, subnormals of both, f32's extremes. */
const EDGES = [
  65504, -65504, 65504.5, 65519.99, 65520, -70000, Math.pow(2, -24), Math.pow(2, -25), 3 * Math.pow(2, -26),
  Math.pow(2, -14), Math.fround(1e-40), -Math.pow(2, -149), 3.4028234663852886e38, -3.4028234663852886e38,
  NaN, Infinity, -Infinity, -0,
];

interface DenseCase {
  K: number;
  N: number;
  values: Float32Array;
}

const denseCases: fc.Arbitrary<DenseCase> = fc.record({K: fc.integer({min: 1, max: 40}), N: fc.integer({min: 1, max: 40})})
    .chain(({K, N}) => fc.array(fc.oneof(
        {weight: 3, arbitrary: fc.constant(0)},
        {weight: 2, arbitrary: fc.float()},
        {weight: 2, arbitrary: fc.float({min: -70000, max: 70000, noNaN: true})},
        {weight: 1, arbitrary: fc.constantFrom(...EDGES)}), {minLength: K * N, maxLength: K * N})
        .map((v) => ({K, N, values: Float32Array.from(v)})));

/** What encoding `values` as `valueType` must give: the error message, or every decoded value. */
function expected(values: Float32Array, valueType: ValueType): {error: RegExp} | {decoded: number[], stored: number} {
  let over = 0, largest = 0, stored = 0;
  for (const v of values) {
    if (v !== 0) stored++;
    if (Number.isFinite(v) && Math.abs(v) > F16_MAX) {
      over++;
      largest = Math.max(largest, Math.abs(v));
    }
  }
  if (valueType === 'float16' && over > 0) {
    return {error: new RegExp(`^SparseMatrix: ${over} value\\(s\\) exceed the float16 range \\(largest magnitude ${String(largest).replace(/[.+]/g, '\\$&')}, float16 max 65504\\)`)};
  }
  const decoded = Array.from(values, (v) => (v === 0 ? 0 : valueType === 'float16' ? f16roundRef(v) : v));
  return {decoded, stored};
}

function same(a: number, b: number): boolean {
  return Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b);
}

/** Checks one encoding attempt against `expected`; returns what is wrong, or null. */
async function checkEncoding(what: string, build: () => SparseMatrix, want: ReturnType<typeof expected>): Promise<string | null> {
  let m: SparseMatrix;
  try {
    m = build();
  } catch (e) {
    if ('error' in want && want.error.test((e as Error).message)) return null;
    return `${what} threw "${(e as Error).message}", expected ${'error' in want ? want.error : 'a matrix'}`;
  }
  try {
    if ('error' in want) return `${what} gave a matrix, expected an error ${want.error}`;
    if (m.nnz !== want.stored) return `${what}: nnz ${m.nnz}, expected ${want.stored}`;
    const t = m.toDense();
    const got = await t.data();
    t.dispose();
    const read = readEncoded(m.toEncoded());
    if (read.stored !== want.stored) return `${what}: the format reader finds ${read.stored} stored values, expected ${want.stored}`;
    for (let i = 0; i < got.length; i++) {
      if (!same(got[i], want.decoded[i]) || !same(read.dense[i], want.decoded[i])) {
        return `${what}: element ${i} decodes as ${got[i]} (format reader: ${read.dense[i]}), expected ${want.decoded[i]}`;
      }
    }
    return null;
  } finally {
    m.dispose();
  }
}

function cooOf(c: DenseCase): {indices: number[], values: number[]} {
  const indices: number[] = [], values: number[] = [];
  // Reverse order: fromCOO sorts.
  for (let i = c.values.length - 1; i >= 0; i--) {
    indices.push(Math.floor(i / c.N), i % c.N);
    values.push(c.values[i]);
  }
  return {indices, values};
}

function sameEncoding(a: EncodedSparseMatrix, b: EncodedSparseMatrix): boolean {
  const eq = (x: Int32Array, y: Int32Array) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.valueType === b.valueType && eq(a.header, b.header) && eq(a.offsets, b.offsets) && eq(a.values, b.values);
}

describe('encoder property', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const valueType of ['float16', 'float32'] as const) {
    itHolds(`fromDense and fromCOO store and round as docs/format.md says (${valueType})`, 150, denseCases, async (c) => {
      const want = expected(c.values, valueType);
      const {indices, values} = cooOf(c);
      const before = tf.memory().numTensors;
      const msg = await checkEncoding('fromDense', () => SparseMatrix.fromDense(c.values, [c.K, c.N], {valueType}), want) ??
          await checkEncoding('fromCOO', () => SparseMatrix.fromCOO(indices, values, [c.K, c.N], {valueType}), want);
      if (tf.memory().numTensors !== before) return `left ${tf.memory().numTensors - before} tensors`;
      return msg;
    });
  }

  itHolds('converting float32 values to float16 gives fromDense\'s float16 encoding or its error', 150, denseCases, async (c) => {
    const want = expected(c.values, 'float16');
    const m32 = SparseMatrix.fromDense(c.values, [c.K, c.N], {valueType: 'float32'});
    const e32 = m32.toEncoded();
    m32.dispose();
    let converted: EncodedSparseMatrix;
    try {
      converted = convertValueType(e32, 'float16');
    } catch (e) {
      if ('error' in want && want.error.test((e as Error).message)) return null;
      return `convertValueType threw "${(e as Error).message}", expected ${'error' in want ? want.error : 'an encoding'}`;
    }
    if ('error' in want) return `convertValueType gave an encoding, expected an error ${want.error}`;
    const m16 = SparseMatrix.fromDense(c.values, [c.K, c.N]);
    const e16 = m16.toEncoded();
    m16.dispose();
    return sameEncoding(converted, e16) ? null : 'convertValueType to float16 differs from fromDense with float16';
  });
});
