/**
 * The skinny (decode) LSCD program: few rows of x against a sparse W, bound by reading W.
 *
 * A workgroup owns WARPS column tiles (32 columns each) and a range of tile rows of K; row r of a
 * 32-invocation "warp" is column r of its tile. Per tile row, each warp copies its tile's value block
 * into workgroup memory with 16-byte loads, then every lane walks the set bits of its column word and
 * feeds each value to MT FMAs against x, which is staged in workgroup memory chunk by chunk. All lanes of
 * a warp read x rows of the same 32-row window, so those reads never conflict.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {Activation} from '../kernel_names.js';
import type {ValueType} from '../../ops/format.js';
import {epilogueWgsl} from './epilogue_wgsl.js';

/** Invocations per column tile: one per column. */
const LANES = 32;
/** Staged x: floats per workgroup (8 KB). */
const X_FLOATS = 2048;
/** The largest number of x rows one workgroup keeps in registers. */
export const SKINNY_MAX_ROWS = 16;

/** Column tiles per workgroup: the value staging area is 16 KB, a dense tile takes 2 KB (f16) or 4 KB (f32). */
export function skinnyWarps(valueType: ValueType): number {
  return valueType === 'float16' ? 8 : 4;
}

export interface SkinnyConfig {
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
  // values are copied in 16-byte steps.
  variableComponents = [1, 1, 1, 4];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, tileRowsPerSplit : u32, mOffset : u32, alpha : f32,';
  workgroupSize: [number, number, number];
  private readonly cfg: SkinnyConfig;

  constructor(M: number, N: number, NT: number, cfg: SkinnyConfig) {
    this.cfg = cfg;
    const fused = cfg.splits === 1;
    const warps = skinnyWarps(cfg.valueType);
    this.workgroupSize = [LANES * warps, 1, 1];
    this.outputShape = fused ? [M, N] : [cfg.splits, M, N];
    this.dispatch = [Math.ceil(NT / warps), cfg.splits, cfg.rowGroups];
    if (fused && cfg.hasBias) this.variableNames.push('bias');
    if (fused && cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    while (this.variableComponents.length < this.variableNames.length) this.variableComponents.push(1);
    this.shaderKey = `sparseSkinny2_${cfg.rowsPerGroup}_${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}` : 'partial');
  }

