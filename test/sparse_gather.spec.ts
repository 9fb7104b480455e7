/**
 * sparseGather (rows of a SparseMatrix, the sparse embedding lookup) against the rows that the
 * independent format reader (helpers/format_reader.ts) finds in the same encoding. A gather does no
 * arithmetic, so every entry must match exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {readEncoded} from './helpers/format_reader';
import {expectNoLeakedTensors} from './helpers/leaks';
import {rng} from './helpers/random';
import {SparseMatrix, sparseGather, ValueType} from '../src/index';

interface Case {
  K: number;
  N: number;
  sparsity: number;
  valueType?: ValueType;
  /** Number of indices, drawn at random (with repeats), plus the first and last row. */
  count: number;
}

const CASES: Case[] = [
  {K: 100, N: 72, sparsity: 0.5, count: 9},
  {K: 37, N: 5, sparsity: 0, count: 6},
  {K: 200, N: 130, sparsity: 0.9, valueType: 'float32', count: 17},
  {K: 64, N: 96, sparsity: 0.8, count: 40},
  {K: 33, N: 33, sparsity: 1, count: 3},
];

describeEachBackend('sparseGather', (backend) => {
  expectNoLeakedTensors();

  for (const c of CASES) {
    const label = `${c.K}×${c.N}, sparsity ${c.sparsity}, ${c.valueType ?? 'float16'}, ${c.count} + 2 rows`;
    it(`returns the stored rows (${label})`, async () => {
      const r = rng(`sparseGather ${label} ${backend}`);
      const w = SparseMatrix.fromDense(r.sparse(c.K, c.N, c.sparsity), [c.K, c.N], {valueType: c.valueType});
      const {dense} = readEncoded(w.toEncoded());
      const rows = [0, c.K - 1, ...Array.from({length: c.count}, () => r.int(c.K))];
      const indices = tf.tensor1d(rows, 'int32');
      const y = sparseGather(w, indices);
      expect(y.shape).toEqual([rows.length, c.N]);
      expect(y.dtype).toBe('float32');
      const got = await y.data();
      let wrong = 0, first = '';
      for (let i = 0; i < rows.length; i++) {
        for (let n = 0; n < c.N; n++) {
          const want = dense[rows[i] * c.N + n];
          if (got[i * c.N + n] !== want) {
            if (!wrong) first = `row ${rows[i]} (index ${i}), column ${n}: got ${got[i * c.N + n]}, stored ${want}`;
            wrong++;
          }
        }
      }
      expect(wrong).withContext(`entries that differ from the stored weight; first: ${first}`).toBe(0);
      tf.dispose([indices, y]);
      w.dispose();
    });
  }

  // Learned positions added in the kernel: [B·S] sequence-major indices, position start + s.
  for (const [B, S, start, N] of [[1, 1, 0, 72], [3, 1, 17, 5], [2, 5, 3, 130], [1, 9, 0, 33]]) {
    it(`adds learned positions in the kernel (${B} sequences × ${S} tokens from position ${start}, N ${N})`, async () => {
      const r = rng(`sparseGather positions ${B} ${S} ${start} ${N} ${backend}`);
      const K = 100, P = start + S + 2;
      const w = SparseMatrix.fromDense(r.sparse(K, N, 0.6), [K, N]);
      const {dense} = readEncoded(w.toEncoded());
      const pos = r.normals(P * N);
      const rows = Array.from({length: B * S}, () => r.int(K));
      const [indices, table] = [tf.tensor1d(rows, 'int32'), tf.tensor2d(pos, [P, N])];
      const y = sparseGather(w, indices, {positions: {table, start, perSequence: S}});
      expect(y.shape).toEqual([B * S, N]);
      const got = await y.data();
      // One float32 add per entry: exactly what Math.fround gives.
      const want = rows.flatMap((k, i) => Array.from({length: N}, (_, n) => Math.fround(dense[k * N + n] + pos[(start + i % S) * N + n])));
      expect(Array.from(got)).toEqual(want);
      tf.dispose([indices, table, y]);
      w.dispose();
    });
  }

  it('names bad positions', () => {
    const w = SparseMatrix.fromDense(new Float32Array(64).fill(1), [8, 8]);
    const table = tf.zeros([4, 8]) as tf.Tensor2D, narrow = tf.zeros([4, 7]) as tf.Tensor2D;
    const flat = tf.zeros([4]) as tf.Tensor1D as unknown as tf.Tensor2D;
    expect(() => sparseGather(w, [1, 2], {positions: {table: narrow, start: 0}})).toThrowError('sparseGather: positions.table has 7 columns, the weight 8');
    expect(() => sparseGather(w, [1, 2], {positions: {table, start: 3}})).toThrowError("sparseGather: positions [3, 5) are not within the table's 4 rows");
    expect(() => sparseGather(w, [1, 2], {positions: {table, start: 0.5}})).toThrowError(/positions \[0.5, 2.5\) are not within/);
    expect(() => sparseGather(w, [1, 2], {positions: {table, start: 0, perSequence: 0}})).toThrowError('sparseGather: positions.perSequence must be a positive integer, got 0');
    expect(() => sparseGather(w, [1, 2], {positions: {table: flat, start: 0}})).toThrowError(/positions.table must be a 2-D tensor \[P, N\], got shape \[4\]/);
    tf.dispose([table, narrow, flat]);
    w.dispose();
  });

  it('keeps the shape of nested index arrays: [2, 3] indices give [2, 3, N]', async () => {
    const r = rng(`sparseGather nested ${backend}`);
    const w = SparseMatrix.fromDense(r.sparse(50, 40, 0.7), [50, 40]);
    const {dense} = readEncoded(w.toEncoded());
    const ids = [[3, 49, 0], [17, 17, 8]];
    const y = sparseGather(w, ids);
    expect(y.shape).toEqual([2, 3, 40]);
    const got = await y.data();
    const want = ids.flat().flatMap((k) => Array.from(dense.subarray(k * 40, (k + 1) * 40)));
    expect(Array.from(got)).toEqual(want);
    y.dispose();
    w.dispose();
  });

  it('refuses indices that are not integers, not int32 tensors, or a weight that is not a SparseMatrix', () => {
    const w = SparseMatrix.fromDense(new Float32Array(64).fill(1), [8, 8]);
    const f = tf.tensor1d([1, 2], 'float32');
    expect(() => sparseGather(w, f)).toThrowError(/indices must be int32, got float32/);
    expect(() => sparseGather(w, [1, 2.5])).toThrowError(/indices must be integers, got 2.5 at \[1\]/);
    expect(() => sparseGather({} as SparseMatrix, [1])).toThrowError(/w must be a SparseMatrix/);
    f.dispose();
    w.dispose();
    expect(() => sparseGather(w, [1])).toThrowError(/disposed/);
  });

  if (backend === 'cpu') {
    it('names an index outside [0, K) on cpu', () => {
      const w = SparseMatrix.fromDense(new Float32Array(64).fill(1), [8, 8]);
      expect(() => sparseGather(w, [0, 8])).toThrowError(/index 8 at 1 is not in \[0, 7\]/);
      expect(() => sparseGather(w, [-1])).toThrowError(/index -1 at 0 is not in \[0, 7\]/);
      w.dispose();
    });
  }
});
