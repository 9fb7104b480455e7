/**
 * Issue #7: fuzzing SparseMatrix.fromEncoded with fast-check. A valid encoding gets one to three
 * mutations: bit flips, overwritten words, truncations and extensions of each array, offsets that
 * decrease or run past the values, bitmap bits that make popcounts disagree with the offsets or
 * prefixes, changed group prefixes, changed shapes and fields. The independent checker of
 * docs/format.md (helpers/format_checker.ts) decides whether the result is still a valid encoding:
 * - if not, fromEncoded must throw an Error (not a TypeError or RangeError from the engine) whose message
 *   names the problem, and leave no tensor;
 * - if so (a flipped value bit, say), it must build the matrix the independent reader decodes.
 * Every call must return within a second. Arbitrary objects must be refused with a named problem too.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import './helpers/setup';
import {EncodedSparseMatrix, SparseMatrix, ValueType} from '../src/index';
import {formatProblem} from './helpers/format_checker';
import {readEncoded} from './helpers/format_reader';
import {itHolds} from './helpers/property';
import {Rng} from './helpers/random';

type ArrayName = 'header' | 'offsets' | 'values';

type Mutation =
  | {kind: 'flip', array: ArrayName, at: number, bit: number}
  | {kind: 'set', array: ArrayName, at: number, value: number}
  | {kind: 'truncate', array: ArrayName, keep: number}
  | {kind: 'extend', array: ArrayName, extra: number, value: number}
  | {kind: 'decrease', at: number, by: number}
  | {kind: 'pastValues', at: number, by: number}
  | {kind: 'bitmap', at: number, column: number, bit: number}
  | {kind: 'prefix', at: number, group: number, delta: number}
  | {kind: 'shape', dK: number, dN: number}
  | {kind: 'field', field: 'format' | 'version' | 'valueType' | 'shape' | ArrayName, value: unknown};

const arrayName = fc.constantFrom<ArrayName>('header', 'offsets', 'values');
const fraction = fc.double({min: 0, max: 1, maxExcluded: true, noNaN: true});
const word = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 0x7fffffff, -0x80000000, 8, 16, 1024));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({kind: fc.constant('flip' as const), array: arrayName, at: fraction, bit: fc.integer({min: 0, max: 31})}),
    fc.record({kind: fc.constant('set' as const), array: arrayName, at: fraction, value: word}),
    fc.record({kind: fc.constant('truncate' as const), array: arrayName, keep: fraction}),
    fc.record({kind: fc.constant('extend' as const), array: arrayName, extra: fc.integer({min: 1, max: 40}), value: word}),
    fc.record({kind: fc.constant('decrease' as const), at: fraction, by: fc.integer({min: 1, max: 64})}),
    fc.record({kind: fc.constant('pastValues' as const), at: fraction, by: fc.integer({min: 1, max: 5000})}),
    fc.record({kind: fc.constant('bitmap' as const), at: fraction, column: fc.integer({min: 0, max: 31}), bit: fc.integer({min: 0, max: 31})}),
    fc.record({kind: fc.constant('prefix' as const), at: fraction, group: fc.integer({min: 0, max: 7}), delta: fc.integer({min: -40, max: 40})}),
    fc.record({kind: fc.constant('shape' as const), dK: fc.integer({min: -40, max: 40}), dN: fc.integer({min: -40, max: 40})}),
    fc.record({
      kind: fc.constant('field' as const),
      field: fc.constantFrom('format', 'version', 'valueType', 'shape', 'header', 'offsets', 'values'),
      value: fc.constantFrom<unknown>(
          undefined, null, 0, 2, 'csr', 'float64', 'float32', [1], [1, 2, 3], [0, 5], [-3, 4], [2.5, 3], ['3', '4'],
          [2 ** 31, 1], [NaN, 1], new Float32Array(36), new Uint32Array(7), [1, 2], {}),
    }));

interface FuzzCase {
  K: number;
  N: number;
  density: number;
  valueType: ValueType;
  seed: number;
  mutations: Mutation[];
}

const fuzzCases: fc.Arbitrary<FuzzCase> = fc.record({
  K: fc.integer({min: 1, max: 100}),
  N: fc.integer({min: 1, max: 100}),
  density: fc.constantFrom(0, 0.05, 0.3, 0.8, 1),
  valueType: fc.constantFrom<ValueType>('float16', 'float32'),
  seed: fc.integer(),
  mutations: fc.array(mutation, {minLength: 1, maxLength: 3}),
});

function clone(e: EncodedSparseMatrix): EncodedSparseMatrix {
  return {...e, shape: [e.shape[0], e.shape[1]], header: e.header.slice(), offsets: e.offsets.slice(), values: e.values.slice()};
}

/** Applies `m` to `e` in place (replacing arrays where lengths change); skips it where an earlier field mutation removed its array. */
function apply(e: EncodedSparseMatrix, m: Mutation): void {
  const arrays = e as unknown as Record<ArrayName, Int32Array>;
  const needs: ArrayName[] = m.kind === 'field' || m.kind === 'shape' ? [] : 'array' in m ? [m.array] : ['header', 'offsets', 'values'];
  if (!needs.every((name) => arrays[name] instanceof Int32Array)) return;
  const T = needs.includes('offsets') ? e.offsets.length - 1 : 0;
  switch (m.kind) {
    case 'flip': {
      const a = arrays[m.array];
      if (a.length > 0) a[Math.floor(m.at * a.length)] ^= 1 << m.bit;
      break;
    }
    case 'set': {
      const a = arrays[m.array];
      if (a.length > 0) a[Math.floor(m.at * a.length)] = m.value;
      break;
    }
    case 'truncate':
      arrays[m.array] = arrays[m.array].slice(0, Math.floor(m.keep * arrays[m.array].length));
      break;
    case 'extend': {
      const a = arrays[m.array];
      const b = new Int32Array(a.length + m.extra).fill(m.value);
      b.set(a);
      arrays[m.array] = b;
      break;
    }
    case 'decrease':
      if (T > 0) {
        const t = 1 + Math.floor(m.at * T);
        e.offsets[t] = e.offsets[t - 1] - m.by;
      }
      break;
    case 'pastValues':
      if (T > 0) {
        const t = 1 + Math.floor(m.at * T);
        e.offsets[t] = e.values.length * 2 + m.by;
      }
      break;
    case 'bitmap':
      if (T > 0) e.header[Math.floor(m.at * T) * 36 + m.column] ^= 1 << m.bit;
      break;
    case 'prefix':
      if (T > 0) e.header[Math.floor(m.at * T) * 36 + 32 + (m.group >> 1)] += m.delta << (16 * (m.group & 1));
      break;
    case 'shape':
      if (Array.isArray(e.shape)) e.shape = [e.shape[0] + m.dK, e.shape[1] + m.dN];
      break;
    case 'field':
      (e as unknown as Record<string, unknown>)[m.field] = m.value;
      break;
  }
}

