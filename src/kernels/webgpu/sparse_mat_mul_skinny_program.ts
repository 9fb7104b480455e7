/**
 * The skinny (decode) LSCD program: few rows of x against a sparse W, bound by reading W.
 *
 * A workgroup of 8 slices × 32 lanes owns a strip of columns and a range of tile rows of K; slice s takes
 * every 8th tile row. Per tile a lane reads its bitmap word(s), finds its first value from the stored
 * group prefix, walks the set bits, and feeds each value to MT FMAs in registers. x is read through L1:
 * all lanes of a slice read rows of the same 32-row window. The slices' sums meet in workgroup memory.
 *
 * Versions (TFJS_SPARSE_SKINNY_VERSION, measured in bench/NOTES.md):
 *  1: a lane is a group of 4 columns (128 columns per workgroup); values through a cached 16-byte word.
 *  3: as 1, but each value pair is one 4-byte read.
 *  4: a lane is one column (32 columns per workgroup); one bit loop per tile; 4-byte value reads.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {Activation} from '../kernel_names.js';
import type {ValueType} from '../../ops/format.js';
import {epilogueWgsl} from './epilogue_wgsl.js';

const LANES = 32;
const SLICES = 8;
/** The largest number of x rows one workgroup keeps in registers. */
export const SKINNY_MAX_ROWS = 16;
export type SkinnyVersion = 1 | 3 | 4;
export const SKINNY_SLICES = SLICES;

/** Output columns one workgroup covers. */
export function skinnyColumns(version: SkinnyVersion): number {
  return version === 4 ? LANES : LANES * 4;
}

export interface SkinnyConfig {
  version: SkinnyVersion;
  /** x rows per workgroup: 1, 2, 4, 8 or 16. */
  rowsPerGroup: number;
  /** K splits; with more than one, the output is [splits, M, N] partial sums, reduced by a second pass. */
  splits: number;
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
  variableComponents: number[];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, tileRowsPerSplit : u32, mOffset : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [LANES * SLICES, 1, 1];
  private readonly cfg: SkinnyConfig;

  constructor(M: number, N: number, cfg: SkinnyConfig) {
    this.cfg = cfg;
    const fused = cfg.splits === 1;
    this.outputShape = fused ? [M, N] : [cfg.splits, M, N];
    this.dispatch = [Math.ceil(N / skinnyColumns(cfg.version)), cfg.splits, cfg.rowGroups];
    // Version 1 reads header and values in 16-byte steps.
    this.variableComponents = cfg.version === 1 ? [1, 4, 1, 4] : cfg.version === 3 ? [1, 4, 1, 1] : [1, 1, 1, 1];
    if (fused && cfg.hasBias) this.variableNames.push('bias');
    if (fused && cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    while (this.variableComponents.length < this.variableNames.length) this.variableComponents.push(1);
    this.shaderKey = `sparseSkinny${cfg.version}_${cfg.rowsPerGroup}_${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}` : 'partial');
  }

