/**
 * Reads of a pool of nonzero words, for two things. The read bound: GPU time of a dispatch that does nothing but read a weight's bytes, timed as the op is
 * (batched passes and isolated ones, on rotated buffers, by the same pass timer). No kernel that reads
 * those bytes in one dispatch can be faster, so where this bound is above a target (issue #3's 1.5× the
 * floor) the target cannot be met by a better kernel, only by fewer bytes or a cheaper dispatch.
 */
import {median, PassTimer} from './gpu_timer.js';

export interface ReadResult {
  bytes: number;
  /** Distinct byte ranges of the pool read in turn (so that L2 does not hold them). */
  sets: number;
  /** µs per dispatch in passes of `batch` dispatches: pass time summed, divided by dispatches; median. */
  batchedUs: number;
  /** µs per dispatch with one dispatch per pass; median. */
  isoUs: number;
  samplesBatchedUs: number[];
  samplesIsoUs: number[];
}

const WG = 256;

export class ReadBound {
  private readonly pool: GPUBuffer;
  private readonly sink: GPUBuffer;
  private readonly pipeline: GPUComputePipeline;
  private all: GPUBindGroup | undefined;

  /** A pool of `poolBytes` filled with nonzero words, read by one vec4<u32> per invocation. */
  constructor(private readonly device: GPUDevice, private readonly timer: PassTimer, poolBytes: number) {
    this.pool = device.createBuffer({size: Math.floor(poolBytes / 256) * 256, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST});
    this.sink = device.createBuffer({size: 16, usage: GPUBufferUsage.STORAGE});
    const words = new Uint32Array(1 << 20).map((_, i) => (Math.imul(i, 2654435761) >>> 0) | 1);
    for (let o = 0; o < this.pool.size; o += words.byteLength) {
      device.queue.writeBuffer(this.pool, o, words, 0, Math.min(words.length, (this.pool.size - o) / 4));
    }
    // The sink is written only for a word pattern the pool does not hold, so the reads cannot be dropped.
    this.pipeline = device.createComputePipeline({layout: 'auto', compute: {entryPoint: 'main', module: device.createShaderModule({code: `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * (nwg.x * ${WG}u);
  if (i < arrayLength(&src)) {
    let v = src[i];
    if ((v.x & v.y & v.z & v.w & 1u) == 0u) { sink[0] = i; }
  }
}`})}});
  }

  /** Times reading `bytes` bytes: passes of `batch` dispatches (`dispatches` per loop, median of `loops`), and one per pass. */
  async measure(bytes: number, batch: number, dispatches: number, loops: number): Promise<ReadResult> {
    const stride = Math.ceil(bytes / 256) * 256;
    const sets = Math.max(1, Math.floor(this.pool.size / stride));
    const size = Math.floor(bytes / 16) * 16;
    const groups = Math.ceil(size / 16 / WG);
    const gx = Math.min(groups, 32768);
    const gy = Math.ceil(groups / gx);
    const layout = this.pipeline.getBindGroupLayout(0);
    const bindGroups = Array.from({length: sets}, (_, s) => this.device.createBindGroup({layout, entries: [
      {binding: 0, resource: {buffer: this.pool, offset: s * stride, size}},
      {binding: 1, resource: {buffer: this.sink}},
    ]}));
    let k = 0;
    const run = async (perPass: number, n: number): Promise<number[]> => {
      this.timer.start();
      const enc = this.device.createCommandEncoder();
      for (let i = 0; i < n; i += perPass) {
        const pass = enc.beginComputePass();
        pass.setPipeline(this.pipeline);
        for (let j = i; j < Math.min(n, i + perPass); j++) {
          pass.setBindGroup(0, bindGroups[k++ % sets]!);
          pass.dispatchWorkgroups(gx, gy);
        }
        pass.end();
      }
      this.device.queue.submit([enc.finish()]);
      const w = await this.timer.stop();
      if (w.overflow || w.invalid) throw new Error('read bound: timestamps overflowed or invalid');
      return w.passes.map((p) => (p.end - p.begin) / 1e3);
    };
    await run(batch, sets);  // warm-up: every range once
    const samplesBatchedUs: number[] = [];
    for (let l = 0; l < loops; l++) {
      const passes = await run(batch, dispatches);
      samplesBatchedUs.push(passes.reduce((a, b) => a + b, 0) / dispatches);
    }
    const samplesIsoUs = await run(1, dispatches);
    return {bytes, sets, batchedUs: median(samplesBatchedUs), isoUs: median(samplesIsoUs), samplesBatchedUs, samplesIsoUs};
  }

  /**
   * Keeps the GPU loaded for about `ms` with reads of the whole pool. The H200's driver lowers the SM
   * clock to 345 MHz within about 2 s of an idle GPU, and CPU-bound loops of small ops leave it idle
   * enough for that: cases measured then ran up to 4x slower (bench/NOTES.md, run 19's clock log). A
   * few ms of this before a timed loop bring it back to 1980 MHz.
   */
  async busy(ms: number): Promise<void> {
    const layout = this.pipeline.getBindGroupLayout(0);
    this.all ??= this.device.createBindGroup({layout, entries: [
      {binding: 0, resource: {buffer: this.pool}}, {binding: 1, resource: {buffer: this.sink}},
    ]});
    const groups = this.pool.size / 16 / WG;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, this.all);
      for (let i = 0; i < 8; i++) pass.dispatchWorkgroups(Math.min(groups, 32768), Math.ceil(groups / 32768));
      pass.end();
      this.device.queue.submit([enc.finish()]);
      await this.device.queue.onSubmittedWorkDone();
    }
  }

  destroy(): void {
    this.pool.destroy();
    this.sink.destroy();
  }
}
