/// <reference types="node" />
/**
 * Node only: exposes WebGPU from Dawn (the npm package `webgpu`, when it is installed) as
 * `navigator.gpu`, so that tfjs-backend-webgpu registers its `webgpu` backend when it loads. It must run
 * before @tensorflow/tfjs-backend-webgpu is first imported, so it loads Dawn synchronously (require of
 * an ES module, Node ≥ 20.19). Dawn picks its Vulkan driver from VK_ICD_FILENAMES. Set
 * TFJS_SPARSE_WEBGPU=0 to skip it.
 *
 * Its devices get the `subgroups` feature where the adapter has it, which the skinny SparseMatMul program
 * uses (src/kernels/webgpu/subgroups.ts). In a browser the main entry does the same for the duration of
 * TF.js's backend factory (subgroup_backend.ts); here tfjs-backend-webgpu loads after this, so that
 * factory does not exist yet when the main entry runs.
 */
import {createRequire} from 'node:module';
import {AdapterSource, addSubgroups} from '../kernels/webgpu/subgroups.js';

/** Whether Dawn was set up as `navigator.gpu`, and why not. */
export interface DawnStatus {
  loaded: boolean;
  reason?: string;
}

interface DawnModule {
  create(options: string[]): AdapterSource;
  globals: object;
}

function setUp(): DawnStatus {
  if (process.env['TFJS_SPARSE_WEBGPU'] === '0') return {loaded: false, reason: 'disabled by TFJS_SPARSE_WEBGPU=0'};
  const g = globalThis as {navigator?: {gpu?: unknown}};
  if (g.navigator?.gpu != null) return {loaded: false, reason: 'navigator.gpu already exists'};
  let dawn: DawnModule;
  try {
    dawn = createRequire(import.meta.url)('webgpu') as DawnModule;
  } catch (e) {
    return {loaded: false, reason: `the webgpu package did not load: ${(e as Error).message}`};
  }
  const gpu = dawn.create([]);
  addSubgroups(gpu);
  Object.assign(globalThis, dawn.globals);
  if (g.navigator != null) {
    Object.defineProperty(g.navigator, 'gpu', {value: gpu, configurable: true, writable: true});
  } else {
    Object.defineProperty(globalThis, 'navigator', {value: {gpu}, configurable: true, writable: true});
  }
  return {loaded: true};
}

export const dawnStatus: DawnStatus = setUp();