  getUserCode(): string {
    const {version, rowsPerGroup: MT, valueType, transposeX} = this.cfg;
    const fused = this.cfg.splits === 1;
    const rows = Array.from({length: MT}, (_, m) => m);
    const f16 = valueType === 'float16';
    const perColumn = version === 4;
    // Values per 4-byte word and per 16-byte word.
    const fetch = version === 1 ? `
      // The lane's current 16 bytes of values, and which 16 bytes they are.
      var<private> cur : vec4<u32>;
      var<private> curIdx : u32;
      fn fetch(e : u32) -> u32 {
        let q = e / ${f16 ? 8 : 4}u;
        if (q != curIdx) {
          curIdx = q;
          cur = bitcast<vec4<u32>>(values[q]);
        }
        return cur[(e / ${f16 ? 2 : 1}u) & 3u];
      }` : `
      fn fetch(e : u32) -> u32 {
        return bitcast<u32>(values[e / ${f16 ? 2 : 1}u]);
      }`;
    const decode = f16 ? `let pair = unpack2x16float(fetch(e));
            let v = select(pair.x, pair.y, (e & 1u) == 1u);` : 'let v = bitcast<f32>(fetch(e));';
    const accAt = (m: number, c: number) => perColumn ? `acc[${m}]` : `acc[${m}][${c}]`;
    const bitLoop = (c: number, word: string) => `
          w = ${word};
          loop {
            if (w == 0u) { break; }
            let k = k0 + firstTrailingBit(w);
            w = w & (w - 1u);
            ${decode}
            e = e + 1u;
            ${rows.map((m) => `${accAt(m, c)} = fma(x[xRow${m} + k * kStride], v, ${accAt(m, c)});`).join('\n            ')}
          }`;
    const tileBody = perColumn ? `
            let h = t * 36u;
            let g = lane / 4u;
            let prefixes = u32(header[h + 32u + g / 2u]);
            var e = u32(offsets[t]) + ((prefixes >> ((g % 2u) * 16u)) & 0xffffu);
            for (var c = g * 4u; c < lane; c = c + 1u) { e = e + countOneBits(u32(header[h + c])); }
            var w : u32;
            ${bitLoop(0, 'u32(header[h + lane])')}` : `
            let bits = bitcast<vec4<u32>>(header[t * 9u + g]);
            let prefixes = bitcast<u32>(header[t * 9u + 8u][g >> 1u]);
            var e = u32(offsets[t]) + ((prefixes >> ((g & 1u) * 16u)) & 0xffffu);
            var w : u32;
            ${bitLoop(0, 'bits.x')}
            ${bitLoop(1, 'bits.y')}
            ${bitLoop(2, 'bits.z')}
            ${bitLoop(3, 'bits.w')}`;
    const accType = perColumn ? 'f32' : 'vec4<f32>';
    // Rows reduced per round, so that red stays at 16 KB.
    const round = perColumn ? MT : Math.min(MT, 4);
    const rounds = rows.filter((m) => m % round === 0);
    return `
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias) : ''}
      const LANES = ${LANES}u;
      const SLICES = ${SLICES}u;
      // Each slice's sums for every row, then added across slices.
      var<workgroup> red : array<${accType}, ${LANES * SLICES * round}>;
      ${fetch}

      fn main() {
        let lane = localIndex % LANES;
        let slice = localIndex / LANES;
        ${perColumn ? `let nt = workgroupId.x;
        let n0 = nt * 32u + lane;` : `let nt = workgroupId.x * 4u + lane / 8u;
        let g = lane % 8u;
        let n0 = nt * 32u + g * 4u;`}
        let mBase = uniforms.mOffset + workgroupId.z * ${MT}u;
        // Rows past M read row M - 1; their sums are never written.
        ${transposeX ? 'let kStride = uniforms.M;' : 'let kStride = 1u;'}
        ${rows.map((m) => `let xRow${m} = min(mBase + ${m}u, uniforms.M - 1u)${transposeX ? '' : ' * uniforms.K'};`).join('\n        ')}
        var acc : array<${accType}, ${MT}>;
        ${version === 1 ? 'curIdx = 0xffffffffu;' : ''}
        let ktBegin = workgroupId.y * uniforms.tileRowsPerSplit;
        let ktEnd = min(ktBegin + uniforms.tileRowsPerSplit, uniforms.KT);
        if (nt < uniforms.NT) {
          for (var kt = ktBegin + slice; kt < ktEnd; kt = kt + SLICES) {
            let t = nt * uniforms.KT + kt;
            let k0 = kt * 32u;
            ${tileBody}
          }
        }
        ${rounds.map((r0) => `
        ${rows.slice(r0, r0 + round).map((m) => `red[${m - r0}u * ${LANES * SLICES}u + localIndex] = acc[${m}];`).join('\n        ')}
        workgroupBarrier();
        for (var m = slice; m < ${Math.min(round, MT - r0)}u; m = m + SLICES) {
          var s = red[m * ${LANES * SLICES}u + lane];
          for (var i = 1u; i < SLICES; i = i + 1u) { s = s + red[m * ${LANES * SLICES}u + i * LANES + lane]; }
          ${perColumn ? `store(mBase + ${r0}u + m, n0, s);` : `for (var c = 0u; c < 4u; c = c + 1u) { store(mBase + ${r0}u + m, n0 + c, s[c]); }`}
        }
        workgroupBarrier();`).join('')}
      }

      fn store(m : u32, n : u32, s : f32) {
        if (m < uniforms.M && n < uniforms.N) {
          ${fused ? 'result[m * uniforms.N + n] = epilogue(s, n);' :
                    'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s;'}
        }
      }
    `;
  }
}
