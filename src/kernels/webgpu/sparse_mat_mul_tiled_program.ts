/**
 * The tiled (prefill) LSCD program, for many rows of x. A workgroup computes a 64×64 block of the output,
 * 4×4 per thread. For each tile row of K it expands the two 32×32 sparse W tiles of its columns into a
 * dense tile in workgroup memory (4 threads per column, 8 rows each), stages the matching x tile, and
 * multiplies densely. Two buffers: while one is multiplied, the next tile row is loaded into registers
 * (version 3: the header two rows ahead, so no load waits on another) and stored after the math.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {Activation} from '../kernel_names.js';
import type {ValueType} from '../../ops/format.js';
import {epilogueWgsl} from './epilogue_wgsl.js';

/** Output rows (M) per workgroup. */
export const TILED_BM = 64;
/** Output columns (N) per workgroup: two format tiles. */
export const TILED_BN = 64;

export interface TiledConfig {
  /** 1: load and store the next tile row together; 3: prefetch into registers across the math. */
  version: 1 | 3;
  valueType: ValueType;
  transposeX: boolean;
  activation: Activation;
  hasBias: boolean;
  hasPrelu: boolean;
}

export class SparseMatMulTiledProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [] as number[], y: [0], z: [1]};
  dispatch: [number, number, number];
  variableNames = ['x', 'header', 'offsets', 'values'];
  variableComponents = [1, 4, 1, 4];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [256, 1, 1];
  private readonly cfg: TiledConfig;

  constructor(M: number, N: number, cfg: TiledConfig) {
    this.cfg = cfg;
    this.outputShape = [M, N];
    this.dispatch = [Math.ceil(N / TILED_BN), Math.ceil(M / TILED_BM), 1];
    if (cfg.hasBias) this.variableNames.push('bias');
    if (cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    while (this.variableComponents.length < this.variableNames.length) this.variableComponents.push(1);
    this.shaderKey = `sparseTiled${cfg.version}_${cfg.valueType}_${cfg.transposeX}_${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}`;
  }

  getUserCode(): string {
    const {valueType, transposeX, version} = this.cfg;
    const f16 = valueType === 'float16';
    const loop = version === 1 ? `
        stage(0u, 0u, mBase, nBase);
        workgroupBarrier();
        for (var kt = 0u; kt < uniforms.KT; kt = kt + 1u) {
          let cur = kt % 2u;
          if (kt + 1u < uniforms.KT) { stage(1u - cur, kt + 1u, mBase, nBase); }
          multiply(cur);
          workgroupBarrier();
        }` : `
        loadHeader(0u, nBase);
        loadNext(0u, mBase, nBase);
        loadHeader(1u, nBase);
        storeNext(0u);
        workgroupBarrier();
        for (var kt = 0u; kt < uniforms.KT; kt = kt + 1u) {
          let cur = kt % 2u;
          let more = kt + 1u < uniforms.KT;
          if (more) {
            loadNext(kt + 1u, mBase, nBase);
            loadHeader(kt + 2u, nBase);
          }
          multiply(cur);
          if (more) { storeNext(1u - cur); }
          workgroupBarrier();
        }`;
    return `
      // x: [M, K] row-major ([K, M] with transposeX). header: 9 vec4 per tile (8 of column-group bitmaps,
      // 1 of u16 group prefixes), tiles column-strip major. offsets: first value of each tile. values:
      // 16 bytes per vec4 (8 f16 or 4 f32). result: [M, N].
      ${epilogueWgsl(this.cfg.activation, this.cfg.hasBias)}
      const BM = ${TILED_BM}u;
      const BN = ${TILED_BN}u;
      // K rows per step: one tile row of the format.
      const BK = 32u;
      // Two buffers of BK rows each. xs[k][m / 4] holds x transposed, ws[k][n / 4] the expanded W.
      var<workgroup> xs : array<array<vec4<f32>, ${TILED_BM / 4}>, 64>;
      var<workgroup> ws : array<array<vec4<f32>, ${TILED_BN / 4}>, 64>;
      // The next tile row in registers: 8 values of x, 8 rows of this thread's W column.
      var<private> px : array<f32, 8>;
      var<private> pw : array<f32, 8>;
      // This thread's column word and first value, for the tile row after the next one.
      var<private> hw : u32;
      var<private> he : u32;

      fn valueAt(e : u32) -> f32 {
        let q = min(e / ${f16 ? 8 : 4}u, arrayLength(&values) - 1u);
        let v4 = bitcast<vec4<u32>>(values[q]);
        ${f16 ? `let pair = unpack2x16float(v4[(e >> 1u) & 3u]);
        return select(pair.x, pair.y, (e & 1u) == 1u);` : 'return bitcast<f32>(v4[e & 3u]);'}
      }

      fn loadX(kt : u32, mBase : u32) {
        for (var j = 0u; j < 8u; j = j + 1u) {
          let idx = localIndex + 256u * j;
          ${transposeX ? `let kk = idx / BM;
          let m = idx % BM;` : `let m = idx / BK;
          let kk = idx % BK;`}
          let gm = mBase + m;
          let gk = kt * BK + kk;
          var v = 0.0;
          if (gm < uniforms.M && gk < uniforms.K) {
            v = x[${transposeX ? 'gk * uniforms.M + gm' : 'gm * uniforms.K + gk'}];
          }
          px[j] = v;
        }
      }

      // Column word and first value of this thread's 8 rows of tile row kt.
      fn loadHeader(kt : u32, nBase : u32) {
        let c = nBase + localIndex / 4u;
        let r0 = (localIndex % 4u) * 8u;
        let nt = c / 32u;
        let cc = c % 32u;
        hw = 0u;
        he = 0u;
        if (nt < uniforms.NT && kt < uniforms.KT) {
          let t = nt * uniforms.KT + kt;
          let g = cc / 4u;
          let bits = bitcast<vec4<u32>>(header[t * 9u + g]);
          let prefixes = bitcast<u32>(header[t * 9u + 8u][g >> 1u]);
          var e = u32(offsets[t]) + ((prefixes >> ((g & 1u) * 16u)) & 0xffffu);
          for (var c2 = 0u; c2 < cc % 4u; c2 = c2 + 1u) { e = e + countOneBits(bits[c2]); }
          hw = bits[cc % 4u];
          he = e + countOneBits(hw & ((1u << r0) - 1u));
        }
      }

      fn loadNext(kt : u32, mBase : u32, nBase : u32) {
        loadX(kt, mBase);
        let r0 = (localIndex % 4u) * 8u;
        var e = he;
        for (var r = 0u; r < 8u; r = r + 1u) {
          var v = 0.0;
          if (((hw >> (r0 + r)) & 1u) == 1u) {
            v = valueAt(e);
            e = e + 1u;
          }
          pw[r] = v;
        }
      }

      fn storeNext(buf : u32) {
        for (var j = 0u; j < 8u; j = j + 1u) {
          let idx = localIndex + 256u * j;
          ${transposeX ? `let kk = idx / BM;
          let m = idx % BM;` : `let m = idx / BK;
          let kk = idx % BK;`}
          xs[buf * BK + kk][m / 4u][m % 4u] = px[j];
        }
        let c = localIndex / 4u;
        let r0 = (localIndex % 4u) * 8u;
        for (var r = 0u; r < 8u; r = r + 1u) {
          ws[buf * BK + r0 + r][c / 4u][c % 4u] = pw[r];
        }
      }

      fn stage(buf : u32, kt : u32, mBase : u32, nBase : u32) {
        loadHeader(kt, nBase);
        loadNext(kt, mBase, nBase);
        storeNext(buf);
      }

      var<private> acc : array<vec4<f32>, 4>;

      fn multiply(buf : u32) {
        let tm = localIndex / 16u;
        let tn = localIndex % 16u;
        for (var k = 0u; k < BK; k = k + 1u) {
          let a = xs[buf * BK + k][tm];
          let b = ws[buf * BK + k][tn];
          acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
          acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
          acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
          acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
        }
      }

      fn main() {
        let nBase = workgroupId.x * BN;
        let mBase = workgroupId.y * BM;
        // acc[i] holds output row 4·tm + i, columns 4·tn .. 4·tn + 3.
        ${loop}
        let tm = localIndex / 16u;
        let tn = localIndex % 16u;
        for (var i = 0u; i < 4u; i = i + 1u) {
          let m = mBase + tm * 4u + i;
          if (m < uniforms.M) {
            for (var j = 0u; j < 4u; j = j + 1u) {
              let n = nBase + tn * 4u + j;
              if (n < uniforms.N) {
                result[m * uniforms.N + n] = epilogue(acc[i][j], n);
              }
            }
          }
        }
      }
    `;
  }
}
