/** Writes S new positions of keys or values into a [B, H, L, D] cache; the cache is the output binding. */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

const WORKGROUP = 256;

export class KVCacheWriteProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'kvCacheWrite';
  dispatchLayout = {x: [0, 1, 2, 3]};
  dispatch: [number, number, number];
  variableNames = ['x'];
  uniforms = 'count : u32, S : u32, H : u32, D : u32, L : u32, C : u32, position : u32, column : u32,';
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  /** `cacheShape` is [B, H, L, D]; `count` = B·S·H·D entries are written. */
  constructor(cacheShape: number[], count: number) {
    this.outputShape = cacheShape;
    this.dispatch = [Math.ceil(count / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
      // x: [B·S, C] row-major, row b·S + s, the heads' entries at columns column + h·D + d.
      // result (the cache, written in place): [B, H, L, D] row-major; only positions
      // [position, position + S) of each (b, h) are written.
      fn main(index : i32) {
        let i = u32(index);
        if (i >= uniforms.count) { return; }
        let d = i % uniforms.D;
        let h = (i / uniforms.D) % uniforms.H;
        let row = i / (uniforms.D * uniforms.H);
        let b = row / uniforms.S;
        let s = row % uniforms.S;
        let to = ((b * uniforms.H + h) * uniforms.L + uniforms.position + s) * uniforms.D + d;
        result[to] = x[row * uniforms.C + uniforms.column + h * uniforms.D + d];
      }
    `;
  }
}
