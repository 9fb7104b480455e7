/** Issue #2: fromCOO and fromEncoded, including every rejection that docs/format.md promises. */
import * as tf from '@tensorflow/tfjs-core';
import './helpers/setup';
import {EncodedSparseMatrix, SparseMatrix} from '../src/index';
import {rng} from './helpers/random';
import {expectNoLeakedTensors} from './helpers/leaks';

/** Random COO entries of a [K, N] matrix in random order, and the dense matrix they make. */
function randomCOO(K: number, N: number, nnz: number, label: string) {
  const r = rng(label);
  const dense = new Float32Array(K * N);
  const picked = new Set<number>();
  while (picked.size < nnz) picked.add(r.int(K * N));
  const order = [...picked];
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const flat: number[] = [], pairs: number[][] = [], values: number[] = [];
  for (const p of order) {
    const row = Math.floor(p / N), col = p % N;
    const v = Math.fround(r.nonzero());
    flat.push(row, col);
    pairs.push([row, col]);
    values.push(v);
    dense[p] = v;
  }
  return {dense, flat, pairs, values};
}

function popcount(v: number): number {
  let n = 0;
  for (; v !== 0; v &= v - 1) n++;
  return n;
}

function clone(e: EncodedSparseMatrix): EncodedSparseMatrix {
  return {...e, shape: [e.shape[0], e.shape[1]], header: e.header.slice(), offsets: e.offsets.slice(), values: e.values.slice()};
}