/** Message patterns of fromEncoded for each problem the independent checker names. */
const NAMED: Record<string, RegExp> = {
  'not an object': /expected an encoded matrix object/,
  'format': /unknown format (?!version)/,
  'version': /unknown format version/,
  'shape': /shape must be/,
  'valueType': /valueType must be 'float16' or 'float32'/,
  'array type': /(header|offsets|values) must be an Int32Array, got/,
  'header length': /header has \d+ words, expected \d+ \(\d+ tiles × 36\)/,
  'offsets length': /offsets has \d+ entries, expected \d+/,
  'offsets[0]': /offsets\[0\] is -?\d+, expected 0/,
};
/** Problems within a tile or of the values' length, which the two checkers may meet in another order. */
const PER_TILE = new RegExp([
  /tile \d+ group \d+ prefix is \d+, but the bitmap counts \d+/,
  /tile \d+ has bits set outside the \[\d+, \d+\] matrix/,
  /tile \d+ bitmap popcount is \d+ \(\d+ with padding\), but its offsets span -?\d+/,
  /offsets decrease at tile \d+ \(-?\d+ then -?\d+\)/,
  /offsets\[\d+\] = -?\d+ runs past the \d+ stored values/,
  /values has \d+ words, expected \d+/,
].map((r) => r.source).join('|'));

function namesProblem(message: string, problem: string, single: boolean): boolean {
  if (!/^SparseMatrix(\.fromEncoded)?: /.test(message)) return false;
  if (!single) return Object.values(NAMED).some((r) => r.test(message)) || PER_TILE.test(message);
  return (NAMED[problem] ?? PER_TILE).test(message);
}

/** Calls fromEncoded on `input`, held to `problem` (null: valid); returns what is wrong, or null. */
async function holdTo(input: EncodedSparseMatrix, problem: string | null, single: boolean, what: string): Promise<string | null> {
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  let m: SparseMatrix | null = null;
  let error: unknown = null;
  try {
    m = SparseMatrix.fromEncoded(input);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  if (ms > 1000) return `${what}: fromEncoded took ${ms.toFixed(0)} ms`;
  if (problem !== null) {
    if (m !== null) {
      m.dispose();
      return `${what}: fromEncoded accepted an encoding with a problem (${problem})`;
    }
    if (!(error instanceof Error) || error instanceof TypeError || error instanceof RangeError) {
      return `${what}: fromEncoded threw ${String(error)} for ${problem}, not an Error naming it`;
    }
    if (!namesProblem(error.message, problem, single)) return `${what}: the message "${error.message}" does not name ${problem}`;
    if (tf.memory().numTensors !== before) return `${what}: a refused encoding left ${tf.memory().numTensors - before} tensors`;
    return null;
  }
  if (m === null) return `${what}: fromEncoded refused a valid encoding: ${String(error)}`;
  const t = m.toDense();
  const got = await t.data();
  t.dispose();
  m.dispose();
  const want = readEncoded(input).dense;
  for (let i = 0; i < want.length; i++) {
    if (!(Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.fround(want[i]) === got[i])) {
      return `${what}: element ${i} decodes as ${got[i]}, the format reader says ${want[i]}`;
    }
  }
  return null;
}

describe('SparseMatrix.fromEncoded fuzz', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  itHolds('refuses every broken encoding with a named problem, accepts every valid one', 300, fuzzCases, async (c) => {
    const r = new Rng(`fuzz encoded ${c.seed}`);
    const dense = r.sparse(c.K, c.N, 1 - c.density);
    const good = SparseMatrix.fromDense(dense, [c.K, c.N], {valueType: c.valueType});
    const e = good.toEncoded();
    good.dispose();
    const mutated = clone(e);
    for (const m of c.mutations) apply(mutated, m);
    let problem: string | null;
    try {
      problem = formatProblem(mutated);
    } catch {
      problem = 'unreadable';
    }
    return holdTo(mutated, problem, c.mutations.length === 1, JSON.stringify(c.mutations));
  });

  itHolds('refuses arbitrary values with a named problem', 150, fc.anything({withTypedArray: true, withNullPrototype: true}), async (v) => {
    return holdTo(v as EncodedSparseMatrix, 'any', false, `input ${fc.stringify(v).slice(0, 100)}`);
  });
});
