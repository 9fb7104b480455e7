/**
 * One query per (sequence, head) against its cached keys and values: one workgroup per (b, h). The
 * scores of all `length` positions stay in workgroup memory between the max, the exponentials and the
 * weighted sum of values.
 *
 * Both passes over the cache read it in coalesced rows: for q·Kᵀ, LANES threads share a position and
 * split its D values (then add their parts through workgroup memory); for ·V, the threads span the D
 * columns and several slices of positions (then add the slices). A thread walking a whole row alone,
 * as the first version did, made every load of a warp touch a different cache line and left the
 * memory system idle (7b-slice: 165 µs per layer for 8 MB of cache).
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {DECODE_ATTENTION_MAX_LENGTH} from '../../ops/decode_attention.js';

const WORKGROUP = 256;
/** Threads that share one position's q·k. */
const LANES = 8;

export class DecodeAttentionProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0, 1]};
  dispatch: [number, number, number];
  variableNames = ['q', 'keys', 'values'];
  variableComponents: number[];
  uniforms = 'H : u32, Hc : u32, valueHead : u32, L : u32, D : u32, C : u32, length : u32, column : u32, scale : f32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  /** Floats per cache element read: 4 (vec4) when D is a multiple of 4, else 1. */
  private readonly width: 1 | 4;

  constructor(B: number, H: number, D: number) {
    this.outputShape = [B, H * D];
    this.dispatch = [B * H, 1, 1];
    this.width = D % 4 === 0 ? 4 : 1;
    this.variableComponents = [1, this.width, this.width];
    this.shaderKey = `decodeAttention_w${this.width}`;
  }

  getUserCode(): string {
    const vec = this.width === 4;
    const T = vec ? 'vec4<f32>' : 'f32';
    const qRead = vec ? 'vec4<f32>(q[a], q[a + 1u], q[a + 2u], q[a + 3u])' : 'q[a]';
    const dot = vec ? 'dot(k, qv)' : 'k * qv';
    const store = vec ? `
          result[o] = acc.x * inv;
          result[o + 1u] = acc.y * inv;
          result[o + 2u] = acc.z * inv;
          result[o + 3u] = acc.w * inv;` : `
          result[o] = acc * inv;`;
    return `
      // q: [B, C] f32 row-major, head h at columns column + h·D + d. keys, values: [B, Hc, L, D]
      // row-major, read as ${T} (W = ${this.width} floats each, R = D / W per row); head h's keys at
      // cache head h, its values at valueHead + h (a joint cache: one buffer bound twice); positions
      // [0, length) used. result: [B, H·D] f32 row-major. Workgroup b·H + h.
      const WG = ${WORKGROUP}u;
      const LANES = ${LANES}u;
      const W = ${this.width}u;
      var<workgroup> scores : array<f32, ${DECODE_ATTENTION_MAX_LENGTH}>;
      var<workgroup> partial : array<f32, ${WORKGROUP}>;
      var<workgroup> slicePart : array<${T}, ${WORKGROUP}>;

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
        let R = uniforms.D / W;
        let qBase = b * uniforms.C + uniforms.column + h * uniforms.D;
        let keyBase = (b * uniforms.Hc + h) * uniforms.L * R;
        let valueBase = (b * uniforms.Hc + uniforms.valueHead + h) * uniforms.L * R;

        // q·Kᵀ: a round covers WG / LANES positions; lane j of a position reads its elements j, j + LANES, ...
        let lane = localId.x % LANES;
        let group = localId.x / LANES;
        var localMax = -3.402823e+38;
        for (var t0 = 0u; t0 < uniforms.length; t0 += WG / LANES) {
          let t = t0 + group;
          var s = 0.0;
          if (t < uniforms.length) {
            for (var c = lane; c < R; c += LANES) {
              let a = qBase + c * W;
              let qv = ${qRead};
              let k = keys[keyBase + t * R + c];
              s += ${dot};
            }
          }
          partial[localId.x] = s;
          workgroupBarrier();
          if (lane == 0u && t < uniforms.length) {
            var sum = 0.0;
            for (var j = 0u; j < LANES; j++) { sum += partial[localId.x + j]; }
            sum *= uniforms.scale;
            scores[t] = sum;
            localMax = max(localMax, sum);
          }
          workgroupBarrier();
        }
        let m = reduce(localMax, true);
        var localSum = 0.0;
        for (var t = localId.x; t < uniforms.length; t += WG) {
          let e = exp(scores[t] - m);
          scores[t] = e;
          localSum += e;
        }
        let inv = 1.0 / reduce(localSum, false);

        // ·V: thread (slice, c) adds positions slice, slice + slices, ... of element c. A pass covers
        // span = min(R, WG) elements; when R > WG there is one slice and several passes.
        let span = min(R, WG);
        let slices = WG / span;
        let slice = localId.x / span;
        for (var c0 = 0u; c0 < R; c0 += span) {
          let c = c0 + localId.x % span;
          let inPass = slice < slices && c < R;
          var acc = ${T}(0.0);
          if (inPass) {
            for (var t = slice; t < uniforms.length; t += slices) {
              acc += scores[t] * values[valueBase + t * R + c];
            }
          }
          if (slices > 1u) {
            slicePart[localId.x] = acc;
            workgroupBarrier();
            if (inPass && slice == 0u) {
              for (var j = 1u; j < slices; j++) { acc += slicePart[j * span + c]; }
            }
          }
          if (inPass && slice == 0u) {
            let o = b * uniforms.H * uniforms.D + h * uniforms.D + c * W;${store}
          }
        }
      }
    `;
  }
}
