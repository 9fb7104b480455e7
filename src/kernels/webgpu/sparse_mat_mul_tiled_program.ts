/**
 * The tiled (prefill) LSCD program, for many rows of x. A workgroup computes a 64×64 block of the output,
 * 4×4 per thread. For each tile row of K it expands the two 32×32 sparse W tiles of its columns into a
 * dense tile in workgroup memory (each thread expands 8 rows of one column), stages the matching x tile,
 * and multiplies densely. Two buffers: the next tiles are expanded while the current ones are multiplied.
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
  /** 1: x staged along k, W expanded 4 threads per column; 2: both staged so that stores never share a bank. */
  version: 1 | 2;
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
    return `
      ${epilogueWgsl(this.cfg.activation, this.cfg.hasBias)}
      const BM = ${TILED_BM}u;
      const BN = ${TILED_BN}u;
      // K rows per step: one tile row of the format.
      const BK = 32u;
      // Two buffers of BK rows each. xs[k][m / 4] holds x transposed, ws[k][n / 4] the expanded W.
      var<workgroup> xs : array<array<vec4<f32>, ${TILED_BM / 4}>, 64>;
      var<workgroup> ws : array<array<vec4<f32>, ${TILED_BN / 4}>, 64>;

      fn valueAt(e : u32) -> f32 {
        let q = min(e / ${f16 ? 8 : 4}u, arrayLength(&values) - 1u);
        let v4 = bitcast<vec4<u32>>(values[q]);
        ${f16 ? `let pair = unpack2x16float(v4[(e >> 1u) & 3u]);
        return select(pair.x, pair.y, (e & 1u) == 1u);` : 'return bitcast<f32>(v4[e & 3u]);'}
      }

      // Stages tile row kt into buffer buf. Consecutive invocations take consecutive m (for x) and
      // consecutive columns (for W), so their workgroup-memory stores never share a bank.
      fn stage(buf : u32, kt : u32, mBase : u32, nBase : u32) {
        let tid = localIndex;
${version === 1 ? `
        for (var j = 0u; j < 8u; j = j + 1u) {
          let idx = tid + 256u * j;
          ${transposeX ? `let kk = idx / BM;
          let m = idx % BM;` : `let m = idx / BK;
          let kk = idx % BK;`}
          let gm = mBase + m;
          let gk = kt * BK + kk;
          var v = 0.0;
          if (gm < uniforms.M && gk < uniforms.K) {
            v = x[${transposeX ? 'gk * uniforms.M + gm' : 'gm * uniforms.K + gk'}];
          }
          xs[buf * BK + kk][m / 4u][m % 4u] = v;
        }
` : `
        for (var j = 0u; j < 2u; j = j + 1u) {
          let idx = tid + 256u * j;
          let m = idx % BM;
          let kq = (idx / BM) * 4u;
          let gm = mBase + m;
          for (var i = 0u; i < 4u; i = i + 1u) {
            let gk = kt * BK + kq + i;
            var v = 0.0;
            if (gm < uniforms.M && gk < uniforms.K) {
              v = x[${transposeX ? 'gk * uniforms.M + gm' : 'gm * uniforms.K + gk'}];
            }
            xs[buf * BK + kq + i][m / 4u][m % 4u] = v;
          }
        }
`}
        ${version === 1 ? `let c = tid / 4u;
        let r0 = (tid % 4u) * 8u;` : `let c = tid % BN;
        let r0 = (tid / BN) * 8u;`}
        let nt = (nBase + c) / 32u;
        let cc = (nBase + c) % 32u;
        var w = 0u;
        var e = 0u;
        if (nt < uniforms.NT) {
          let t = nt * uniforms.KT + kt;
          let g = cc / 4u;
          let bits = bitcast<vec4<u32>>(header[t * 9u + g]);
          let prefixes = bitcast<u32>(header[t * 9u + 8u][g >> 1u]);
          e = u32(offsets[t]) + ((prefixes >> ((g & 1u) * 16u)) & 0xffffu);
          for (var c2 = 0u; c2 < cc % 4u; c2 = c2 + 1u) { e = e + countOneBits(bits[c2]); }
          w = bits[cc % 4u];
          e = e + countOneBits(w & ((1u << r0) - 1u));
        }
        for (var r = 0u; r < 8u; r = r + 1u) {
          var v = 0.0;
          if (((w >> (r0 + r)) & 1u) == 1u) {
            v = valueAt(e);
            e = e + 1u;
          }
          ws[buf * BK + r0 + r][c / 4u][c % 4u] = v;
        }
      }

      fn main() {
        let nBase = workgroupId.x * BN;
        let mBase = workgroupId.y * BM;
        let tm = localIndex / 16u;
        let tn = localIndex % 16u;
        // acc[i] holds output row 4·tm + i, columns 4·tn .. 4·tn + 3.
        var acc : array<vec4<f32>, 4>;
        stage(0u, 0u, mBase, nBase);
        workgroupBarrier();
        for (var kt = 0u; kt < uniforms.KT; kt = kt + 1u) {
          let cur = kt % 2u;
          if (kt + 1u < uniforms.KT) {
            stage(1u - cur, kt + 1u, mBase, nBase);
          }
          for (var k = 0u; k < BK; k = k + 1u) {
            let a = xs[cur * BK + k][tm];
            let b = ws[cur * BK + k][tn];
            acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
            acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
            acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
            acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
          }
          workgroupBarrier();
        }
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
