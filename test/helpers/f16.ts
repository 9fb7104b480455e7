/** f16 rounding for the tests, independent of src/ops/f16.ts. */

/**
 * Round to the nearest f16, ties to even, in float64 — independent of src/ops/f16.ts. Overflow (at or
 * past 65520, the midpoint between 65504 and 2^16) gives ±Inf; underflow keeps the sign (±0).
 */
export function f16roundRef(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.floor(Math.log2(a));
  if (Math.pow(2, e) > a) e--;
  if (Math.pow(2, e + 1) <= a) e++;
  e = Math.max(e, -14);  // below 2^-14 the spacing stays 2^-24 (subnormals)
  const ulp = Math.pow(2, e - 10);
  const q = a / ulp;  // exact: a power-of-two scaling of a float32 value
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return Math.sign(x) * r * ulp;
}

export const nativeF16round = (Math as unknown as {f16round?: (x: number) => number}).f16round;
/** Math.f16round where the platform has it (Chromium), else the float64 implementation above. */
export const f16round = nativeF16round ?? f16roundRef;
