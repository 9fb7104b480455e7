/**
 * Issue #7: the kernels never read past a binding, even for an encoding that skipped validation. The
 * test bypasses validation by running the SparseMatMul kernel directly (as SparseDense does on its
 * weights) on corrupt header, offsets and values tensors.
 *
 * Every stored value is 1.0 and x is all ones, so a read that stays inside the values binding (even at a
 * clamped, wrong index) gives 1.0, and each output counts the bits its column holds inside the matrix. A
 * read past the binding (0 or garbage), or an x read for a bit past K, would change the count.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {expectNoLeakedTensors} from './helpers/leaks';
import {rng} from './helpers/random';
import type {SparseMatMulAttrs} from '../src/kernels/kernel_names';

const ONES_F16 = 0x3c003c00;  // two f16 1.0s

function attrs(K: number, N: number, transposeW = false): SparseMatMulAttrs {
  return {K, N, valueType: 'float16', transposeX: false, transposeW, activation: 'linear', leakyreluAlpha: 0.2};
}

function run(x: tf.Tensor, header: Int32Array, offsets: Int32Array, values: Int32Array, a: SparseMatMulAttrs): tf.Tensor {
  return tf.tidy(() => tf.engine().runKernel('SparseMatMul', {
    x, header: tf.tensor1d(header, 'int32'), offsets: tf.tensor1d(offsets, 'int32'), values: tf.tensor1d(values, 'int32'),
  }, a as unknown as tf.NamedAttrMap) as tf.Tensor);
}

/** Bits of column n (n < N) at rows below K, over all tiles: what each output must count. */
function insideCounts(header: Int32Array, K: number, N: number): {byColumn: number[], byRow: number[]} {
  const KT = Math.ceil(K / 32), NT = Math.ceil(N / 32);
  const byColumn = new Array<number>(N).fill(0), byRow = new Array<number>(K).fill(0);
  for (let nt = 0; nt < NT; nt++) {
    for (let kt = 0; kt < KT; kt++) {
      for (let c = 0; c < 32; c++) {
        const word = header[(nt * KT + kt) * 36 + c];
        for (let r = 0; r < 32; r++) {
          const k = kt * 32 + r, n = nt * 32 + c;
          if (((word >>> r) & 1) && k < K && n < N) {
            byColumn[n]++;
            byRow[k]++;
          }
        }
      }
    }
  }
  return {byColumn, byRow};
}

describeEachBackend('SparseMatMul on an encoding that skipped validation', (backend) => {
  expectNoLeakedTensors();
  const K = 70, N = 45, M = 3;  // 3 × 2 tiles, edge tiles in both directions
  const T = 6;

  /** Random bitmaps (bits past K and N included), random prefixes, and offsets from `offsets`. */
  function corrupt(label: string, offsets: (t: number) => number): {header: Int32Array, offsets: Int32Array} {
    const r = rng(`${backend} ${label}`);
    const header = new Int32Array(T * 36);
    for (let i = 0; i < header.length; i++) header[i] = (r.next() * 0x100000000) | 0;
    return {header, offsets: Int32Array.from({length: T + 1}, (_, t) => offsets(t))};
  }

  const layouts: Array<[string, (t: number) => number, number]> = [
    ['offsets far past the values', (t) => 1e9 + t * 977, 8],
    ['negative offsets', (t) => -1 - 64 * t, 8],
    ['a values array far shorter than the offsets say', (t) => 1024 * t, 4],
  ];
  for (const [what, offsets, words] of layouts) {
    it(`stays inside every binding: ${what}, random bitmaps and prefixes`, async () => {
      const enc = corrupt(what, offsets);
      const values = new Int32Array(words).fill(ONES_F16);
      const {byColumn, byRow} = insideCounts(enc.header, K, N);
      const x = tf.ones([M, K]);
      const y = run(x, enc.header, enc.offsets, values, attrs(K, N));
      expect(Array.from(await y.data())).toEqual([].concat(...Array.from({length: M}, () => byColumn as never[])));
      // x·Wᵀ (the gradient's program), over the same arrays.
      const dy = tf.ones([M, N]);
      const dx = run(dy, enc.header, enc.offsets, values, attrs(K, N, true));
      expect(Array.from(await dx.data())).toEqual([].concat(...Array.from({length: M}, () => byRow as never[])));
      tf.dispose([x, y, dy, dx]);
    });
  }

  it('still computes correctly afterwards', async () => {
    const x = tf.tensor2d([[1, 2]]);
    const header = new Int32Array(36);
    header[0] = 0b11;  // column 0: rows 0 and 1
    header[32] = 0;
    const y = run(x, header, Int32Array.from([0, 8]), Int32Array.from([ONES_F16, 0x40004000 /* 2, 2 */, 0, 0]), attrs(2, 1));
    expect(Array.from(await y.data())).toEqual([1 * 1 + 2 * 1]);
    tf.dispose([x, y]);
  });

  it('refuses header, offsets or x whose lengths do not match K and N, naming the array', () => {
    const x = tf.ones([M, K]);
    const header = new Int32Array(T * 36), offsets = new Int32Array(T + 1), values = new Int32Array(4);
    expect(() => run(x, header.subarray(1), offsets, values, attrs(K, N))).toThrowError(/SparseMatMul: header must have shape \[216\], got \[215\]/);
    expect(() => run(x, header, new Int32Array(T), values, attrs(K, N))).toThrowError(/SparseMatMul: offsets must have shape \[7\], got \[6\]/);
    expect(() => run(x, header, offsets, values, attrs(K + 1, N))).toThrowError(/SparseMatMul: x must be 2-D with 71 inputs on axis 1, got \[3, 70\]/);
    x.dispose();
  });
});
