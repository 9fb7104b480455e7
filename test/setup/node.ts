/**
 * Node only, imported first in the Node spec bundle (before tfjs-backend-webgpu, which registers
 * `webgpu` only if `navigator.gpu` exists when it loads): exposes Dawn's WebGPU (npm `webgpu`) as
 * `navigator.gpu` when it can give an adapter. scripts/test.sh points Dawn at Chromium's SwiftShader
 * through VK_ICD_FILENAMES. Set TFJS_SPARSE_WEBGPU=0 to test cpu only.
 */
if (process.env.TFJS_SPARSE_WEBGPU === '0') {
  console.log('tfjs-sparse tests: WebGPU disabled by TFJS_SPARSE_WEBGPU=0');
} else {
  try {
    const {create, globals} = await import('webgpu');
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (adapter) {
      Object.assign(globalThis, globals);
      Object.defineProperty(globalThis, 'navigator', {value: {gpu}, configurable: true, writable: true});
    } else {
      console.log('tfjs-sparse tests: Dawn found no WebGPU adapter; webgpu is not tested in Node');
    }
  } catch (e) {
    console.log(`tfjs-sparse tests: Dawn (npm webgpu) did not load, webgpu is not tested in Node: ${(e as Error).message}`);
  }
}
export {};
