/**
 * What the skinny and tiled SparseMatMul programs share: their configuration, bindings, uniforms and
 * output, and the WGSL that reads a stored value and writes a result.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {ValueType} from '../../ops/format.js';
import {EpilogueActivation} from './epilogue_wgsl.js';
import {firstValueWgsl} from './first_value_wgsl.js';

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

/**
 * A product program: its output ([M, N], or [splits, M, N] partials), dispatch (workgroups of `columns`
 * outputs along N, the splits, the row blocks), inputs, and a shader key that names every
 * specialization after `head` (the program and its own).
 */
export abstract class ProductProgram<C extends ProductConfig> implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  // Not a flat layout, so TF.js calls main() without an index.
  dispatchLayout = {x: [] as number[], y: [0], z: [1]};
  dispatch: [number, number, number];
  variableNames = ['x', 'header', 'offsets', 'values'];
  uniforms = PRODUCT_UNIFORMS;
  workgroupSize: [number, number, number];
  protected readonly cfg: C;

  constructor(M: number, N: number, cfg: C, layout: {columns: number, threads: number, head: string}) {
    this.cfg = cfg;
    const fused = !cfg.partials;
    this.outputShape = fused ? [M, N] : [cfg.splits, M, N];
    this.dispatch = [Math.ceil(N / layout.columns), cfg.splits, cfg.rowBlocks];
    this.workgroupSize = [layout.threads, 1, 1];
    if (fused && cfg.hasBias) this.variableNames.push('bias');
    if (fused && cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    if (fused && cfg.hasResidual) this.variableNames.push('residual');
    this.shaderKey = `${layout.head}_${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}_${cfg.hasResidual}` : 'partial');
  }

  abstract getUserCode(): string;
}

/**
 * `fn fetch(i) -> u32`: the values word i, clamped to the binding, since the index comes from the offsets
 * and prefixes, which are data (an encoding that skipped validation still never reads past the
 * binding); `fn rowsIn(k0) -> u32`: the bits of tile row k0 / 32 that lie inside K;
 * `fn firstValue(t, c) -> u32` (firstValueWgsl);
 * `fn store(m, n, s)`: the result (with its epilogue) or split y's partial sum.
 */
export function productWgsl(partials: boolean): string {
  return `
      fn fetch(i : u32) -> u32 {
        return bitcast<u32>(values[min(i, arrayLength(&values) - 1u)]);
      }

      // Rows past K are never read, even for an encoding that skipped validation.
      fn rowsIn(k0 : u32) -> u32 {
        let rows = uniforms.K - k0;
        return select(0xffffffffu, (1u << rows) - 1u, rows < 32u);
      }

      ${firstValueWgsl()}

      fn store(m : u32, n : u32, s : f32) {
        if (m < uniforms.M && n < uniforms.N) {
          ${partials ? 'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s;' :
                       'result[m * uniforms.N + n] = epilogue(s, m, n);'}
        }
      }`;
}
