/**
 * The skinny (decode) LSCD program: few rows of x against a sparse W, bound by reading W.
 *
 * A workgroup owns 128 output columns (4 tile columns) and a range of tile rows of K. Its 256 threads are
 * SLICES slices of 32 lanes; lane l is column group l of the strip (4 columns), slice s takes every
 * SLICES-th tile row. Per tile a lane reads its 4 bitmap words in one 16-byte load, finds its first value
 * from the stored group prefix, walks the set bits, and feeds each value to MT FMAs in registers. x is
 * read through L1: all 32 lanes of a slice read rows of the same 32-row window.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {Activation} from '../kernel_names.js';
import type {ValueType} from '../../ops/format.js';
import {epilogueWgsl} from './epilogue_wgsl.js';

/** Lanes per slice: column groups per workgroup (4 tiles × 8 groups of 4 columns). */
export const SKINNY_LANES = 32;
/** Slices per workgroup: tile rows in flight. */
export const SKINNY_SLICES = 8;
/** Output columns per workgroup. */
export const SKINNY_COLUMNS = SKINNY_LANES * 4;
/** The largest number of x rows one workgroup keeps in registers. */
export const SKINNY_MAX_ROWS = 16;

export interface SkinnyConfig {
  /** x rows per workgroup: 1, 2, 4, 8 or 16. */
  rowsPerGroup: number;
  /** K splits; with more than one, the output is [splits, M, N] partial sums, reduced by a second pass. */
  splits: number;
  tileRowsPerSplit: number;
  /** Workgroups along M. */
  rowGroups: number;
  valueType: ValueType;
  transposeX: boolean;
  activation: Activation;
  hasBias: boolean;
  hasPrelu: boolean;
}

export class SparseMatMulSkinnyProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  // Not a flat layout, so TF.js calls main() without an index.
  dispatchLayout = {x: [] as number[], y: [0], z: [1]};
  dispatch: [number, number, number];
  variableNames = ['x', 'header', 'offsets', 'values'];
  // header and values are read in 16-byte steps.
  variableComponents = [1, 4, 1, 4];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, tileRowsPerSplit : u32, mOffset : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [SKINNY_LANES * SKINNY_SLICES, 1, 1];
  private readonly cfg: SkinnyConfig;

  constructor(M: number, N: number, NT: number, cfg: SkinnyConfig) {
    this.cfg = cfg;
    const fused = cfg.splits === 1;
    this.outputShape = fused ? [M, N] : [cfg.splits, M, N];
    this.dispatch = [Math.ceil(NT / 4), cfg.splits, cfg.rowGroups];
    if (fused && cfg.hasBias) this.variableNames.push('bias');
    if (fused && cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    if (this.variableNames.length > 4) this.variableComponents.push(...this.variableNames.slice(4).map(() => 1));
    this.shaderKey = `sparseSkinny_${cfg.rowsPerGroup}_${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}` : 'partial');
  }

  getUserCode(): string {
    const {rowsPerGroup: MT, valueType, transposeX} = this.cfg;
    const fused = this.cfg.splits === 1;
    const rows = Array.from({length: MT}, (_, m) => m);
    const f16 = valueType === 'float16';
    // Per column c of the lane's group: walk the set bits and feed each value to MT FMAs.
    const column = (c: number, comp: string) => `
          w = bits.${comp};
          loop {
            if (w == 0u) { break; }
            let k = min(k0 + firstTrailingBit(w), uniforms.K - 1u);
            w = w & (w - 1u);
            let v = nextValue();
            ${rows.map((m) => `acc[${m}][${c}] = fma(x[xRow${m} + k * kStride], v, acc[${m}][${c}]);`).join('\n            ')}
          }`;
    return `
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias) : ''}
      const LANES = ${SKINNY_LANES}u;
      const SLICES = ${SKINNY_SLICES}u;
      // Header words per tile, as vec4: 8 of bitmap (one per column group), then one of prefixes.
      const HEADER_VEC4 = 9u;
      // Values per 16-byte load.
      const PER_VEC4 = ${f16 ? 8 : 4}u;

      // Partial sums of each slice, for the reduction across slices.
      var<workgroup> red : array<vec4<f32>, ${SKINNY_LANES * SKINNY_SLICES}>;
      // The lane's current 16 bytes of values, and which 16 bytes they are.
      var<private> cur : vec4<u32>;
      var<private> curIdx : u32;
      var<private> e : u32;

      fn nextValue() -> f32 {
        let q = min(e / PER_VEC4, arrayLength(&values) - 1u);
        if (q != curIdx) {
          curIdx = q;
          cur = bitcast<vec4<u32>>(values[q]);
        }
        ${f16 ? `let pair = unpack2x16float(cur[(e >> 1u) & 3u]);
        let v = select(pair.x, pair.y, (e & 1u) == 1u);` : 'let v = bitcast<f32>(cur[e & 3u]);'}
        e = e + 1u;
        return v;
      }

      fn main() {
        let lane = localIndex % LANES;
        let slice = localIndex / LANES;
        let nt = workgroupId.x * 4u + lane / 8u;
        let g = lane % 8u;
        let mBase = uniforms.mOffset + workgroupId.z * ${MT}u;
        // Rows past M read row M - 1; their sums are never written.
        ${transposeX ? 'let kStride = uniforms.M;' : 'let kStride = 1u;'}
        ${rows.map((m) => `let xRow${m} = min(mBase + ${m}u, uniforms.M - 1u)${transposeX ? '' : ' * uniforms.K'};`).join('\n        ')}
        var acc : array<vec4<f32>, ${MT}>;
        curIdx = 0xffffffffu;
        let ktBegin = workgroupId.y * uniforms.tileRowsPerSplit;
        let ktEnd = min(ktBegin + uniforms.tileRowsPerSplit, uniforms.KT);
        if (nt < uniforms.NT) {
          for (var kt = ktBegin + slice; kt < ktEnd; kt = kt + SLICES) {
            let t = nt * uniforms.KT + kt;
            let bits = bitcast<vec4<u32>>(header[t * HEADER_VEC4 + g]);
            let prefixes = bitcast<u32>(header[t * HEADER_VEC4 + 8u][g >> 1u]);
            e = u32(offsets[t]) + ((prefixes >> ((g & 1u) * 16u)) & 0xffffu);
            let k0 = kt * 32u;
            var w : u32;
            ${column(0, 'x')}
            ${column(1, 'y')}
            ${column(2, 'z')}
            ${column(3, 'w')}
          }
        }
        let n0 = nt * 32u + g * 4u;
        ${rows.map((m) => `
        red[localIndex] = acc[${m}];
        workgroupBarrier();
        if (slice == 0u) {
          var s = red[lane];
          for (var i = 1u; i < SLICES; i = i + 1u) { s = s + red[i * LANES + lane]; }
          store(mBase + ${m}u, n0, s);
        }
        workgroupBarrier();`).join('')}
      }

      fn store(m : u32, n0 : u32, s : vec4<f32>) {
        if (m >= uniforms.M) { return; }
        for (var c = 0u; c < 4u; c = c + 1u) {
          let n = n0 + c;
          if (n < uniforms.N) {
            ${fused ? 'result[m * uniforms.N + n] = epilogue(s[c], n);' :
                      'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s[c];'}
          }
        }
      }
    `;
  }
}
