/**
 * The MLP activations' scalar math, for the cpu kernels, and the erf constants the shaders share.
 *
 * erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7), the formula TF.js's own kernels use, so the
 * cpu and webgpu MLP activations agree with each other and with tf.erf.
 */
export const ERF_P = 0.3275911;
export const ERF_A = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429] as const;

export function erfApprox(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + ERF_P * a);
  const poly = ((((ERF_A[4] * t + ERF_A[3]) * t + ERF_A[2]) * t + ERF_A[1]) * t + ERF_A[0]) * t;
  return Math.sign(x) * (1 - poly * Math.exp(-a * a));
}

/** The exact (erf) GELU, as mlpActivation computes it. */
export function gelu(v: number): number {
  return 0.5 * v * (1 + erfApprox(v * Math.SQRT1_2));
}

/** silu(gate)·up, SwiGLU's product. */
export function swiglu(gate: number, up: number): number {
  return gate / (1 + Math.exp(-gate)) * up;
}
