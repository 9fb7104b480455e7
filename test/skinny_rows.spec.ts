/**
 * The skinny program's plan. Rows per workgroup: enough to cover M, at most 16, and within the device's
 * workgroup memory. A device made with WebGPU's default limits (16,384 B) cannot hold the 16-row
 * program (16,388 B): before this check its pipeline was invalid and every product with M > 8 silently
 * produced nothing (bench/e2e's prefill on such a device). K splits: every tile row in exactly one
 * split, whole slices per split, and at least two tiles per slice where K is split. Loops with constant
 * bounds up to 8 rows per workgroup (the flag moves it), named by the shader key.
 */
import * as tf from '@tensorflow/tfjs-core';
import {withFlag} from './helpers/binding_limit';
import {BOUNDED_LOOP_MAX_ROWS_FLAG, planProduct, planSplits, rowsPerGroup, TARGET_WORKGROUPS_FLAG} from '../src/kernels/webgpu/sparse_mat_mul_plan';
import {SKINNY_SLICES, skinnyWorkgroupBytes} from '../src/kernels/webgpu/sparse_mat_mul_skinny_program';

describe('skinny program rows per workgroup', () => {
  it('covers M with the fewest rows, up to 16, where the device holds them', () => {
    const cases: Array<[number, number]> = [[1, 1], [2, 2], [3, 4], [4, 4], [5, 8], [8, 8], [9, 16], [16, 16], [300, 16], [4097, 16]];
    for (const [M, want] of cases) expect(rowsPerGroup(M, 49152)).withContext(`M=${M}`).toBe(want);
  });

  it('stays within the workgroup memory of a device with the default limits', () => {
    expect(skinnyWorkgroupBytes(16)).toBeGreaterThan(16384);
    for (const M of [1, 3, 8, 9, 16, 1000]) {
      const rows = rowsPerGroup(M, 16384);
      expect(skinnyWorkgroupBytes(rows)).withContext(`M=${M}`).toBeLessThanOrEqual(16384);
      expect(rows).withContext(`M=${M}`).toBe(Math.min(8, [1, 2, 4, 8, 16].find((r) => r >= M) ?? 16));
    }
    expect(rowsPerGroup(100, skinnyWorkgroupBytes(2))).toBe(2);
  });

  it('splits K into whole slices of at least two tiles each, covering every tile row once', async () => {
    expect(tf.env().getNumber(TARGET_WORKGROUPS_FLAG)).toBe(2048);
    const big = 1e12;  // weight bytes: the partial sums' traffic never limits the splits here
    for (const [KT, others] of [[1, 1], [15, 1], [16, 1], [31, 1], [32, 1], [128, 128], [129, 128], [256, 256], [448, 128], [128, 448], [5000, 3]]) {
      const {splits, tileRowsPerSplit} = planSplits(KT, others, 4, big);
      const what = `KT ${KT}, ${others} workgroups`;
      expect(splits * tileRowsPerSplit).withContext(what).toBeGreaterThanOrEqual(KT);
      expect((splits - 1) * tileRowsPerSplit).withContext(what).toBeLessThan(KT);
      expect(tileRowsPerSplit % SKINNY_SLICES).withContext(what).toBe(0);
      if (splits > 1) expect(tileRowsPerSplit).withContext(what).toBeGreaterThanOrEqual(2 * SKINNY_SLICES);
      expect(splits).withContext(what).toBeLessThanOrEqual(Math.max(1, Math.ceil(2048 / others)));
    }
    // 1×4096·4096×4096: 128 column blocks. 16 splits would leave one tile per slice; 8 keep two.
    expect(planSplits(128, 128, 4, big)).toEqual({splits: 8, tileRowsPerSplit: 16});
    // 8192²: 256 column blocks, 8 splits of 4 tiles per slice.
    expect(planSplits(256, 256, 4, big)).toEqual({splits: 8, tileRowsPerSplit: 32});
    expect(planSplits(31, 1, 4, big)).toEqual({splits: 1, tileRowsPerSplit: 32});
    // The partial sums (2 × 4 MB written and read) may not pass a tenth of the weight's bytes.
    expect(planSplits(128, 128, 4 << 20, 80 << 20).splits).toBe(1);
    await withFlag(TARGET_WORKGROUPS_FLAG, 1, async () => {
      expect(planSplits(128, 128, 4, big)).toEqual({splits: 1, tileRowsPerSplit: 128});
    });
  });

  it('bounds its loops with constants up to 8 rows per workgroup, named by the shader key', async () => {
    const common = {valueType: 'float16' as const, transposeX: false, activation: 'linear' as const,
      hasBias: false, hasPrelu: false, hasResidual: false};
    const skinny = (M: number) => planProduct(M, 4096, 128, 0.2, 49152, 1e7, common, false).program(1, true);
    const bounded = 'for (var i = 0u; i < 16u; i = i + 1u)';
    for (const [M, want] of [[1, true], [4, true], [8, true], [9, false], [16, false]] as const) {
      const p = skinny(M);
      expect(p.shaderKey.includes('_bounded')).withContext(`M=${M}`).toBe(want);
      expect(p.getUserCode().includes(bounded)).withContext(`M=${M}`).toBe(want);
      expect(p.getUserCode().includes('pairs = pairs - 1u;')).withContext(`M=${M}`).toBe(!want);
    }
    await withFlag(BOUNDED_LOOP_MAX_ROWS_FLAG, 16, async () => {
      expect(skinny(16).shaderKey).toContain('_bounded');
    });
  });
});
