/**
 * The tiled (prefill) LSCD program: many rows of x against a sparse W, bound by arithmetic.
 *
 * A workgroup of 8 warps × 32 lanes owns ROWS rows of x and 8 tile columns (256 outputs), and walks a
 * range of tile rows of K. Per tile row, the workgroup stages the x window (ROWS × 32) in workgroup
 * memory; lane c of warp j expands column c of its tile into dense form in registers, one row at a time
 * (an absent weight is 0), and multiplies it with every staged row: ROWS FMAs per weight, with x read as
 * vec4 broadcasts. Absent weights cost FMAs too, so the time does not fall with sparsity; what it gains
 * over the skinny program is that x is read once per 4 FMAs from workgroup memory instead of once per
 * FMA through L1, and that NaN and ±Inf in x propagate as in dense matMul with no extra path.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {ValueType} from '../../ops/format.js';
import {EpilogueActivation, epilogueWgsl} from './epilogue_wgsl.js';

const LANES = 32;
const WARPS = 8;
/** Output columns one workgroup covers. */
export const TILED_COLUMNS = LANES * WARPS;
/** x rows a workgroup may own (each lane keeps one accumulator per row). */
export const TILED_ROWS = [16, 32, 64] as const;
export type TiledRows = typeof TILED_ROWS[number];

/** Bytes of workgroup memory for `rows` rows: the x window, rows × 32 f32. */
export function tiledWorkgroupBytes(rows: number): number {
  return rows * LANES * 4;
}

export interface TiledConfig {
  rows: TiledRows;
  /** K splits. */
  splits: number;
  /** Write [splits, M, N] partial sums for the reduce pass instead of the result with its epilogue. */
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

export class SparseMatMulTiledProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  // Not a flat layout, so TF.js calls main() without an index.
  dispatchLayout = {x: [] as number[], y: [0], z: [1]};
  dispatch: [number, number, number];
  variableNames = ['x', 'header', 'offsets', 'values'];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, tileRowsPerSplit : u32, mOffset : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [LANES * WARPS, 1, 1];
  private readonly cfg: TiledConfig;

  constructor(M: number, N: number, cfg: TiledConfig) {
    this.cfg = cfg;
    const fused = !cfg.partials;
    this.outputShape = fused ? [M, N] : [cfg.splits, M, N];
    this.dispatch = [Math.ceil(N / TILED_COLUMNS), cfg.splits, cfg.rowBlocks];
    if (fused && cfg.hasBias) this.variableNames.push('bias');
    if (fused && cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    if (fused && cfg.hasResidual) this.variableNames.push('residual');
    this.shaderKey = `sparseTiled_${cfg.rows}_${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}_${cfg.hasResidual}` : 'partial');
  }

