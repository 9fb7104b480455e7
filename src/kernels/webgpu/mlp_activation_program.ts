/** silu(gate)·up from gate | up, or the erf GELU: one thread per output entry. */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {MLPActivationKind} from '../kernel_names.js';
import {mlpActivationWgsl} from './mlp_activation_wgsl.js';

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
    const body = this.kind === 'swiglu' ?
        'result[idx] = swiglu(z[r * uniforms.N + i], z[r * uniforms.N + uniforms.F + i]);' :
        'result[idx] = gelu(z[r * uniforms.N + i]);';
    return `
      // z: [rows, N] row-major (swiglu: gate columns [0, F), up columns [F, 2F)). result: [rows, F].
      ${mlpActivationWgsl()}

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