describe('SparseMatrix.fromCOO', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  expectNoLeakedTensors();

  for (const valueType of ['float16', 'float32'] as const) {
    it(`matches fromDense from flat and pair arrays and tensors (${valueType})`, () => {
      const K = 70, N = 45;
      const {dense, flat, pairs, values} = randomCOO(K, N, 900, `coo ${valueType}`);
      const want = SparseMatrix.fromDense(dense, [K, N], {valueType});
      const expected = want.toEncoded();
      const fromFlat = SparseMatrix.fromCOO(flat, values, [K, N], {valueType});
      const fromPairs = SparseMatrix.fromCOO(pairs, values, [K, N], {valueType});
      const fromTyped = SparseMatrix.fromCOO(Int32Array.from(flat), Float32Array.from(values), [K, N], {valueType});
      const indices = tf.tensor2d(flat, [values.length, 2], 'int32');
      const vals = tf.tensor1d(values);
      const fromTensors = SparseMatrix.fromCOO(indices, vals, [K, N], {valueType});
      for (const [name, m] of [['flat', fromFlat], ['pairs', fromPairs], ['typed', fromTyped], ['tensors', fromTensors]] as const) {
        expect(m.toEncoded()).withContext(name).toEqual(expected);
        expect(m.nnz).withContext(name).toBe(want.nnz);
        m.dispose();
      }
      want.dispose();
      indices.dispose();
      vals.dispose();
    });
  }

  it('does not store explicit zeros, and accepts no entries at all', () => {
    const m = SparseMatrix.fromCOO([[0, 0], [1, 2], [2, 1]], [0, 5, -0], [3, 3]);
    expect(m.nnz).toBe(1);
    m.dispose();
    const empty = SparseMatrix.fromCOO([], [], [40, 40]);
    expect(empty.nnz).toBe(0);
    expect(empty.sparsity).toBe(1);
    empty.dispose();
  });

  it('rejects duplicates, naming the index', () => {
    expect(() => SparseMatrix.fromCOO([[1, 2], [3, 4], [1, 2]], [1, 2, 3], [5, 5]))
        .toThrowError(/fromCOO: duplicate index \(1, 2\)/);
    expect(() => SparseMatrix.fromCOO([0, 40, 33, 7, 0, 40], [1, 2, 3], [64, 64]))
        .toThrowError(/fromCOO: duplicate index \(0, 40\)/);
  });

  it('rejects indices outside the shape, negative or not integers, naming the entry', () => {
    expect(() => SparseMatrix.fromCOO([[0, 0], [5, 1]], [1, 2], [5, 5]))
        .toThrowError(/fromCOO: index 1 is \(5, 1\), outside shape \[5, 5\]/);
    expect(() => SparseMatrix.fromCOO([[0, 5]], [1], [5, 5])).toThrowError(/index 0 is \(0, 5\), outside shape/);
    expect(() => SparseMatrix.fromCOO([[-1, 0]], [1], [5, 5])).toThrowError(/index 0 is \(-1, 0\), outside shape/);
    expect(() => SparseMatrix.fromCOO([[0.5, 0]], [1], [5, 5])).toThrowError(/index 0 is \(0.5, 0\), outside shape/);
  });

  it('rejects indices and values of different lengths, and malformed pairs', () => {
    expect(() => SparseMatrix.fromCOO([0, 1, 2, 3, 4], [1, 2, 3], [5, 5]))
        .toThrowError(/fromCOO: indices hold 5 numbers, expected \[3, 2\] \(6\)/);
    expect(() => SparseMatrix.fromCOO([[0, 1], [2, 3, 4]], [1, 2], [5, 5]))
        .toThrowError(/fromCOO: index 1 must be a \(row, column\) pair/);
  });

  it('applies the f16 range check to the values it stores', () => {
    expect(() => SparseMatrix.fromCOO([[0, 0], [1, 1]], [1e5, 2], [2, 2]))
        .toThrowError(/1 value\(s\) exceed the float16 range \(largest magnitude 100000/);
    // Beyond f32's range too: still named, not turned into Infinity on the way.
    expect(() => SparseMatrix.fromCOO([[0, 0]], [-1e40], [2, 2]))
        .toThrowError(/1 value\(s\) exceed the float16 range \(largest magnitude 1e\+40/);
    const m = SparseMatrix.fromCOO([[0, 0], [1, 1]], [1e5, 2], [2, 2], {valueType: 'float32'});
    expect(m.nnz).toBe(2);
    m.dispose();
  });
});

describe('SparseMatrix.fromEncoded', () => {
  // 70 × 45: 3 × 2 tiles (6), with partial edge tiles (6 rows, 13 columns).
  const K = 70, N = 45;
  let good16: EncodedSparseMatrix;
  let good32: EncodedSparseMatrix;
  let dense: Float32Array;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dense = rng('fromEncoded').sparse(K, N, 0.5);
    for (let i = 0; i < N; i++) dense[i] = 1 + i;  // tile 0 never empty
    const a = SparseMatrix.fromDense(dense, [K, N]);
    const b = SparseMatrix.fromDense(dense, [K, N], {valueType: 'float32'});
    good16 = a.toEncoded();
    good32 = b.toEncoded();
    a.dispose();
    b.dispose();
  });
  expectNoLeakedTensors();

  it('accepts toEncoded() output and rebuilds the same matrix (both value types)', async () => {
    for (const good of [good16, good32]) {
      const m = SparseMatrix.fromEncoded(clone(good));
      expect(m.toEncoded()).toEqual(good);
      expect(m.shape).toEqual([K, N]);
      const t = m.toDense();
      const back = SparseMatrix.fromDense(await t.data() as Float32Array, [K, N], {valueType: good.valueType});
      expect(back.toEncoded()).toEqual(good);
      expect(m.nnz).toBe(back.nnz);
      t.dispose();
      m.dispose();
      back.dispose();
    }
  });

  it('copies its input: later changes to the arrays do not reach the matrix', () => {
    const e = clone(good16);
    const m = SparseMatrix.fromEncoded(e);
    e.values.fill(0);
    e.header.fill(0);
    expect(m.toEncoded()).toEqual(good16);
    m.dispose();
  });

  /** Applies `mutate` to a copy of the f16 (or f32) encoding and expects fromEncoded to throw `message`. */
  function rejects(mutate: (e: EncodedSparseMatrix) => unknown, message: RegExp, valueType: 'float16' | 'float32' = 'float16') {
    const e = clone(valueType === 'float16' ? good16 : good32);
    const replaced = mutate(e);
    const input = (replaced === undefined ? e : replaced) as EncodedSparseMatrix;
    expect(() => SparseMatrix.fromEncoded(input)).toThrowError(Error, message);
  }

  it('rejects a wrong format name or version', () => {
    rejects((e) => ({...e, format: 'csr'}), /fromEncoded: unknown format "csr", expected 'tiled-bitmap'/);
    rejects((e) => ({...e, version: 2}), /fromEncoded: unknown format version 2, this build reads version 1/);
    rejects(() => null, /fromEncoded: expected an encoded matrix object, got null/);
  });

  it('rejects a bad shape or value type', () => {
    rejects((e) => ({...e, shape: [70]}), /shape must be \[K, N\], got \[70\]/);
    rejects((e) => ({...e, shape: [70, 0]}), /shape must be two positive integers, got \[70, 0\]/);
    rejects((e) => ({...e, valueType: 'bfloat16'}), /valueType must be 'float16' or 'float32', got bfloat16/);
  });

  it('rejects arrays of the wrong type, naming the array and the type', () => {
    rejects((e) => ({...e, header: Float32Array.from(e.header)}), /fromEncoded: header must be an Int32Array, got Float32Array/);
    rejects((e) => ({...e, offsets: Uint32Array.from(e.offsets)}), /fromEncoded: offsets must be an Int32Array, got Uint32Array/);
    rejects((e) => ({...e, values: Array.from(e.values)}), /fromEncoded: values must be an Int32Array, got Array/);
  });

  it('rejects arrays of the wrong length, naming the array and both lengths', () => {
    rejects((e) => ({...e, header: e.header.slice(0, -1)}), /fromEncoded: header has 215 words, expected 216 \(6 tiles × 36\)/);
    rejects((e) => ({...e, shape: [K + 40, N]}), /fromEncoded: header has 216 words, expected 288 \(8 tiles × 36\)/);
    rejects((e) => ({...e, offsets: e.offsets.slice(0, -1)}), /fromEncoded: offsets has 6 entries, expected 7/);
    const words = good16.values.length;
    rejects((e) => {
      const v = new Int32Array(words + 4);
      v.set(e.values);
      e.values = v;
    }, new RegExp(`fromEncoded: values has ${words + 4} words, expected ${words}`));
    rejects((e) => ({...e, values: e.values.slice(0, words - 4)}), /fromEncoded: offsets\[\d\] = \d+ runs past the \d+ stored values/);
    rejects((e) => ({...e, valueType: 'float32'}), /fromEncoded: (offsets\[\d\] = \d+ runs past|tile \d bitmap popcount)/);
  });

  it('rejects offsets that do not start at 0, decrease or run past the values', () => {
    rejects((e) => {
      e.offsets[0] = 8;
    }, /fromEncoded: offsets\[0\] is 8, expected 0/);
    rejects((e) => {
      e.offsets[2] = e.offsets[1] - 8;
    }, /fromEncoded: offsets decrease at tile 1 \(\d+ then -?\d+\)/);
    rejects((e) => {
      e.offsets[6] = e.values.length * 2 + 8;
    }, /fromEncoded: offsets\[6\] = \d+ runs past the \d+ stored values/);
    rejects((e) => {
      e.offsets[6] = e.values.length + 4;
    }, /fromEncoded: offsets\[6\] = \d+ runs past the \d+ stored values/, 'float32');
  });

  it('rejects a tile whose bitmap popcount disagrees with its offsets', () => {
    // Tile 0 claims 8 more slots; the values grow to match, so only the count is wrong.
    rejects((e) => {
      for (let t = 1; t < e.offsets.length; t++) e.offsets[t] += 8;
      const v = new Int32Array(e.values.length + 4);
      v.set(e.values);
      e.values = v;
    }, /fromEncoded: tile 0 bitmap popcount is \d+ \(\d+ with padding\), but its offsets span \d+/);
    // Bits removed from group 7 of tile 0 (columns 28..31), enough to change the padded count; group 7's
    // prefix counts columns 0..27 only, so the prefixes still match and only the offsets disagree.
    rejects((e) => {
      let count = 0;
      for (let c = 0; c < 32; c++) count += popcount(e.header[c]);
      let remove = count % 8 === 0 ? 8 : count % 8;
      for (let c = 31; c >= 28 && remove > 0; c--) {
        while (e.header[c] !== 0 && remove > 0) {
          e.header[c] &= e.header[c] - 1;
          remove--;
        }
      }
      expect(remove).withContext('group 7 of tile 0 has too few bits for this test').toBe(0);
    }, /fromEncoded: tile 0 bitmap popcount is \d+ \(\d+ with padding\), but its offsets span \d+/);
  });

  it('rejects a wrong group prefix, naming the tile and group', () => {
    rejects((e) => {
      e.header[1 * 36 + 32] ^= 1 << 16;  // tile 1, group 1 (high half of the first prefix word)
    }, /fromEncoded: tile 1 group 1 prefix is \d+, but the bitmap counts \d+/);
    rejects((e) => {
      e.header[0 * 36 + 32] |= 1;  // tile 0, group 0 must be 0
    }, /fromEncoded: tile 0 group 0 prefix is 1, but the bitmap counts 0/);
  });

  it('rejects bits set outside the matrix (rows past K, columns past N)', () => {
    // Tile 2 is (kt 2, nt 0): rows 64..69 exist, so bit 10 (row 74) is outside.
    rejects((e) => {
      e.header[2 * 36 + 0] |= 1 << 10;
    }, /fromEncoded: tile 2 has bits set outside the \[70, 45\] matrix/);
    // Tile 3 is (kt 0, nt 1): columns 32..44 exist, so tile column 20 (column 52) is outside.
    rejects((e) => {
      e.header[3 * 36 + 20] |= 1;
    }, /fromEncoded: tile 3 has bits set outside the \[70, 45\] matrix/);
  });
});
