/**
 * One query per (sequence, head) against its cached keys and values: one workgroup per (b, h). The
 * scores of all `length` positions stay in workgroup memory between the max, the exponentials and the
 * weighted sum of values.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {DECODE_ATTENTION_MAX_LENGTH} from '../../ops/decode_attention.js';

const WORKGROUP = 64;

export class DecodeAttentionProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'decodeAttention';
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['q', 'keys', 'values'];
  uniforms = 'H : u32, L : u32, D : u32, C : u32, length : u32, column : u32, scale : f32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  constructor(B: number, H: number, D: number) {
    this.outputShape = [B, H * D];
    this.dispatch = [B * H, 1, 1];
  }

  getUserCode(): string {
    return `
      // q: [B, C] row-major, head h at columns column + h·D + d. keys, values: [B, H, L, D] row-major,
      // positions [0, length) used. result: [B, H·D] row-major. Workgroup b·H + h.
      const WG = ${WORKGROUP}u;
      var<workgroup> scores : array<f32, ${DECODE_ATTENTION_MAX_LENGTH}>;
      var<workgroup> partial : array<f32, ${WORKGROUP}>;

      // Max (isMax) or sum of v over the workgroup, every thread getting the result.
      fn reduce(v : f32, isMax : bool) -> f32 {
        partial[localId.x] = v;
        workgroupBarrier();
        for (var width = WG / 2u; width > 0u; width /= 2u) {
          if (localId.x < width) {
            let o = partial[localId.x + width];
            partial[localId.x] = select(partial[localId.x] + o, max(partial[localId.x], o), isMax);
          }
          workgroupBarrier();
        }
        let total = partial[0];
        workgroupBarrier();
        return total;
      }

      fn main(index : i32) {
        let bh = workgroupId.x;
        let b = bh / uniforms.H;
        let h = bh % uniforms.H;
        let D = uniforms.D;
        let qBase = b * uniforms.C + uniforms.column + h * D;
        let kvBase = bh * uniforms.L * D;
        var localMax = -3.402823e+38;
        for (var t = localId.x; t < uniforms.length; t += WG) {
          var s = 0.0;
          for (var d = 0u; d < D; d++) { s += q[qBase + d] * keys[kvBase + t * D + d]; }
          s *= uniforms.scale;
          scores[t] = s;
          localMax = max(localMax, s);
        }
        let m = reduce(localMax, true);
        var localSum = 0.0;
        for (var t = localId.x; t < uniforms.length; t += WG) {
          let e = exp(scores[t] - m);
          scores[t] = e;
          localSum += e;
        }
        let inv = 1.0 / reduce(localSum, false);
        for (var d = localId.x; d < D; d += WG) {
          var acc = 0.0;
          for (var t = 0u; t < uniforms.length; t++) { acc += scores[t] * values[kvBase + t * D + d]; }
          result[b * uniforms.H * D + h * D + d] = acc * inv;
        }
      }
    `;
  }
}
