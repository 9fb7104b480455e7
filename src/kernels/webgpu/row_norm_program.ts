/**
 * RMSNorm or LayerNorm of each row: one workgroup per row, a tree reduction in workgroup memory. A
 * decode step normalises one row of a few thousand values per sequence, so one workgroup does all the
 * work: 256 threads and vec4 reads (when C is a multiple of 4) keep its loads few and wide (128 threads
 * of scalar reads took 16 µs per 4096-wide row on the H200).
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {RowNormKind} from '../kernel_names.js';

const WORKGROUP = 256;

export class RowNormProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['x'];
  variableComponents: number[];
  uniforms = 'C : u32, epsilon : f32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly kind: RowNormKind;
  /** Floats per read: 4 (vec4) when C is a multiple of 4, else 1. */
  private readonly width: 1 | 4;

  constructor(rows: number, C: number, kind: RowNormKind) {
    this.outputShape = [rows, C];
    this.dispatch = [rows, 1, 1];
    this.kind = kind;
    this.width = C % 4 === 0 ? 4 : 1;
    this.variableComponents = [this.width];
    this.shaderKey = `rowNorm_${kind}_w${this.width}`;
  }

  getUserCode(): string {
    const vec = this.width === 4;
    const T = vec ? 'vec4<f32>' : 'f32';
    const sum = vec ? 'dot(v, vec4<f32>(1.0))' : 'v';
    const store = vec ? `
          result[o] = y.x;
          result[o + 1u] = y.y;
          result[o + 2u] = y.z;
          result[o + 3u] = y.w;` : `
          result[o] = y;`;
    const mean = this.kind === 'layer' ? 'rowTotal(base, R, 0.0, false) / f32(uniforms.C)' : '0.0';
    return `
      // x: [rows, C] row-major, read as ${T} (W = ${this.width} floats, R = C / W per row);
      // result: [rows, C] f32 row-major. Workgroup r normalises row r.
      const WG = ${WORKGROUP}u;
      const W = ${this.width}u;
      var<workgroup> partial : array<f32, ${WORKGROUP}>;

      // Σ over the row of v or (v − shift)², every thread getting the total.
      fn rowTotal(base : u32, R : u32, shift : f32, squared : bool) -> f32 {
        var s = 0.0;
        for (var c = localId.x; c < R; c += WG) {
          let d = x[base + c] - ${T}(shift);
          let v = select(d, d * d, squared);
          s += ${sum};
        }
        partial[localId.x] = s;
        workgroupBarrier();
        for (var width = WG / 2u; width > 0u; width /= 2u) {
          if (localId.x < width) { partial[localId.x] += partial[localId.x + width]; }
          workgroupBarrier();
        }
        let total = partial[0];
        workgroupBarrier();
        return total;
      }

      fn main(index : i32) {
        let R = uniforms.C / W;
        let base = workgroupId.x * R;
        let mean = ${mean};
        let inv = inverseSqrt(rowTotal(base, R, mean, true) / f32(uniforms.C) + uniforms.epsilon);
        for (var c = localId.x; c < R; c += WG) {
          let y = (x[base + c] - ${T}(mean)) * inv;
          let o = workgroupId.x * uniforms.C + c * W;${store}
        }
      }
    `;
  }
}
