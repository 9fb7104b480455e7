/**
 * `backend.runWebGPUProgram` for this package's programs, with the two costliest calls of a dispatch
 * cached: the bind group and the uniform buffer.
 *
 * TF.js records every dispatch with a fresh uniform buffer (written from the CPU) and a fresh bind group.
 * On the lent H200, `createBindGroup` alone takes 9.7 µs of the 16.8 µs of Dawn calls per dispatch,
 * and a cached bind group with the same pipeline takes 3.1 µs (bench/dispatch_cost.ts,
 * bench/e2e/NOTES.md). A decoder records the same programs on the same pooled buffers step after step,
 * so both caches hit.
 *
 * The first run of a pipeline, and any run while TF.js times kernels (`tf.profile`, `backend.time`),
 * goes through `runWebGPUProgram` itself. Otherwise this records the dispatch into TF.js's command
 * encoder as `recordAndSubmit` does, with its bookkeeping (buffers owned by the pending commands, the
 * submit batch), using private fields of tfjs-backend-webgpu 4.x: `BackendInternals` lists them.
 */
import {DataId, env, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {deviceLimits} from '../backend_limits.js';

type Uniform = {type: string, data: number[]};

/** The private state of WebGPUBackend that recording a dispatch touches. */
interface BackendInternals {
  activeTimers: unknown[] | null | undefined;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<DataId>;
  dispatchCountInPass: number;
}

/** Entries each cache holds before it is emptied (a model has a few hundred distinct dispatches). */
const CACHE_ENTRIES = 4096;
/** Uniform buffers per slot: the distinct uniform values one slot meets in turn (a cache write's K and V). */
const SLOT_BUFFERS = 4;

/** A uniform buffer, what it holds, and the command encoder that last bound it. */
interface UniformBuffer {
  buffer: GPUBuffer;
  id: number;
  content: string;
  encoder: GPUCommandEncoder | null;
  used: number;
}

class DeviceCache {
  readonly pipelines = new Map<string, {pipeline: GPUComputePipeline, layout: GPUBindGroupLayout, id: number}>();
  /**
   * Uniform buffers by slot: one program on the same shapes, whatever its uniform values. Values that
   * change from call to call (a cache position, an attention length) are rewritten into a buffer of
   * the slot, so its bind groups stay valid and cached.
   */
  readonly slots = new Map<string, UniformBuffer[]>();
  clock = 0;
  readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private next = 0;

  id(o: object): number {
    let id = this.ids.get(o);
    if (id == null) this.ids.set(o, id = this.next++);
    return id;
  }
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (c == null) caches.set(device, c = new DeviceCache());
  return c;
}

function bounded<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= CACHE_ENTRIES) map.clear();
  map.set(key, value);
  return value;
}

/** Everything TF.js's generated shader depends on besides the program's own shaderKey. */
function pipelineKey(program: WebGPUProgram, dtypes: string[], shapes: number[][]): string {
  return `${program.shaderKey}|${program.workgroupSize.join(',')}|${program.variableNames.join(',')}|` +
      `${shapes.map((s) => s.join('x')).join(';')}|${dtypes.join(',')}`;
}

/** The uniforms TF.js's shader header declares, in recordAndSubmit's order, then the program's own. */
function programUniforms(program: WebGPUProgram, shapes: number[][], own: Uniform[]): Uniform[] {
  const u: Uniform[] = [{type: 'float32', data: [NaN]}, {type: 'float32', data: [Infinity]}];
  for (const s of shapes) u.push({type: 'int32', data: s}, {type: 'int32', data: util.computeStrides(s)});
  if (program.size) {
    const size = util.sizeFromShape(program.outputShape);
    u.push({type: 'int32', data: [program.outputComponent ? size / program.outputComponent : size]});
  }
  return u.concat(own);
}

/** The bytes of a uniform buffer, laid out as TF.js's makeUniforms lays them out. */
function uniformBytes(uniforms: Uniform[]): ArrayBuffer {
  let offset = 0, prevLength = 0, maxAlign = 1;
  const offsets: number[] = [];
  for (const d of uniforms) {
    const length = d.data.length === 0 ? 1 : d.data.length;
    let align = length === 1 ? 4 : length === 2 ? 8 : 16;
    if (prevLength === 5 || prevLength === 6) align = 16;
    maxAlign = Math.max(maxAlign, align);
    offset = Math.ceil(offset / align) * align;
    prevLength = length;
    offsets.push(offset);
    offset += length * 4;
  }
  const bytes = new ArrayBuffer(Math.ceil(offset / maxAlign) * maxAlign);
  uniforms.forEach((d, i) => {
    const data = d.data.length === 0 ? [1] : d.data;
    const View = d.type === 'int32' ? Int32Array : d.type === 'uint32' ? Uint32Array : Float32Array;
    new View(bytes, offsets[i], data.length).set(data);
  });
  return bytes;
}

/**
 * A uniform buffer holding this call's uniforms. The bytes follow from the shapes (in `key`), the output
 * shape and the program's own values, and are laid out only when they are new to the slot. A buffer is
 * rewritten only if the commands being recorded have not bound it: the queue orders the write after
 * every command buffer already submitted, and before this one.
 */
