/**
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
