/**
 * x·Wᵀ for the gradient of SparseMatMul: x is [M, N], the result [M, K]. One thread per output; it walks
 * the tile row of its k and picks the bit of its row from every column (and, for an absent bit, checks
 * x for NaN and ±Inf, as dense matMul's x·0 would). Correct rather than fast: it runs only when training.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {ValueType} from '../../ops/format.js';

export class SparseMatMulTransposedProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['x', 'header', 'offsets', 'values'];
  variableComponents = [1, 4, 1, 4];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly valueType: ValueType;

  constructor(M: number, K: number, valueType: ValueType) {
    this.outputShape = [M, K];
    this.dispatch = [Math.ceil((M * K) / 64), 1, 1];
    this.valueType = valueType;
    this.shaderKey = `sparseTransposed_${valueType}`;
  }

  getUserCode(): string {
    const f16 = this.valueType === 'float16';
    return `
      // header: per tile 9 vec4 (8 of column-group bitmaps, 1 of prefixes); values: 16 bytes per vec4.
      fn valueAt(e : u32) -> f32 {
        let q = min(e / ${f16 ? 8 : 4}u, arrayLength(&values) - 1u);
        let v4 = bitcast<vec4<u32>>(values[q]);
        ${f16 ? `let pair = unpack2x16float(v4[(e >> 1u) & 3u]);
        return select(pair.x, pair.y, (e & 1u) == 1u);` : 'return bitcast<f32>(v4[e & 3u]);'}
      }

      fn main(index : i32) {
        let i = u32(index);
        if (i >= uniforms.M * uniforms.K) { return; }
        let m = i / uniforms.K;
        let k = i % uniforms.K;
        let kt = k / 32u;
        let below = (1u << (k % 32u)) - 1u;
        var s = 0.0;
        for (var nt = 0u; nt < uniforms.NT; nt = nt + 1u) {
          let t = nt * uniforms.KT + kt;
          let prefixes = bitcast<vec4<u32>>(header[t * 9u + 8u]);
          for (var g = 0u; g < 8u; g = g + 1u) {
            let bits = bitcast<vec4<u32>>(header[t * 9u + g]);
            var e = u32(offsets[t]) + ((prefixes[g >> 1u] >> ((g & 1u) * 16u)) & 0xffffu);
            for (var c = 0u; c < 4u; c = c + 1u) {
              let w = bits[c];
              // Bits of columns past N exist only in an encoding that skipped validation: never read.
              let column = nt * 32u + g * 4u + c;
              if (column < uniforms.N) {
                if (((w >> (k % 32u)) & 1u) == 1u) {
                  s = s + x[m * uniforms.N + column] * valueAt(e + countOneBits(w & below));
                } else {
                  // An absent weight is 0, and dense matMul's x·0 is NaN for a NaN or ±Inf x.
                  let xBits = bitcast<u32>(x[m * uniforms.N + column]);
                  if ((xBits & 0x7f800000u) == 0x7f800000u) { s = bitcast<f32>(xBits | 0x7fc00000u); }
                }
              }
              e = e + countOneBits(w);
            }
          }
        }
        result[i] = s;
      }
    `;
  }
}