  getUserCode(): string {
    const {rows: ROWS, valueType, transposeX} = this.cfg;
    const fused = !this.cfg.partials;
    const f16 = valueType === 'float16';
    const ms = Array.from({length: ROWS}, (_, m) => m);
    // Row r of the lane's column, dense: the next stored value where bit r is set, else 0. The value is
    // read either way (a select, not a branch), so the 32 reads do not wait on one another.
    const value = f16 ? 'unpack2x16float(fetch(p / 2u))[p & 1u]' : 'bitcast<f32>(fetch(p))';
    const quad = (q: number) => {
      const expand = [0, 1, 2, 3].map((i) => {
        const r = 4 * q + i;
        return `let b${i} = (w >> ${r}u) & 1u;
            let w${i} = select(0.0, ${value}, b${i} == 1u);
            p = p + b${i};`;
      }).join('\n            ');
      const fmas = ms.map((m) =>
        `{ let v = xs[${m * 8 + q}]; a${m} = fma(v.w, w3, fma(v.z, w2, fma(v.y, w1, fma(v.x, w0, a${m})))); }`,
      ).join('\n            ');
      return `{
            ${expand}
            ${fmas}
          }`;
    };
    const xAt = transposeX ? '(k) * uniforms.M + (m)' : '(m) * uniforms.K + (k)';
    const columnsBefore = [0, 1, 2].map((c) =>
      `e = e + select(0u, countOneBits(u32(header[h + g * 4u + ${c}u])), lane % 4u > ${c}u);`).join('\n          ');

    return `
      // x: [M, K] row-major ([K, M] with transposeX). header: 36 words per tile (32 column bitmaps, then
      // 8 u16 group prefixes), tiles column-strip major. offsets: first value of each tile. values: f16
      // pairs or f32 bits, one word each. result: [M, N], or [splits, M, N] partial sums.
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias, this.cfg.hasResidual) : ''}
      const LANES = ${LANES}u;
      const WARPS = ${WARPS}u;
      const ROWS = ${ROWS}u;
      // The x window of one tile row: row m's 32 values as 8 vec4 along K (m * 8 + k / 4). Every lane
      // of a warp reads the same vec4 at once, a broadcast.
      var<workgroup> xs : array<vec4<f32>, ${ROWS * 8}>;
      // The workgroup's tile rows [begin, end). TF.js's workgroupId is a private copy, which WGSL cannot
      // prove uniform; a uniform load of this makes the loop around the barriers uniform.
      var<workgroup> tileRows : vec2<u32>;

      fn fetch(i : u32) -> u32 {
        return bitcast<u32>(values[min(i, arrayLength(&values) - 1u)]);
      }

      // The bits of the rows of tile row k0 that lie inside K.
      fn rowsIn(k0 : u32) -> u32 {
        let rows = uniforms.K - k0;
        return select(0xffffffffu, (1u << rows) - 1u, rows < 32u);
      }

      // x[m][k], 0 outside x: rows past M and K contribute nothing and are never read.
      fn xAt(m : u32, k : u32) -> f32 {
        if (m >= uniforms.M || k >= uniforms.K) { return 0.0; }
        return x[${xAt}];
      }

      fn main() {
        let lane = localIndex % LANES;
        let warp = localIndex / LANES;
        let nt = workgroupId.x * WARPS + warp;
        let n = nt * LANES + lane;
        let mBase = uniforms.mOffset + workgroupId.z * ROWS;
        ${ms.map((m) => `var a${m} = 0.0;`).join(' ')}
        if (localIndex == 0u) {
          let begin = workgroupId.y * uniforms.tileRowsPerSplit;
          tileRows = vec2<u32>(begin, min(begin + uniforms.tileRowsPerSplit, uniforms.KT));
        }
        let range = workgroupUniformLoad(&tileRows);
        for (var kt = range.x; kt < range.y; kt = kt + 1u) {
          let k0 = kt * 32u;
          // Stage the window: vec4 i is row i / 8, columns 4 (i % 8) ..; lanes along K, so reads of x
          // coalesce and writes to xs do not share banks.
          for (var i = localIndex; i < ROWS * 8u; i = i + LANES * WARPS) {
            let m = mBase + i / 8u;
            let k = k0 + (i % 8u) * 4u;
            xs[i] = vec4<f32>(xAt(m, k), xAt(m, k + 1u), xAt(m, k + 2u), xAt(m, k + 3u));
          }
          workgroupBarrier();
          if (nt < uniforms.NT) {
            let t = nt * uniforms.KT + kt;
            let h = t * 36u;
            let g = lane / 4u;
            let prefixes = u32(header[h + 32u + g / 2u]);
            var e = u32(offsets[t]) + ((prefixes >> ((g % 2u) * 16u)) & 0xffffu);
            ${columnsBefore}
            let w = u32(header[h + lane]) & rowsIn(k0);
            var p = e;
            ${Array.from({length: 8}, (_, q) => quad(q)).join('\n            ')}
          }
          workgroupBarrier();
        }
        if (nt < uniforms.NT) {
          ${ms.map((m) => `store(mBase + ${m}u, n, a${m});`).join('\n          ')}
        }
      }

      fn store(m : u32, n : u32, s : f32) {
        if (m < uniforms.M && n < uniforms.N) {
          ${fused ? 'result[m * uniforms.N + n] = epilogue(s, m, n);' :
                    'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s;'}
        }
      }
    `;
  }
}
