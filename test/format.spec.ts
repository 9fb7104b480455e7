/**
 * Issue #2: encode/decode round trips, f16 rounding and range, special values and the size bound.
 * These run on the cpu backend (they test the host-side encoder, not a kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import './helpers/setup';
import {SparseMatrix} from '../src/index';
import {f16round, f16roundRef, nativeF16round} from './helpers/f16';
import {readEncoded} from './helpers/format_reader';
import {rng} from './helpers/random';
import {expectNoLeakedTensors} from './helpers/leaks';

async function decoded(w: SparseMatrix): Promise<Float32Array> {
  const t = w.toDense();
  const d = await t.data() as Float32Array;
  t.dispose();
  return d;
}

/** Values spread over f16's whole range, including subnormals and exact ties, all below 65504. */
function f16Probe(n: number, label: string): Float32Array {
  const r = rng(label);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.int(5);
    let v: number;
    if (kind === 0) {
      v = r.normal();
    } else if (kind === 1) {
      v = r.uniform(-1, 1) * Math.pow(2, r.uniform(-27, 15.99));  // subnormals .. near the max
    } else if (kind === 2) {
      // An exact tie between two f16 neighbours (odd multiple of half an ulp), normal range.
      const e = r.int(30) - 14;
      v = (2 * (1024 + r.int(1024)) + 1) * Math.pow(2, e - 11);
    } else if (kind === 3) {
      v = (2 * r.int(1024) + 1) * Math.pow(2, -25);  // a tie in the subnormal range
    } else {
      v = 0;
    }
    v = Math.fround(r.next() < 0.5 ? -v : v);
    a[i] = Math.abs(v) > 65504 ? 65504 * Math.sign(v) : v;
  }
  return a;
}