  getUserCode(): string {
    const {rowsPerGroup: MT, valueType, transposeX} = this.cfg;
    const fused = this.cfg.splits === 1;
    const f16 = valueType === 'float16';
    const warps = skinnyWarps(valueType);
    const rows = Array.from({length: MT}, (_, m) => m);
    // x rows of 4 or more are staged as vec4 over m: one 16-byte read feeds 4 FMAs.
    const packed = MT >= 4;
    const xRows = X_FLOATS / MT;
    const xVec = packed ? MT / 4 : MT;
    const fmas = packed ?
        rows.filter((m) => m % 4 === 0).map((m) => `let xv${m / 4} = xs[kl * ${xVec}u + ${m / 4}u];
              ${[0, 1, 2, 3].map((i) => `acc[${m + i}] = fma(xv${m / 4}.${'xyzw'[i]}, v, acc[${m + i}]);`).join(' ')}`) :
        rows.map((m) => `acc[${m}] = fma(xs[${m * xRows}u + kl], v, acc[${m}]);`);
    return `
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias) : ''}
      const LANES = ${LANES}u;
      // Tile rows of x staged at a time.
      const X_TILES = ${xRows / 32}u;
      // 16-byte words of a warp's staging area: one dense tile.
      const STAGE_VEC4 = ${f16 ? 128 : 256}u;
      const HEADER_WORDS = 36u;

      // x chunk: ${packed ? `xs[k][m / 4] as vec4 over m` : 'xs[m * X_ROWS + k]'}, k relative to the chunk.
      var<workgroup> xs : array<${packed ? 'vec4<f32>' : 'f32'}, ${packed ? X_FLOATS / 4 : X_FLOATS}>;
      // Each warp's tile value block, as loaded: f16 pairs or f32 bits, 4 words per vec4.
      var<workgroup> vs : array<vec4<u32>, ${warps * (f16 ? 128 : 256)}>;
      // The workgroup's tile rows [begin, end): TF.js keeps workgroupId in a private variable, so the
      // bounds pass through workgroupUniformLoad to be provably uniform for the barriers in the loop.
      var<workgroup> tileRows : vec2<u32>;

      fn stageX(kt0 : u32, mBase : u32) {
        for (var i = localIndex; i < ${X_FLOATS}u; i = i + ${LANES * warps}u) {
          ${packed ? `let m = mBase + i % ${MT}u;
          let k = kt0 * 32u + i / ${MT}u;` : `let m = mBase + i / ${xRows}u;
          let k = kt0 * 32u + i % ${xRows}u;`}
          var v = 0.0;
          if (m < uniforms.M && k < uniforms.K) {
            v = x[${transposeX ? 'k * uniforms.M + m' : 'm * uniforms.K + k'}];
          }
          ${packed ? `xs[i / 4u][i % 4u] = v;` : 'xs[i] = v;'}
        }
      }

      fn main() {
        let lane = localIndex % LANES;
        let warp = localIndex / LANES;
        let nt = workgroupId.x * ${warps}u + warp;
        let live = nt < uniforms.NT;
        let mBase = uniforms.mOffset + workgroupId.z * ${MT}u;
        if (localIndex == 0u) {
          let begin = workgroupId.y * uniforms.tileRowsPerSplit;
          tileRows = vec2<u32>(begin, min(begin + uniforms.tileRowsPerSplit, uniforms.KT));
        }
        let bounds = workgroupUniformLoad(&tileRows);
        let ktBegin = bounds.x;
        let ktEnd = bounds.y;
        var acc : array<f32, ${MT}>;
        for (var kt = ktBegin; kt < ktEnd; kt = kt + 1u) {
          if ((kt - ktBegin) % X_TILES == 0u) {
            stageX(kt, mBase);
          }
          var w = 0u;
          var e = 0u;
          if (live) {
            let t = nt * uniforms.KT + kt;
            let first = u32(offsets[t]);
            let count = (u32(offsets[t + 1u]) - first) / ${f16 ? 8 : 4}u;
            for (var j = lane; j < count; j = j + LANES) {
              vs[warp * STAGE_VEC4 + j] = bitcast<vec4<u32>>(values[first / ${f16 ? 8 : 4}u + j]);
            }
            // This lane's first value: the group's prefix, plus the columns before it in the group.
            let h = t * HEADER_WORDS;
            let g = lane / 4u;
            let prefixes = u32(header[h + 32u + g / 2u]);
            e = (prefixes >> ((g % 2u) * 16u)) & 0xffffu;
            for (var c = g * 4u; c < lane; c = c + 1u) {
              e = e + countOneBits(u32(header[h + c]));
            }
            w = u32(header[h + lane]);
          }
          workgroupBarrier();
          let k0 = ((kt - ktBegin) % X_TILES) * 32u;
          loop {
            if (w == 0u) { break; }
            let kl = k0 + firstTrailingBit(w);
            w = w & (w - 1u);
            ${f16 ? `let word = vs[warp * STAGE_VEC4 + (e >> 3u)][(e >> 1u) & 3u];
            let pair = unpack2x16float(word);
            let v = select(pair.x, pair.y, (e & 1u) == 1u);` : `let v = bitcast<f32>(vs[warp * STAGE_VEC4 + (e >> 2u)][e & 3u]);`}
            e = e + 1u;
            ${fmas.join('\n            ')}
          }
          workgroupBarrier();
        }
        if (!live) { return; }
        let n = nt * 32u + lane;
        if (n >= uniforms.N) { return; }
        ${rows.map((m) => `store(mBase + ${m}u, n, acc[${m}]);`).join('\n        ')}
      }

      fn store(m : u32, n : u32, s : f32) {
        if (m < uniforms.M) {
          ${fused ? 'result[m * uniforms.N + n] = epilogue(s, n);' :
                    'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s;'}
        }
      }
    `;
  }
}
