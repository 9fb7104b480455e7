/**
 * Makes TF.js's webgpu backend create its device with the `subgroups` feature where the adapter has it.
 *
 * tfjs-backend-webgpu's own factory asks for timestamp-query and bgra8unorm-storage only, and WGSL
 * subgroup operations fail to compile on a device made without `subgroups`. So, at import, while the
 * webgpu backend is registered but not yet created, this replaces its factory with the same one plus that
 * feature. A backend that already exists, or a factory the application registers later, is left alone.
 */
import {engine, env} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

/** tfjs-backend-webgpu 4.x's factory, with `subgroups` added. */
async function createBackend(): Promise<WebGPUBackend> {
  const adapter = await navigator.gpu.requestAdapter({
    powerPreference: env().get('WEBGPU_USE_LOW_POWER_GPU') ? 'low-power' : 'high-performance',
  });
  if (adapter == null) throw new Error('WebGPU: no adapter');
  const wanted: GPUFeatureName[] = ['timestamp-query', 'bgra8unorm-storage', 'subgroups' as GPUFeatureName];
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: wanted.filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  // Loaded already: the factory being registered means tfjs-backend-webgpu was imported. Importing it
  // statically would make it a dependency of every user, and register webgpu on import.
  const {WebGPUBackend} = await import('@tensorflow/tfjs-backend-webgpu');
  return new WebGPUBackend(device, (adapter as unknown as {info?: GPUAdapterInfo}).info);
}

/** Replaces the registered, not yet created webgpu backend's factory; returns whether it did. */
export function requestSubgroups(): boolean {
  const e = engine();
  const entry = e.registryFactory['webgpu'];
  if (entry == null || 'webgpu' in e.registry || typeof navigator === 'undefined' || navigator.gpu == null) return false;
  entry.factory = createBackend;
  return true;
}
