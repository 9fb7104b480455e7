/**
 * Fails a spec when the WebGPU device reported an error during it. TF.js does not check its pipelines:
 * a shader that fails to compile, or that asks for more than the device's limits, leaves its output
 * unwritten and says nothing (the 16-row skinny program once needed 16,388 B of workgroup memory on a
 * 16,384-B device, and every product with M > 8 returned zeros). The device's `uncapturederror` event
 * is the one place such errors surface.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

const watched = new WeakSet<GPUDevice>();
const errors: string[] = [];

function watch(): GPUDevice | null {
  if (!tf.engine().registryFactory.webgpu) return null;
  // The engine's registry holds only backends already initialised (findBackend would start one).
  const backend = tf.engine().registry.webgpu as WebGPUBackend | undefined;
  const device = backend?.device;
  if (device == null) return null;
  if (!watched.has(device)) {
    watched.add(device);
    device.addEventListener('uncapturederror', (e: Event) => {
      errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
  }
  return device;
}

beforeEach(() => {
  watch();
});

afterEach(async () => {
  const device = watch();
  // Validation errors are reported asynchronously; let the queue drain first.
  if (device != null) await device.queue.onSubmittedWorkDone();
  if (errors.length > 0) {
    const messages = errors.splice(0);
    fail(`the WebGPU device reported ${messages.length} error(s): ${messages.slice(0, 3).join(' | ')}`);
  }
});