describe('encode/decode', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  expectNoLeakedTensors();

  it('has a float64 f16 rounding that agrees with known values and Math.f16round', () => {
    expect(f16roundRef(1 + Math.pow(2, -11))).toBe(1);                      // tie to even (down)
    expect(f16roundRef(1 + 3 * Math.pow(2, -11))).toBe(1 + Math.pow(2, -9)); // tie to even (up)
    expect(f16roundRef(65504)).toBe(65504);
    expect(f16roundRef(65519.99)).toBe(65504);
    expect(f16roundRef(65520)).toBe(Infinity);
    expect(f16roundRef(Math.pow(2, -24))).toBe(Math.pow(2, -24));
    expect(f16roundRef(Math.pow(2, -25))).toBe(0);                           // tie to even (0)
    expect(Object.is(f16roundRef(-Math.pow(2, -26)), -0)).toBeTrue();
    expect(f16roundRef(3 * Math.pow(2, -25))).toBe(Math.pow(2, -23));        // tie to even (up)
    expect(f16roundRef(0.1)).toBe(0.0999755859375);
    if (nativeF16round) {
      const probe = f16Probe(20000, 'f16 self-check');
      let bad = 0;
      for (const v of probe) if (!Object.is(nativeF16round(v), f16roundRef(v))) bad++;
      expect(bad).withContext('f16roundRef disagrees with Math.f16round').toBe(0);
    }
  });

  for (const [K, N] of [[70, 45], [33, 129], [1, 1], [257, 3]] as Array<[number, number]>) {
    it(`round-trips exactly with valueType float32 (${K}×${N})`, async () => {
      const dense = rng(`f32 roundtrip ${K}x${N}`).sparse(K, N, 0.6);
      const w = SparseMatrix.fromDense(dense, [K, N], {valueType: 'float32'});
      let nonzero = 0;
      for (const v of dense) if (v !== 0) nonzero++;
      expect(w.nnz).toBe(nonzero);
      expect(w.shape).toEqual([K, N]);
      expect(w.valueType).toBe('float32');
      expect(await decoded(w)).toEqual(dense);
      // The stored layout, read by the independent reader of docs/format.md.
      const {dense: read, stored} = readEncoded(w.toEncoded());
      expect(stored).toBe(nonzero);
      expect(Float32Array.from(read)).toEqual(dense);
      w.dispose();
    });
  }

  it('rounds every value to the nearest f16 (ties to even) with valueType float16', async () => {
    const K = 100, N = 130;
    const dense = f16Probe(K * N, 'f16 roundtrip');
    const w = SparseMatrix.fromDense(dense, [K, N]);
    expect(w.valueType).toBe('float16');
    const out = await decoded(w);
    const {dense: read, stored} = readEncoded(w.toEncoded());
    let nonzero = 0, bad = 0, firstBad = '';
    for (let i = 0; i < dense.length; i++) {
      if (dense[i] !== 0) nonzero++;
      const want = dense[i] === 0 ? 0 : f16round(dense[i]);
      if (!Object.is(out[i], want) || !Object.is(read[i], want)) {
        if (bad++ === 0) firstBad = `index ${i}: ${dense[i]} decoded as ${out[i]} (stored ${read[i]}), expected ${want}`;
      }
    }
    expect(bad).withContext(`values not rounded to nearest-even f16; first: ${firstBad}`).toBe(0);
    expect(w.nnz).toBe(nonzero);
    expect(stored).toBe(nonzero);
    w.dispose();
  });

  it('names the count and the largest magnitude when values overflow f16; float32 keeps them', async () => {
    const dense = new Float32Array([1, 70000, 0, -123456, 65504, Infinity, -65504.5, 3]);
    expect(() => SparseMatrix.fromDense(dense, [2, 4]))
        .toThrowError(/\b3 value\(s\) exceed the float16 range \(largest magnitude 123456\b.*valueType: 'float32'/);
    const w = SparseMatrix.fromDense(dense, [2, 4], {valueType: 'float32'});
    expect(await decoded(w)).toEqual(dense);
    w.dispose();
    // 65504 itself and ±Inf are fine in f16.
    const ok = SparseMatrix.fromDense(new Float32Array([65504, -65504, Infinity, -Infinity]), [2, 2]);
    expect(Array.from(await decoded(ok))).toEqual([65504, -65504, Infinity, -Infinity]);
    ok.dispose();
  });

  for (const valueType of ['float16', 'float32'] as const) {
    it(`keeps NaN, ±Inf, subnormals and underflows, drops ±0 (${valueType})`, async () => {
      const tiny = Math.fround(1e-40);  // an f32 subnormal: 0 in f16, but still stored
      const values = [0, -0, NaN, Infinity, -Infinity, Math.pow(2, -24), -Math.pow(2, -20), tiny, -tiny, 1e-9, -1e-9, 2.5];
      const dense = new Float32Array(4 * 35);
      const where: number[] = [];
      for (let i = 0; i < values.length; i++) {
        const at = (i * 37) % dense.length;  // spread over both tile columns and several rows
        dense[at] = values[i];
        where.push(at);
      }
      const w = SparseMatrix.fromDense(dense, [4, 35], {valueType});
      const stored = values.filter((v) => !Object.is(v, 0) && !Object.is(v, -0)).length;
      expect(w.nnz).withContext('stored entries: all but ±0').toBe(stored);
      expect(readEncoded(w.toEncoded()).stored).toBe(stored);
      const out = await decoded(w);
      for (let i = 0; i < values.length; i++) {
        const v = Math.fround(values[i]);
        const want = v === 0 ? 0 : (valueType === 'float16' ? f16round(v) : v);
        const got = out[where[i]];
        expect(Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want))
            .withContext(`${values[i]} decoded as ${got}, expected ${want}`).toBeTrue();
      }
      w.dispose();
    });
  }

  it('stores the value 0 for an underflow but keeps its bit, so the pattern does not depend on valueType', () => {
    const dense = new Float32Array([1e-9, 0, 1, -1e-12, 0, 0]);
    const a = SparseMatrix.fromDense(dense, [2, 3]);
    const b = SparseMatrix.fromDense(dense, [2, 3], {valueType: 'float32'});
    expect(a.nnz).toBe(3);
    expect(b.nnz).toBe(3);
    expect(a.toEncoded().header).toEqual(b.toEncoded().header);
    a.dispose();
    b.dispose();
  });

  it('round-trips fromTensor like fromDense', async () => {
    const dense = rng('fromTensor').sparse(40, 50, 0.7);
    const t = tf.tensor2d(dense, [40, 50]);
    const w = await SparseMatrix.fromTensor(t);
    const v = SparseMatrix.fromDense(dense, [40, 50]);
    expect(w.toEncoded()).toEqual(v.toEncoded());
    t.dispose();
    w.dispose();
    v.dispose();
  });
});

describe('size', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // byteSize ≤ (bytes per value · d + 0.16) · K · N, d = nnz / (K · N) (docs/format.md § Size).
  const shapes: Array<[number, number]> = [[1024, 1024], [4097, 1000]];
  for (const [K, N] of shapes) {
    it(`stays within (2d + 0.16)·K·N (f16) and (4d + 0.16)·K·N (f32) bytes for ${K}×${N}`, () => {
      const r = rng(`size ${K}x${N}`);
      for (const density of [0.5, 0.2, 0.1, 0.01, 0]) {
        const dense = r.sparse(K, N, 1 - density);
        for (const [valueType, bytes] of [['float16', 2], ['float32', 4]] as const) {
          const w = SparseMatrix.fromDense(dense, [K, N], {valueType});
          const d = w.nnz / (K * N);
          const limit = (bytes * d + 0.16) * K * N;
          expect(w.byteSize)
              .withContext(`${valueType} at density ${d.toFixed(4)}: ${(w.byteSize / (K * N)).toFixed(4)} B/weight`)
              .toBeLessThanOrEqual(limit);
          // byteSize counts every stored word.
          const e = w.toEncoded();
          const words = e.header.length + e.offsets.length + Math.max(e.values.length, 4);
          expect(w.byteSize).toBe(4 * words);
          w.dispose();
        }
      }
    });
  }

  it('exempts tiny matrices, whose one tile header dominates (3×3 takes 184 bytes)', () => {
    const w = SparseMatrix.fromDense(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), [3, 3]);
    // 144 B header + 8 B offsets + 16 f16 slots (9 values padded to 8-element groups) = 184 B.
    expect(w.byteSize).toBe(184);
    w.dispose();
  });
});
