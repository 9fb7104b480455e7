/** WGSL for the fused epilogue (bias, then activation), matching TF.js's fused matMul. */
import type {Activation, SparseMatMulAttrs} from '../kernel_names.js';
import {mlpActivationWgsl} from './mlp_activation_wgsl.js';

/** TF.js's fused activations, and the MLP's elementwise GELU. */
export type EpilogueActivation = Activation | 'gelu';

/** The elementwise activation of a SparseMatMul's epilogue ('swiglu' pairs columns: the reduce pass applies it). */
export function epilogueActivation(attrs: SparseMatMulAttrs): EpilogueActivation {
  return attrs.mlpActivation === 'gelu' ? 'gelu' : attrs.activation;
}

/**
 * `fn epilogue(sum: f32, m: u32, n: u32) -> f32`; reads `bias`, `preluActivationWeights`, `residual`
 * ([M, N] row-major, added last), `uniforms.alpha` and `uniforms.N`.
 */
export function epilogueWgsl(activation: EpilogueActivation, hasBias: boolean, hasResidual: boolean): string {
  const body: Record<EpilogueActivation, string> = {
    linear: 'return a;',
    relu: 'return select(a, 0.0, a < 0.0);',
    relu6: 'return select(clamp(a, 0.0, 6.0), a, a != a);',
    elu: 'if (a >= 0.0) { return a; } return exp(a) - 1.0;',
    leakyrelu: 'return select(a, uniforms.alpha * a, a < 0.0);',
    prelu: `let b = preluActivationWeights[select(n, 0u, arrayLength(&preluActivationWeights) == 1u)];
        return select(a, b * a, a < 0.0);`,
    sigmoid: 'return 1.0 / (1.0 + exp(-a));',
    gelu: 'return gelu(a);',
  };
  return `${activation === 'gelu' ? mlpActivationWgsl() : ''}
      fn activate(a : f32, n : u32) -> f32 {
        ${body[activation]}
      }

      fn epilogue(sum : f32, m : u32, n : u32) -> f32 {
        return activate(sum${hasBias ? ' + bias[n]' : ''}, n)${hasResidual ? ' + residual[m * uniforms.N + n]' : ''};
      }`;
}