function uniformBuffer(cache: DeviceCache, encoder: GPUCommandEncoder, device: GPUDevice, program: WebGPUProgram,
    all: TensorInfo[], key: string, uniforms: Uniform[]): UniformBuffer {
  const slotKey = `${key}|${program.outputShape.join(',')}|${uniforms.map((u) => `${u.type}${u.data.length}`).join(',')}`;
  const content = uniforms.map((u) => u.data.join(',')).join(';');
  let slot = cache.slots.get(slotKey);
  if (slot == null) slot = bounded(cache.slots, slotKey, []);
  let u = slot.find((b) => b.content === content);
  if (u == null) {
    const bytes = uniformBytes(programUniforms(program, all.map((t) => t.shape), uniforms));
    const free = slot.filter((b) => b.encoder !== encoder);
    if (slot.length < SLOT_BUFFERS || free.length === 0) {
      const buffer = device.createBuffer({size: bytes.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST});
      u = {buffer, id: cache.id(buffer), content, encoder: null, used: 0};
      if (slot.length < SLOT_BUFFERS) slot.push(u);
    } else {
      u = free.reduce((a, b) => (b.used < a.used ? b : a));  // the least recently bound
      u.content = content;
    }
    device.queue.writeBuffer(u.buffer, 0, bytes);
  }
  u.encoder = encoder;
  u.used = ++cache.clock;
  return u;
}

/** A program whose WGSL starts with directives (`enable subgroups;`), which must come before TF.js's header. */
export interface DirectiveProgram extends WebGPUProgram {
  directives?: string;
}

/**
 * Runs `run` (which may compile `program`) with the backend's device seen through a proxy that puts the
 * program's directives before the shader source TF.js generates: TF.js's compileProgram has no hook for
 * them, and it compiles only through `backend.device`.
 */
function withDirectives<T>(backend: WebGPUBackend, program: DirectiveProgram, run: () => T): T {
  const directives = program.directives;
  if (!directives) return run();
  const device = backend.device;
  const proxy = new Proxy(device, {
    get(target, name) {
      if (name === 'createShaderModule') {
        return (d: GPUShaderModuleDescriptor) => target.createShaderModule({...d, code: directives + d.code});
      }
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  (backend as {device: GPUDevice}).device = proxy;
  try {
    return run();
  } finally {
    (backend as {device: GPUDevice}).device = device;
  }
}

/** Runs `program` as `backend.runWebGPUProgram(program, inputs, outputDtype, uniforms, output)` does. */
export function runProgram(backend: WebGPUBackend, program: DirectiveProgram, inputs: TensorInfo[],
    outputDtype: 'float32' | 'int32', uniforms: Uniform[], output?: TensorInfo): TensorInfo {
  const internals = backend as unknown as BackendInternals;
  const device = backend.device;
  const out = output ?? backend.makeTensorInfo(program.outputShape, outputDtype);
  const all = [...inputs, out];
  const dtypes = all.map((t) => backend.tensorMap.get(t.dataId).dtype as string);
  const key = pipelineKey(program, dtypes, all.map((t) => t.shape));
  const cache = cacheOf(device);
  const cached = cache.pipelines.get(key);
  const maxDispatch = deviceLimits(device).maxComputeWorkgroupsPerDimension;
  if (cached == null || internals.activeTimers != null || util.sizeFromShape(out.shape) === 0 ||
      program.dispatch.some((d) => d > maxDispatch) || env().getBool('WEBGPU_ENGINE_COMPILE_ONLY')) {
    const result = withDirectives(backend, program, () => backend.runWebGPUProgram(program, inputs, outputDtype, uniforms, out));
    const pipeline = program.pipeline;
    if (cached == null && pipeline != null && !(pipeline instanceof Promise)) {
      bounded(cache.pipelines, key, {pipeline, layout: pipeline.getBindGroupLayout(0), id: cache.id(pipeline)});
    }
    return result;
  }

  for (const t of all) backend.uploadToGPU(t.dataId);
  const buffers = all.map((t) => backend.tensorMap.get(t.dataId).resource);
  if (!buffers.every((b): b is GPUBuffer => b instanceof GPUBuffer)) {
    return backend.runWebGPUProgram(program, inputs, outputDtype, uniforms, out);
  }
  backend.ensureCommandEncoderReady();
  const uniform = uniformBuffer(cache, internals.commandEncoder!, device, program, all, key, uniforms);
  // TF.js binds the output first, then the inputs, then the uniforms.
  const bound = [buffers[buffers.length - 1], ...buffers.slice(0, -1)];
  const groupKey = `${cached.id}|${bound.map((b) => cache.id(b)).join(',')}|${uniform.id}`;
  let group = cache.groups.get(groupKey);
  if (group == null) {
    group = bounded(cache.groups, groupKey, device.createBindGroup({
      layout: cached.layout,
      entries: [...bound, uniform.buffer].map((buffer, binding) => ({binding, resource: {buffer}})),
    }));
  }

  // As recordAndSubmit: the pending commands own these buffers until they are submitted.
  for (const t of all) internals.commandQueueOwnedIds.add(t.dataId);
  internals.computePassEncoder ??= internals.commandEncoder!.beginComputePass({});
  const pass = internals.computePassEncoder;
  pass.setPipeline(cached.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(program.dispatch[0], program.dispatch[1], program.dispatch[2]);
  if (env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') <= ++internals.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  return out;
}
