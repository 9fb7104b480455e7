/**
 * Subgroups: the webgpu backend's device is made with the `subgroups` feature where the adapter has it
 * (src/kernels/webgpu/subgroup_backend.ts), programs may start with `enable subgroups;`
 * (run_program.ts), and the skinny program takes its subgroup form only where a subgroup is a warp of
 * 32 invocations (subgroups.ts). SwiftShader's subgroups have 4 invocations, so the subgroup form's
 * products are checked on the GPU (bench/gpu_specs.ts), by every sparseMatMul suite there; this file
 * checks the plumbing, here and there.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {describeEachBackend} from './helpers/backends';
import {planProduct, SUBGROUP_MIN_ROWS_FLAG} from '../src/kernels/webgpu/sparse_mat_mul_plan';
import {runProgram} from '../src/kernels/webgpu/run_program';
import {requestSubgroups} from '../src/kernels/webgpu/subgroup_backend';
import {addSubgroups, AdapterSource, SUBGROUP_DIRECTIVES, warpSubgroups} from '../src/kernels/webgpu/subgroups';

function fakeDevice(features: string[], min?: number, max?: number): GPUDevice {
  return {features: new Set(features), adapterInfo: {subgroupMinSize: min, subgroupMaxSize: max}} as unknown as GPUDevice;
}

describe('subgroup form of the skinny program', () => {
  const common = {valueType: 'float16' as const, transposeX: false, activation: 'linear' as const,
    hasBias: false, hasPrelu: false, hasResidual: false};
  const skinny = (M: number, warp: boolean) => planProduct(M, 4096, 128, 0.2, 49152, 1e7, common, warp).program(1, true);
  const before = tf.env().getNumber(SUBGROUP_MIN_ROWS_FLAG);
  afterEach(() => tf.env().set(SUBGROUP_MIN_ROWS_FLAG, before));

  it('needs the feature and subgroups of exactly 32 invocations', () => {
    expect(warpSubgroups(fakeDevice(['subgroups'], 32, 32))).toBe(true);
    expect(warpSubgroups(fakeDevice(['subgroups'], 4, 4))).toBe(false);
    expect(warpSubgroups(fakeDevice(['subgroups'], 32, 64))).toBe(false);
    expect(warpSubgroups(fakeDevice(['subgroups'], 16, 32))).toBe(false);
    expect(warpSubgroups(fakeDevice(['timestamp-query'], 32, 32))).toBe(false);
    expect(warpSubgroups(fakeDevice(['subgroups']))).toBe(false);
  });

  it('runs from 2 rows per workgroup (the flag moves it), named by the shader key, with the directives', () => {
    for (const [M, want] of [[1, false], [2, true], [3, true], [4, true], [16, true]] as const) {
      const p = skinny(M, true);
      expect(p.shaderKey.includes('_subgroups')).withContext(`M=${M}`).toBe(want);
      expect((p as {directives?: string}).directives).withContext(`M=${M}`).toBe(want ? SUBGROUP_DIRECTIVES : '');
      expect(p.getUserCode().includes('subgroupShuffle')).withContext(`M=${M}`).toBe(want);
      expect(skinny(M, false).shaderKey).not.toContain('_subgroups');
    }
    tf.env().set(SUBGROUP_MIN_ROWS_FLAG, 1);
    expect(skinny(1, true).shaderKey).toContain('_subgroups');
    expect(skinny(1, false).shaderKey).not.toContain('_subgroups');
    tf.env().set(SUBGROUP_MIN_ROWS_FLAG, 1e9);
    expect(skinny(16, true).shaderKey).not.toContain('_subgroups');
  });

  it('is never the tiled program\'s', () => {
    const tiled = planProduct(1024, 4096, 128, 0.5, 49152, 1e7, common, true).program(1, true);
    expect(tiled.shaderKey).toContain('sparseTiled');
    expect(tiled.getUserCode()).not.toContain('subgroup');
  });
});

describe('addSubgroups', () => {
  /** A navigator.gpu whose adapters (a new one per request) have `features` and record the descriptors they get. */
  function fakeGpu(features: string[]): {gpu: AdapterSource, asked: GPUDeviceDescriptor[]} {
    const asked: GPUDeviceDescriptor[] = [];
    const adapter = () => ({features: new Set(features), requestDevice: async (d: GPUDeviceDescriptor) => asked.push(d)});
    const gpu = {requestAdapter: async () => adapter() as unknown as GPUAdapter};
    return {gpu, asked};
  }

  it('adds subgroups, once, to the devices of adapters that have it, until undone', async () => {
    const {gpu, asked} = fakeGpu(['subgroups', 'timestamp-query']);
    const original = gpu.requestAdapter;
    const restore = addSubgroups(gpu);
    await (await gpu.requestAdapter())!.requestDevice({requiredFeatures: ['timestamp-query']});
    await (await gpu.requestAdapter())!.requestDevice({requiredFeatures: ['subgroups' as GPUFeatureName]});
    await (await gpu.requestAdapter())!.requestDevice();
    expect(asked.map((d) => [...d.requiredFeatures!] as string[])).toEqual([['timestamp-query', 'subgroups'], ['subgroups'], ['subgroups']]);
    restore();
    expect(gpu.requestAdapter).toBe(original);
    await (await gpu.requestAdapter())!.requestDevice({});
    expect(asked[3].requiredFeatures).toBeUndefined();
  });

  it('leaves the devices of adapters without subgroups alone', async () => {
    const {gpu, asked} = fakeGpu(['timestamp-query']);
    addSubgroups(gpu);
    await (await gpu.requestAdapter())!.requestDevice({requiredFeatures: ['timestamp-query']});
    expect([...asked[0].requiredFeatures!]).toEqual(['timestamp-query']);
  });
});

