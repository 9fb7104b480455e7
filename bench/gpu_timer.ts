/**
 * GPU time from timestamp queries, for any compute pass on one GPUDevice.
 *
 * While a PassTimer is active, every compute pass begun on any command encoder that does not already
 * ask for timestamps gets `timestampWrites` (beginning and end of the pass) into the timer's query set.
 * That covers the passes TF.js records for its programs (Route A kernels) and the passes a kernel
 * records on its own encoder (Route B), with no change to either. `stop()` resolves the queries and
 * returns one [begin, end] pair per pass, in nanoseconds.
 */

export interface PassTime {
  begin: number;  // ns, relative to the first pass of the window
  end: number;
}

export interface PassWindow {
  passes: PassTime[];
  /** True when more passes ran than the query set holds; the extra passes were not timed. */
  overflow: boolean;
  /** True when some end came before its begin or a timestamp was 0: timestamps are not usable. */
  invalid: boolean;
}

type BeginComputePass = (this: GPUCommandEncoder, d?: GPUComputePassDescriptor) => GPUComputePassEncoder;

export class PassTimer {
  readonly capacity: number;
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly readBuf: GPUBuffer;
  private next = 0;
  private active = false;
  private overflow = false;

  constructor(private readonly device: GPUDevice, capacity = 4096) {
    this.capacity = capacity;
    this.querySet = device.createQuerySet({type: 'timestamp', count: capacity});
    this.resolveBuf = device.createBuffer({size: capacity * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC});
    this.readBuf = device.createBuffer({size: capacity * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
  }

  /** Wraps `beginComputePass` of the GPUCommandEncoder prototype (Dawn's objects share it). */
  install(): void {
    const proto = (globalThis as unknown as {GPUCommandEncoder: {prototype: {beginComputePass: BeginComputePass}}})
        .GPUCommandEncoder.prototype;
    const orig = proto.beginComputePass;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const timer = this;
    proto.beginComputePass = function(this: GPUCommandEncoder, d?: GPUComputePassDescriptor) {
      return orig.call(this, timer.decorate(d));
    };
  }

  /** Fallback when the prototype is not shared: wraps the encoders one device creates. */
  installOnDevice(): void {
    const dev = this.device as GPUDevice & {createCommandEncoder: (d?: GPUCommandEncoderDescriptor) => GPUCommandEncoder};
    const origCreate = dev.createCommandEncoder;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const timer = this;
    Object.defineProperty(dev, 'createCommandEncoder', {
      configurable: true, writable: true,
      value: function(this: GPUDevice, d?: GPUCommandEncoderDescriptor) {
        const enc = origCreate.call(this, d);
        const origBegin = enc.beginComputePass;
        Object.defineProperty(enc, 'beginComputePass', {
          configurable: true, writable: true,
          value: function(this: GPUCommandEncoder, pd?: GPUComputePassDescriptor) {
            return origBegin.call(this, timer.decorate(pd));
          },
        });
        return enc;
      },
    });
  }

  private decorate(d?: GPUComputePassDescriptor): GPUComputePassDescriptor | undefined {
    if (!this.active || d?.timestampWrites != null) return d;
    if (this.next + 2 > this.capacity) {
      this.overflow = true;
      return d;
    }
    const i = this.next;
    this.next += 2;
    return {...(d ?? {}), timestampWrites: {querySet: this.querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1}};
  }

  get isActive(): boolean {
    return this.active;
  }

  start(): void {
    this.next = 0;
    this.overflow = false;
    this.active = true;
  }

  /** Stops recording. Submit every timed pass before calling this (queue order does the rest). */
  async stop(): Promise<PassWindow> {
    this.active = false;
    const n = this.next;
    const overflow = this.overflow;
    if (n === 0) return {passes: [], overflow, invalid: false};
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.querySet, 0, n, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, n * 8);
    this.device.queue.submit([enc.finish()]);
    await this.readBuf.mapAsync(GPUMapMode.READ, 0, n * 8);
    const raw = new BigUint64Array(this.readBuf.getMappedRange(0, n * 8).slice(0));
    this.readBuf.unmap();
    let t0 = raw[0]!;
    for (let i = 0; i < n; i += 2) if (raw[i]! < t0) t0 = raw[i]!;
    const passes: PassTime[] = [];
    let invalid = false;
    for (let i = 0; i < n; i += 2) {
      const b = raw[i]!, e = raw[i + 1]!;
      if (b === 0n || e === 0n || e < b) invalid = true;
      passes.push({begin: Number(b - t0), end: Number(e - t0)});
    }
    return {passes, overflow, invalid};
  }

  /** Raw begin timestamps of the last window, for the quantization check. */
  async rawTimestamps(count: number): Promise<bigint[]> {
    const n = Math.min(count, this.capacity);
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.querySet, 0, n, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, n * 8);
    this.device.queue.submit([enc.finish()]);
    await this.readBuf.mapAsync(GPUMapMode.READ, 0, n * 8);
    const raw = [...new BigUint64Array(this.readBuf.getMappedRange(0, n * 8).slice(0))];
    this.readBuf.unmap();
    return raw;
  }
}

/** Sum of pass durations (busy time) and first-begin to last-end (span), in ns. */
export function busyAndSpan(w: PassWindow): {busyNs: number; spanNs: number} {
  let busy = 0, lo = Infinity, hi = -Infinity;
  for (const p of w.passes) {
    busy += p.end - p.begin;
    lo = Math.min(lo, p.begin);
    hi = Math.max(hi, p.end);
  }
  return {busyNs: busy, spanNs: w.passes.length ? hi - lo : 0};
}

