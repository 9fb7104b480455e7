/**
 * kvCacheWrite: the written positions hold x's entries, every other cache entry is unchanged (the cache
 * starts random, never zeros), the write lands in the cache's own buffer, and bad arguments are named.
 * It only moves values, so everything must match exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import {describeEachBackend} from './helpers/backends';
import {expectNoLeakedTensors} from './helpers/leaks';
import {kvCacheWriteRef} from './helpers/decoder_ops_reference';
import {rng} from './helpers/random';
import {kvCacheWrite} from '../src/index';

interface Case {
  B: number;
  H: number;
  L: number;
  D: number;
  /** New positions per sequence. */
  S: number;
  position: number;
  /** Columns of x, and where the heads start. */
  C: number;
  column: number;
}

const CASES: Case[] = [
  {B: 1, H: 2, L: 8, D: 4, S: 1, position: 3, C: 24, column: 8},
  {B: 3, H: 4, L: 10, D: 3, S: 4, position: 6, C: 40, column: 2},
  {B: 2, H: 1, L: 5, D: 8, S: 5, position: 0, C: 8, column: 0},
  {B: 2, H: 3, L: 16, D: 5, S: 2, position: 14, C: 45, column: 30},
];

function firstDifference(got: ArrayLike<number>, want: ArrayLike<number>): string {
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return `element ${i}: got ${got[i]}, want ${want[i]}`;
  return 'none';
}

describeEachBackend('kvCacheWrite', (backend) => {
  expectNoLeakedTensors();

  for (const c of CASES) {
    const label = `B ${c.B}, H ${c.H}, L ${c.L}, D ${c.D}: ${c.S} positions at ${c.position} from column ${c.column} of ${c.C}`;
    it(`writes only the new positions, in place (${label})`, async () => {
      const r = rng(`kvCacheWrite ${label} ${backend}`);
      const start = r.normals(c.B * c.H * c.L * c.D);
      const xs = r.normals(c.B * c.S * c.C);
      const cache = tf.tensor4d(start.slice(), [c.B, c.H, c.L, c.D]);
      const x = tf.tensor2d(xs, [c.B * c.S, c.C]);
      // Read once first: a backend that keeps a CPU copy after a read must not return it afterwards.
      await cache.data();
      const out = kvCacheWrite(cache, x, {position: c.position, column: c.column});
      expect(out.shape).toEqual(cache.shape);
      expect(out.dataId).withContext('the result shares the cache buffer').toBe(cache.dataId);
      const want = kvCacheWriteRef(start, xs, c);
      out.dispose();
      expect(cache.isDisposed).toBeFalse();
      const got = await cache.data();
      expect(firstDifference(got, want)).withContext('first entry that differs').toBe('none');
      tf.dispose([cache, x]);
    });
  }

  it('keeps earlier writes when later positions are written (as decoding does)', async () => {
    const c: Case = {B: 2, H: 2, L: 6, D: 4, S: 1, position: 0, C: 8, column: 0};
    const r = rng(`kvCacheWrite steps ${backend}`);
    let want = r.normals(c.B * c.H * c.L * c.D);
    const cache = tf.tensor4d(want.slice(), [c.B, c.H, c.L, c.D]);
    for (let p = 0; p < c.L; p++) {
      const xs = r.normals(c.B * c.C);
      const x = tf.tensor2d(xs, [c.B, c.C]);
      tf.dispose([kvCacheWrite(cache, x, {position: p}), x]);
      want = kvCacheWriteRef(want, xs, {...c, position: p});
    }
    expect(firstDifference(await cache.data(), want)).toBe('none');
    cache.dispose();
  });

  it('names bad arguments', () => tf.tidy(() => {
    const cache = tf.zeros([2, 2, 4, 3]) as tf.Tensor4D;
    const x = tf.zeros([2, 6]);
    expect(() => kvCacheWrite(tf.zeros([2, 4]) as unknown as tf.Tensor4D, x, {position: 0}))
        .toThrowError(/cache must be a 4-D tensor \[B, H, L, D\], got shape \[2, 4\]/);
    expect(() => kvCacheWrite(cache, tf.zeros([6]), {position: 0})).toThrowError(/x must be a 2-D tensor/);
    expect(() => kvCacheWrite(cache, tf.zeros([3, 6]), {position: 0})).toThrowError(/3 rows, not a positive multiple of the cache's batch 2/);
    expect(() => kvCacheWrite(cache, x, {position: 4})).toThrowError(/position 4 with 1 new positions does not fit a cache of length 4/);
    expect(() => kvCacheWrite(cache, tf.zeros([4, 6]), {position: 3})).toThrowError(/position 3 with 2 new positions/);
    expect(() => kvCacheWrite(cache, x, {position: 1.5})).toThrowError(/position 1.5/);
    expect(() => kvCacheWrite(cache, x, {position: 0, column: 1})).toThrowError(/columns \[1, 7\) for 2 heads × 3 are not within x's 6 columns/);
    expect(() => kvCacheWrite(cache, tf.zeros([2, 6], 'int32'), {position: 0})).toThrowError(/x must be float32, got int32/);
  }));
});
