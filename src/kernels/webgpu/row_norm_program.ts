/** RMSNorm or LayerNorm of each row: one workgroup per row, a tree reduction in workgroup memory. */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {RowNormKind} from '../kernel_names.js';

const WORKGROUP = 128;

export class RowNormProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['x'];
  uniforms = 'C : u32, epsilon : f32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly kind: RowNormKind;

  constructor(rows: number, C: number, kind: RowNormKind) {
    this.outputShape = [rows, C];
    this.dispatch = [rows, 1, 1];
    this.kind = kind;
    this.shaderKey = `rowNorm_${kind}`;
  }

  getUserCode(): string {
    const mean = this.kind === 'layer' ? 'rowSum(base, 0.0, false) / f32(uniforms.C)' : '0.0';
    return `
      // x, result: [rows, C] row-major; workgroup r normalises row r.
      const WG = ${WORKGROUP}u;
      var<workgroup> partial : array<f32, ${WORKGROUP}>;

      // Σ over the row of v or (v − shift)², every thread getting the total.
      fn rowSum(base : u32, shift : f32, squared : bool) -> f32 {
        var s = 0.0;
        for (var c = localId.x; c < uniforms.C; c += WG) {
          let v = x[base + c] - shift;
          s += select(v, v * v, squared);
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
        let base = workgroupId.x * uniforms.C;
        let mean = ${mean};
        let inv = inverseSqrt(rowSum(base, mean, true) / f32(uniforms.C) + uniforms.epsilon);
        for (var c = localId.x; c < uniforms.C; c += WG) {
          result[base + c] = (x[base + c] - mean) * inv;
        }
      }
    `;
  }
}
