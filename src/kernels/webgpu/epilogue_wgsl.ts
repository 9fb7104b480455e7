/** WGSL for the fused epilogue (bias, then activation), matching TF.js's fused matMul. */
import type {Activation} from '../kernel_names.js';

/**
 * `fn epilogue(sum: f32, m: u32, n: u32) -> f32`; reads `bias`, `preluActivationWeights`, `residual`
 * ([M, N] row-major, added last), `uniforms.alpha` and `uniforms.N`.
 */
export function epilogueWgsl(activation: Activation, hasBias: boolean, hasResidual: boolean): string {
  const body: Record<Activation, string> = {
    linear: 'return a;',
    relu: 'return select(a, 0.0, a < 0.0);',
    relu6: 'return select(clamp(a, 0.0, 6.0), a, a != a);',
    elu: 'if (a >= 0.0) { return a; } return exp(a) - 1.0;',
    leakyrelu: 'return select(a, uniforms.alpha * a, a < 0.0);',
    prelu: `let b = preluActivationWeights[select(n, 0u, arrayLength(&preluActivationWeights) == 1u)];
        return select(a, b * a, a < 0.0);`,
    sigmoid: 'return 1.0 / (1.0 + exp(-a));',
  };
  return `
      fn activate(a : f32, n : u32) -> f32 {
        ${body[activation]}
      }

      fn epilogue(sum : f32, m : u32, n : u32) -> f32 {
        return activate(sum${hasBias ? ' + bias[n]' : ''}, n)${hasResidual ? ' + residual[m * uniforms.N + n]' : ''};
      }`;
}
