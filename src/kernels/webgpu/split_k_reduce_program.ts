/** Second pass of a split-K SparseMatMul: sums the [splits, M, N] partials, then the fused epilogue. */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {Activation} from '../kernel_names.js';
import {epilogueWgsl} from './epilogue_wgsl.js';

export class SplitKReduceProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['partials'];
  uniforms = 'splits : u32, size : u32, N : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [256, 1, 1];
  private readonly activation: Activation;
  private readonly hasBias: boolean;
  private readonly hasResidual: boolean;

  constructor(M: number, N: number, activation: Activation, hasBias: boolean, hasPrelu: boolean, hasResidual: boolean) {
    this.outputShape = [M, N];
    this.dispatch = [Math.ceil((M * N) / 256), 1, 1];
    this.activation = activation;
    this.hasBias = hasBias;
    if (hasBias) this.variableNames.push('bias');
    this.hasResidual = hasResidual;
    if (hasPrelu) this.variableNames.push('preluActivationWeights');
    if (hasResidual) this.variableNames.push('residual');
    this.shaderKey = `sparseSplitKReduce_${activation}_${hasBias}_${hasPrelu}_${hasResidual}`;
  }

  getUserCode(): string {
    return `
      ${epilogueWgsl(this.activation, this.hasBias, this.hasResidual)}
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
