/**
 * Each row's argmax: one workgroup per row. Thread j scans entries j, j + WG, ... (coalesced across the
 * workgroup) keeping its first largest, then the workgroup reduces (value, index) pairs in workgroup
 * memory, the smaller index winning ties.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

const WORKGROUP = 256;

export class RowArgMaxProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'rowArgMax';
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  variableNames = ['x'];
  uniforms = 'C : u32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  constructor(rows: number) {
    this.outputShape = [rows];
    this.dispatch = [rows, 1, 1];
  }

  getUserCode(): string {
    return `
      // x: [rows, C] f32 row-major. result: [rows] i32. Workgroup r takes row r.
      const WG = ${WORKGROUP}u;
      // No entry seen yet (or only NaN).
      const NONE = 0xffffffffu;
      var<workgroup> bestValue : array<f32, ${WORKGROUP}>;
      var<workgroup> bestIndex : array<u32, ${WORKGROUP}>;

      // Whether (v, i) beats (w, j): a value that is not NaN beats none; a larger value wins, then the smaller index.
      fn beats(v : f32, i : u32, w : f32, j : u32) -> bool {
        return i != NONE && (j == NONE || v > w || (v == w && i < j));
      }

      fn main(index : i32) {
        let row = workgroupId.x;
        let t = localId.x;
        var v = 0.0;
        var at = NONE;
        for (var c = t; c < uniforms.C; c += WG) {
          let e = x[row * uniforms.C + c];
          // NaN never wins, told by its bits: WGSL lets a compiler assume e == e. Within one thread c
          // grows, so ">" keeps the first of equal values.
          let isNaN = (bitcast<u32>(e) & 0x7fffffffu) > 0x7f800000u;
          if (!isNaN && (at == NONE || e > v)) {
            v = e;
            at = c;
          }
        }
        bestValue[t] = v;
        bestIndex[t] = at;
        workgroupBarrier();
        for (var width = WG / 2u; width > 0u; width /= 2u) {
          if (t < width && beats(bestValue[t + width], bestIndex[t + width], bestValue[t], bestIndex[t])) {
            bestValue[t] = bestValue[t + width];
            bestIndex[t] = bestIndex[t + width];
          }
          workgroupBarrier();
        }
        if (t == 0u) {
          result[row] = i32(select(bestIndex[0], 0u, bestIndex[0] == NONE));
        }
      }
    `;
  }
}
