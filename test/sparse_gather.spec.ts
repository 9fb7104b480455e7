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
