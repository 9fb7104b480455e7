/** WGSL for the MLP activations, shared by mlpActivation and the sparse matMul's fused epilogue. */
import {ERF_A, ERF_P} from '../../ops/mlp_activation_math.js';

/** `fn gelu(v: f32) -> f32` (the exact erf form) and `fn swiglu(gate: f32, up: f32) -> f32`. */
export function mlpActivationWgsl(): string {
  const f = (v: number) => v.toPrecision(10);
  return `
      fn erfApprox(x : f32) -> f32 {
        let a = abs(x);
        let t = 1.0 / (1.0 + ${f(ERF_P)} * a);
        let poly = ((((${f(ERF_A[4])} * t + ${f(ERF_A[3])}) * t + ${f(ERF_A[2])}) * t + ${f(ERF_A[1])}) * t + ${f(ERF_A[0])}) * t;
        return sign(x) * (1.0 - poly * exp(-a * a));
      }

      fn gelu(v : f32) -> f32 {
        return 0.5 * v * (1.0 + erfApprox(v * 0.7071067811865476));
      }

      fn swiglu(gate : f32, up : f32) -> f32 {
        return gate / (1.0 + exp(-gate)) * up;
      }`;
}
