/**
 * Makes TF.js's webgpu backend create its device with the `subgroups` feature where the adapter has it.
 *
 * tfjs-backend-webgpu's own factory asks for timestamp-query and bgra8unorm-storage only, and WGSL
 * subgroup operations fail to compile on a device made without `subgroups`. So, at import, while the
 * webgpu backend is registered but not yet created, this wraps its factory: while it runs, adapters from
 * `navigator.gpu` add `subgroups` to the device they make. A backend that already exists, or a factory
 * the application registers later, is left alone.
 */
import {engine} from '@tensorflow/tfjs-core';
import {addSubgroups} from './subgroups.js';

/** Wraps the registered, not yet created webgpu backend's factory; returns whether it did. */
export function requestSubgroups(): boolean {
  const e = engine();
  const entry = e.registryFactory['webgpu'];
  const gpu = typeof navigator === 'undefined' ? undefined : navigator.gpu;
  if (entry == null || 'webgpu' in e.registry || gpu == null) return false;
  const factory = entry.factory;
  // TF.js 4.x's factory asks for its adapter before its first await, so the wrapper is in place for that
  // call and no other.
  entry.factory = () => {
    const restore = addSubgroups(gpu);
    try {
      return factory();
    } finally {
      restore();
    }
  };
  return true;
}
