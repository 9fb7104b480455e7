/**
 * The tiled program's plan: when it runs instead of the skinny program (by their costs as fitted on the
 * H200, so that the choice follows the measurements in bench/NOTES.md), rows per workgroup (64 or 128, the fewest that cover M, within the flag's cap
 * and the device's workgroup memory, or none, and then the skinny program runs) and its K splits (every
 * tile row in exactly one split, at least 8 tile rows per split where K has them).
 */
import * as tf from '@tensorflow/tfjs-core';
import {withFlag} from './helpers/binding_limit';
import {planTiledSplits, preferTiled, TILED_COST_SCALE_FLAG, TILED_TARGET_WORKGROUPS_FLAG, tiledRows} from '../src/kernels/webgpu/sparse_mat_mul_plan';
import {tiledWorkgroupBytes} from '../src/kernels/webgpu/sparse_mat_mul_tiled_program';

describe('tiled program plan', () => {
  it('covers M with the fewest rows, up to the cap', () => {
    const cases: Array<[number, number, 64 | 128]> = [[1, 128, 64], [64, 128, 64], [65, 128, 128], [4097, 128, 128], [65, 64, 64], [4097, 64, 64]];
    for (const [M, max, want] of cases) expect(tiledRows(M, max, 49152)).withContext(`M=${M}, max ${max}`).toBe(want);
  });

  it('stays within the workgroup memory of the device, or leaves M to the skinny program', () => {
    expect(tiledWorkgroupBytes(64)).toBeLessThanOrEqual(16384);
    expect(tiledWorkgroupBytes(128)).toBeGreaterThan(16384);
    expect(tiledRows(1000, 128, 16384)).toBe(64);
    expect(tiledRows(1000, 128, tiledWorkgroupBytes(128))).toBe(128);
    expect(tiledRows(1000, 128, tiledWorkgroupBytes(64) - 1)).toBeNull();
    expect(tiledRows(1000, 32, 49152)).toBeNull();
  });

  it('splits K into whole ranges that cover every tile row once', async () => {
    expect(tf.env().getNumber(TILED_TARGET_WORKGROUPS_FLAG)).toBe(512);
    for (const [KT, others] of [[1, 1], [7, 1], [8, 1], [128, 64], [129, 64], [448, 32], [256, 4096], [1000, 3]]) {
      const {splits, tileRowsPerSplit} = planTiledSplits(KT, others);
      const what = `KT ${KT}, ${others} workgroups`;
      expect(splits * tileRowsPerSplit).withContext(what).toBeGreaterThanOrEqual(KT);
      expect((splits - 1) * tileRowsPerSplit).withContext(what).toBeLessThan(KT);
      expect(splits).withContext(what).toBeLessThanOrEqual(Math.max(1, Math.ceil(512 / others)));
      if (splits > 1) expect(tileRowsPerSplit).withContext(what).toBeGreaterThanOrEqual(8);
    }
    expect(planTiledSplits(128, 64)).toEqual({splits: 8, tileRowsPerSplit: 16});
    await withFlag(TILED_TARGET_WORKGROUPS_FLAG, 1, async () => {
      expect(planTiledSplits(128, 64)).toEqual({splits: 1, tileRowsPerSplit: 128});
    });
  });

  it('runs where the measurements found it faster than the skinny program', async () => {
    // Run 12: from M = 256 at every sparsity; at M = 64 below 90%; at M = 48 at 50%.
    for (const d of [0.5, 0.3, 0.2, 0.1]) {
      expect(preferTiled(256, d, 128)).withContext(`M 256, density ${d}`).toBeTrue();
      expect(preferTiled(1024, d, 128)).withContext(`M 1024, density ${d}`).toBeTrue();
    }
    expect(preferTiled(64, 0.5, 64)).toBeTrue();
    expect(preferTiled(64, 0.2, 64)).toBeTrue();
    expect(preferTiled(64, 0.1, 64)).toBeFalse();
    expect(preferTiled(48, 0.5, 64)).toBeTrue();
    expect(preferTiled(48, 0.1, 64)).toBeFalse();
    expect(preferTiled(16, 1, 64)).toBeFalse();
    await withFlag(TILED_COST_SCALE_FLAG, 0, async () => expect(preferTiled(16, 0, 64)).toBeTrue());
    await withFlag(TILED_COST_SCALE_FLAG, 1e9, async () => expect(preferTiled(4096, 1, 128)).toBeFalse());
  });
});
