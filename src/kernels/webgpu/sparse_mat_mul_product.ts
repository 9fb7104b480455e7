/**
 * What the skinny and tiled SparseMatMul programs share: their configuration, bindings, uniforms and
 * output, and the WGSL that reads a stored value and writes a result.
 */
import type {ValueType} from '../../ops/format.js';
import {EpilogueActivation} from './epilogue_wgsl.js';

export interface ProductConfig {
  /** K splits. */
  splits: number;
  /**
   * Write [splits, M, N] partial sums for a second pass to reduce (always with more than one split, and
   * for an epilogue that pairs columns), instead of the result with its epilogue.
   */
  partials: boolean;
  /** Workgroups along M. */
  rowBlocks: number;
  valueType: ValueType;
  transposeX: boolean;
  activation: EpilogueActivation;
  hasBias: boolean;
  hasPrelu: boolean;
  hasResidual: boolean;
}

/** The uniforms both programs declare, in this order (sparse_mat_mul_webgpu.ts writes them). */
export const PRODUCT_UNIFORMS = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, tileRowsPerSplit : u32, mOffset : u32, alpha : f32,';

/** A product's output, dispatch (workgroups of `columns` outputs along N) and inputs, and the key's tail. */
export function productLayout(M: number, N: number, columns: number, cfg: ProductConfig):
    {outputShape: number[], dispatch: [number, number, number], variableNames: string[], key: string} {
  const fused = !cfg.partials;
  const variableNames = ['x', 'header', 'offsets', 'values'];
  if (fused && cfg.hasBias) variableNames.push('bias');
  if (fused && cfg.hasPrelu) variableNames.push('preluActivationWeights');
  if (fused && cfg.hasResidual) variableNames.push('residual');
  return {
    outputShape: fused ? [M, N] : [cfg.splits, M, N],
    dispatch: [Math.ceil(N / columns), cfg.splits, cfg.rowBlocks],
    variableNames,
    key: `${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}_${cfg.hasResidual}` : 'partial'),
  };
}

/**
 * `fn fetch(i) -> u32`: the values word i, clamped to the binding, since the index comes from the offsets
 * and prefixes, which are data (an encoding that skipped validation still never reads past the
 * binding); `fn store(m, n, s)`: the result (with its epilogue) or split y's partial sum.
 */
export function productWgsl(partials: boolean): string {
  return `
      fn fetch(i : u32) -> u32 {
        return bitcast<u32>(values[min(i, arrayLength(&values) - 1u)]);
      }

      fn store(m : u32, n : u32, s : f32) {
        if (m < uniforms.M && n < uniforms.N) {
          ${partials ? 'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s;' :
                       'result[m * uniforms.N + n] = epilogue(s, m, n);'}
        }
      }`;
}
