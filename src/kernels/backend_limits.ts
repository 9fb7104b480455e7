/**
 * How large an array a SparseMatMul kernel may bind, and how many column strips one dispatch may cover,
 * on the active backend. WebGPU has both limits (maxStorageBufferBindingSize with maxBufferSize, and
 * maxComputeWorkgroupsPerDimension); cpu has neither. sparseMatMul splits a weight by column strips to
 * stay within them (ops/column_parts.ts).
 */
import {engine, env, KernelBackend} from '@tensorflow/tfjs-core';

/**
 * An artificial binding limit in bytes, applied on every backend when it is smaller than the backend's
 * own (0, the default: the backend's own). Tests use it to split small weights.
 */
export const MAX_BINDING_BYTES_FLAG = 'TFJS_SPARSE_MAX_BINDING_BYTES';
env().registerFlag(MAX_BINDING_BYTES_FLAG, () => 0);

export interface BackendLimits {
  /** Bytes one bound array may hold. */
  maxBindingBytes: number;
  /** Column strips (32 outputs each) one dispatch may cover: one workgroup per strip along x. */
  maxColumnStrips: number;
}

/** The limits of a WebGPU device that the kernels read. */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupStorageSize: number;
}

interface WithDevice {
  device?: {limits: DeviceLimits};
}

const deviceLimitsCache = new WeakMap<object, DeviceLimits>();

/**
 * A device's limits, read once: they never change, and each property read goes through the WebGPU
 * binding (about 0.2 µs each in Dawn for Node, several per op).
 */
export function deviceLimits(device: {limits: DeviceLimits}): DeviceLimits {
  let l = deviceLimitsCache.get(device);
  if (l == null) {
    const {maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupsPerDimension, maxComputeWorkgroupStorageSize} = device.limits;
    l = {maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupsPerDimension, maxComputeWorkgroupStorageSize};
    deviceLimitsCache.set(device, l);
  }
  return l;
}

/** The limits of `backend` (the active one by default). */
export function backendLimits(backend: KernelBackend = engine().backend): BackendLimits {
  const device = (backend as WithDevice).device;
  const limits = device?.limits != null ? deviceLimits(device) : null;
  const own = limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : Infinity;
  const flag = env().getNumber(MAX_BINDING_BYTES_FLAG);
  return {
    maxBindingBytes: flag > 0 ? Math.min(flag, own) : own,
    maxColumnStrips: limits ? limits.maxComputeWorkgroupsPerDimension : Infinity,
  };
}

/** Throws, naming the array, its size and the limit, when `bytes` do not fit in one binding. */
export function checkBindingBytes(name: string, bytes: number, limits: BackendLimits, advice = ''): void {
  if (bytes > limits.maxBindingBytes) {
    throw new Error(
        `SparseMatMul: ${name} takes ${bytes} bytes, over the ${limits.maxBindingBytes}-byte limit of one ` +
        `binding on this backend (maxStorageBufferBindingSize, or ${MAX_BINDING_BYTES_FLAG})${advice}`);
  }
}
