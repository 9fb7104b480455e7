/** silu(gate)·up from gate | up, or the erf GELU: one thread per output entry. */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {ERF_A, ERF_P} from '../../ops/erf.js';
import type {MLPActivationKind} from '../kernel_names.js';

const WORKGROUP = 256;

export class MLPActivationProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['z'];
  uniforms = 'count : u32, F : u32, N : u32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly kind: MLPActivationKind;

  /** The output is [rows, F]: F = N/2 for swiglu, N for gelu. */
  constructor(rows: number, F: number, kind: MLPActivationKind) {
    this.outputShape = [rows, F];
    this.dispatch = [Math.ceil((rows * F) / WORKGROUP), 1, 1];
    this.kind = kind;
    this.shaderKey = `mlpActivation_${kind}`;
  }

  getUserCode(): string {
    const f = (v: number) => v.toPrecision(10);
    const body = this.kind === 'swiglu' ?
        'let g = z[r * uniforms.N + i]; result[idx] = g / (1.0 + exp(-g)) * z[r * uniforms.N + uniforms.F + i];' :
        'let v = z[r * uniforms.N + i]; result[idx] = 0.5 * v * (1.0 + erfApprox(v * 0.7071067811865476));';
    return `
      // z: [rows, N] row-major (swiglu: gate columns [0, F), up columns [F, 2F)). result: [rows, F].
      fn erfApprox(x : f32) -> f32 {
        let a = abs(x);
        let t = 1.0 / (1.0 + ${f(ERF_P)} * a);
        let poly = ((((${f(ERF_A[4])} * t + ${f(ERF_A[3])}) * t + ${f(ERF_A[2])}) * t + ${f(ERF_A[1])}) * t + ${f(ERF_A[0])}) * t;
        return sign(x) * (1.0 - poly * exp(-a * a));
      }

      fn main(index : i32) {
        let idx = u32(index);
        if (idx >= uniforms.count) { return; }
        let r = idx / uniforms.F;
        let i = idx % uniforms.F;
        ${body}
      }
    `;
  }
}
