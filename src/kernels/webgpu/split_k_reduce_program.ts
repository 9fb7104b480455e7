/**
 * Second pass of a split-K SparseMatMul: sums the [splits, M, N] partials, then the fused epilogue, or
 * SwiGLU, which pairs column j (gate) with column N/2 + j (up) and so needs whole sums of both.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {EpilogueActivation, epilogueWgsl} from './epilogue_wgsl.js';
import {mlpActivationWgsl} from './mlp_activation_wgsl.js';

export interface ReduceEpilogue {
  /** Elementwise, after the bias; 'swiglu': silu(gate + bias)·(up + bias), [M, N/2]. */
  activation: EpilogueActivation | 'swiglu';
  hasBias: boolean;
  hasPrelu: boolean;
  hasResidual: boolean;
}

export class SplitKReduceProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['partials'];
  uniforms = 'splits : u32, size : u32, N : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [256, 1, 1];
  private readonly epilogue: ReduceEpilogue;

  constructor(M: number, N: number, epilogue: ReduceEpilogue) {
    const {activation, hasBias, hasPrelu, hasResidual} = epilogue;
    this.outputShape = [M, activation === 'swiglu' ? N / 2 : N];
    this.dispatch = [Math.ceil((M * this.outputShape[1]) / 256), 1, 1];
    this.epilogue = epilogue;
    if (hasBias) this.variableNames.push('bias');
    if (hasPrelu) this.variableNames.push('preluActivationWeights');
    if (hasResidual) this.variableNames.push('residual');
    this.shaderKey = `sparseSplitKReduce_${activation}_${hasBias}_${hasPrelu}_${hasResidual}`;
  }

  getUserCode(): string {
    const {activation, hasBias, hasResidual} = this.epilogue;
    if (activation === 'swiglu') {
      return `
      ${mlpActivationWgsl()}
      // partials: [splits, M, N] row-major, gate columns [0, N/2), up columns [N/2, N). bias: [N].
      // result: [M, N/2].
      fn total(i : u32, n : u32) -> f32 {
        var s = 0.0;
        for (var p = 0u; p < uniforms.splits; p = p + 1u) {
          s = s + partials[p * uniforms.size + i];
        }
        return s${hasBias ? ' + bias[n]' : ''};
      }

      fn main(index : i32) {
        let o = u32(index);
        let F = uniforms.N / 2u;
        let m = o / F;
        let j = o % F;
        if (m * uniforms.N >= uniforms.size) { return; }
        let i = m * uniforms.N + j;
        result[o] = swiglu(total(i, j), total(i + F, j + F));
      }
    `;
    }
    return `
      ${epilogueWgsl(activation, hasBias, hasResidual)}
      // partials: [splits, M, N] row-major; result, residual: [M, N].
      fn main(index : i32) {
        let i = u32(index);
        if (i >= uniforms.size) { return; }
        var s = 0.0;
        for (var p = 0u; p < uniforms.splits; p = p + 1u) {
          s = s + partials[p * uniforms.size + i];
        }
        result[i] = epilogue(s, i / uniforms.N, i % uniforms.N);
      }
    `;
  }
}
