/**
 * The skinny program's rows per workgroup: enough to cover M, at most 16, and within the device's
 * workgroup memory. A device made with WebGPU's default limits (16,384 B) cannot hold the 16-row
 * program (16,388 B): before this check its pipeline was invalid and every product with M > 8 silently
 * produced nothing (bench/e2e's prefill on such a device).
 */
import {rowsPerGroup} from '../src/kernels/webgpu/sparse_mat_mul_plan';
import {skinnyWorkgroupBytes} from '../src/kernels/webgpu/sparse_mat_mul_skinny_program';

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
});
