/**
 * Rows of a tiled-bitmap weight, decoded: one thread per output entry (i, n) reads only the header word
 * of its column in the tile that holds row indices[i], and its one value when the bit is set; plus a
 * position embedding's row where one is given.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {ValueType} from '../../ops/format.js';
import {firstValueWgsl} from './first_value_wgsl.js';

const WORKGROUP = 256;

export class SparseGatherProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['indices', 'header', 'offsets', 'values'];
  uniforms = 'count : u32, K : u32, N : u32, KT : u32, positionStart : u32, positionPeriod : u32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly valueType: ValueType;
  private readonly positions: boolean;

  constructor(rows: number, N: number, valueType: ValueType, positions: boolean) {
    this.outputShape = [rows, N];
    this.dispatch = [Math.ceil((rows * N) / WORKGROUP), 1, 1];
    this.valueType = valueType;
    this.positions = positions;
    if (positions) this.variableNames.push('positionTable');
    this.shaderKey = `sparseGather_${valueType}_${positions}`;
  }

  getUserCode(): string {
    const value = this.valueType === 'float16' ?
        'let pair = unpack2x16float(bitcast<u32>(values[e / 2u])); return select(pair.x, pair.y, (e & 1u) == 1u);' :
        'return bitcast<f32>(values[e]);';
    return `
      // indices: [rows] int32. header: 36 words per tile (32 column bitmaps, bit r = row r, then 8 u16
      // group prefixes); tiles column-strip major (t = nt·KT + kt). offsets: first value element of each
      // tile. values: f16 pairs or f32 bits, one word each. positionTable: [P, N] row-major, row
      // positionStart + row mod positionPeriod added to each output row. result: [rows, N] row-major.
      ${firstValueWgsl()}

      fn valueAt(e : u32) -> f32 {
        ${value}
      }

      fn main(index : i32) {
        let i = u32(index);
        if (i >= uniforms.count) { return; }
        let n = i % uniforms.N;
        let k = indices[i / uniforms.N];
        result[i] = ${this.positions ? 'positionTable[(uniforms.positionStart + (i / uniforms.N) % uniforms.positionPeriod) * uniforms.N + n] + ' : ''}weight(k, n);
      }

      fn weight(k : i32, n : u32) -> f32 {
        // Out-of-range rows read as zeros: the indices live on the GPU and are not checked.
        if (k < 0 || u32(k) >= uniforms.K) { return 0.0; }
        let r = u32(k) % 32u;
        let c = n % 32u;
        let t = (n / 32u) * uniforms.KT + u32(k) / 32u;
        let bits = u32(header[t * 36u + c]);
        if (((bits >> r) & 1u) == 0u) { return 0.0; }
        return valueAt(firstValue(t, c) + countOneBits(bits & ((1u << r) - 1u)));
      }
    `;
  }
}