/**
 * Checks that the timer sees passes and that timestamps are not quantized: times `count` tiny passes
 * and looks at the low bits of the raw values. Returns the largest power of two dividing all of them.
 */
export async function timerSelfTest(device: GPUDevice, timer: PassTimer): Promise<{passesSeen: number; granularityNs: number; invalid: boolean}> {
  const module = device.createShaderModule({code: `
@group(0) @binding(0) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { b[g.x] = b[g.x] * 1664525u + 1013904223u; }`});
  const pipeline = device.createComputePipeline({layout: 'auto', compute: {module, entryPoint: 'main'}});
  const buf = device.createBuffer({size: 64 * 4 * 64, usage: GPUBufferUsage.STORAGE});
  const bg = device.createBindGroup({layout: pipeline.getBindGroupLayout(0), entries: [{binding: 0, resource: {buffer: buf}}]});
  const count = 16;
  timer.start();
  const enc = device.createCommandEncoder();
  for (let i = 0; i < count; i++) {
    const p = enc.beginComputePass();
    p.setPipeline(pipeline);
    p.setBindGroup(0, bg);
    p.dispatchWorkgroups(1 + (i % 64));
    p.end();
  }
  device.queue.submit([enc.finish()]);
  const w = await timer.stop();
  let g = 0n;
  if (w.passes.length > 0) {
    const raw = await timer.rawTimestamps(w.passes.length * 2);
    for (const v of raw) g = g | v;
  }
  buf.destroy();
  // Lowest set bit of the OR of all values = the largest power of two dividing every value.
  const granularity = g === 0n ? 0 : Number(g & -g);
  return {passesSeen: w.passes.length, granularityNs: granularity, invalid: w.invalid};
}

export interface CopyResult {
  GBps: number;
  bytesPerBuffer: number;
  bytesMovedPerDispatch: number;
  samplesUs: number[];
  verified: boolean;
}

/**
 * Bandwidth of a WGSL vec4 copy (16 B per thread) between two buffers of `bytesPerBuffer`, counting
 * bytes read plus bytes written, from pass timestamps; median over `reps` dispatches.
 */
export async function measureCopy(device: GPUDevice, timer: PassTimer, bytesPerBuffer: number, reps: number): Promise<CopyResult> {
  const size = Math.floor(bytesPerBuffer / 256) * 256;
  const n16 = size / 16;
  const wg = 256;
  const groups = Math.ceil(n16 / wg);
  const gx = Math.min(groups, 32768);
  const gy = Math.ceil(groups / gx);
  const src = device.createBuffer({size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC});
  const dst = device.createBuffer({size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC});
  const index = `let i = gid.x + gid.y * (nwg.x * ${wg}u);`;
  const fill = device.createShaderModule({code: `
@group(0) @binding(0) var<storage, read_write> a: array<vec4<u32>>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${index}
  if (i < arrayLength(&a)) { a[i] = vec4<u32>(i * 2654435761u, i ^ 0x5bd1e995u, ~i, i + 0x9e3779b9u); }
}`});
  const copy = device.createShaderModule({code: `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${index}
  if (i < arrayLength(&dst)) { dst[i] = src[i]; }
}`});
  const fillP = device.createComputePipeline({layout: 'auto', compute: {module: fill, entryPoint: 'main'}});
  const copyP = device.createComputePipeline({layout: 'auto', compute: {module: copy, entryPoint: 'main'}});
  const fillBg = device.createBindGroup({layout: fillP.getBindGroupLayout(0), entries: [{binding: 0, resource: {buffer: src}}]});
  const copyBg = device.createBindGroup({
    layout: copyP.getBindGroupLayout(0),
    entries: [{binding: 0, resource: {buffer: src}}, {binding: 1, resource: {buffer: dst}}],
  });
  const dispatch = (enc: GPUCommandEncoder, p: GPUComputePipeline, bg: GPUBindGroup) => {
    const pass = enc.beginComputePass();
    pass.setPipeline(p);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(gx, gy);
    pass.end();
  };
  let enc = device.createCommandEncoder();
  dispatch(enc, fillP, fillBg);
  dispatch(enc, copyP, copyBg);
  dispatch(enc, copyP, copyBg);
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();

  timer.start();
  enc = device.createCommandEncoder();
  for (let r = 0; r < reps; r++) dispatch(enc, copyP, copyBg);
  device.queue.submit([enc.finish()]);
  const w = await timer.stop();
  const samplesUs = w.passes.map(p => (p.end - p.begin) / 1e3);

  // Check the first and last 16 bytes of the copy (a copy that skips work would look fast).
  const rb = device.createBuffer({size: 32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
  enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(dst, 0, rb, 0, 16);
  enc.copyBufferToBuffer(dst, size - 16, rb, 16, 16);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const got = new Uint32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  const expect = (i: number) => [Math.imul(i, 2654435761) >>> 0, (i ^ 0x5bd1e995) >>> 0, (~i) >>> 0, (i + 0x9e3779b9) >>> 0];
  const want = [...expect(0), ...expect(n16 - 1)];
  const verified = want.every((v, k) => got[k] === v);
  rb.destroy();
  src.destroy();
  dst.destroy();
  const med = median(samplesUs);
  return {GBps: (2 * size) / (med * 1e3), bytesPerBuffer: size, bytesMovedPerDispatch: 2 * size, samplesUs, verified};
}

export function median(a: number[]): number {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