/** Writes, per invocation, the number of invocations in its subgroup (subgroupAdd of 1). */
class SubgroupSizeProgram implements WebGPUProgram {
  outputShape = [1, 64];
  shaderKey = 'subgroupSizeProbe';
  dispatchLayout = {x: [] as number[], y: [0], z: [1]};
  dispatch: [number, number, number] = [1, 1, 1];
  variableNames: string[] = [];
  workgroupSize: [number, number, number] = [64, 1, 1];
  directives = SUBGROUP_DIRECTIVES;
  getUserCode(): string {
    // Reads a uniform so that the pipeline's layout keeps the binding TF.js binds.
    return 'fn main() { result[localIndex] = f32(subgroupAdd(1u)) + 0.0 * f32(uniforms.outShape.x); }';
  }
}

describeEachBackend('the webgpu device', (backend) => {
  it('is not replaced once the backend exists, or where webgpu is not registered', () => {
    expect(requestSubgroups()).toBe(false);
  });

  if (backend !== 'webgpu') return;

  it('has subgroups where its adapter does', async () => {
    const device = (tf.backend() as WebGPUBackend).device;
    const adapter = await navigator.gpu.requestAdapter();
    expect(device.features.has('subgroups')).toBe(adapter!.features.has('subgroups'));
  });

  it('runs a program that starts with enable subgroups', async () => {
    const b = tf.backend() as WebGPUBackend;
    if (!b.device.features.has('subgroups')) {
      pending('this adapter has no subgroups');
      return;
    }
    const info = (b.device as unknown as {adapterInfo: {subgroupMinSize: number, subgroupMaxSize: number}}).adapterInfo;
    for (let run = 0; run < 2; run++) {  // the first compiles through TF.js, the second is recorded from the cache
      const out = tf.engine().makeTensorFromTensorInfo(runProgram(b, new SubgroupSizeProgram(), [], 'float32', []));
      const sizes = await out.data();
      out.dispose();
      expect(sizes.length).toBe(64);
      for (const s of sizes) {
        expect(s).toBeGreaterThanOrEqual(info.subgroupMinSize);
        expect(s).toBeLessThanOrEqual(info.subgroupMaxSize);
      }
    }
  });
});
