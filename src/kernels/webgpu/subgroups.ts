/**
 * Subgroups on webgpu: devices made with the feature, whether the programs may use WGSL subgroup
 * operations, and the directives that enable them.
 *
 * The skinny program puts the 32 columns of a tile across the 32 lanes of a warp, so its subgroup form
 * needs subgroups of exactly 32 invocations: the NVIDIA GPUs we measure on. SwiftShader's subgroups have 4
 * invocations, so it runs the workgroup-memory form.
 */

/** Invocations per subgroup that the subgroup programs are written for. */
const WARP = 32;

/**
 * The directives a program with subgroup operations starts with. The programs call them in loops whose
 * bounds are uniform per subgroup but not per workgroup, which WGSL's uniformity analysis cannot see.
 */
export const SUBGROUP_DIRECTIVES = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n';

interface SubgroupSizes {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

const warp = new WeakMap<GPUDevice, boolean>();

/**
 * Whether `device` was made with `subgroups` and its adapter's subgroups always have WARP invocations.
 * Read once per device: each query goes through the WebGPU binding, and every product asks.
 */
export function warpSubgroups(device: GPUDevice): boolean {
  let w = warp.get(device);
  if (w == null) {
    const info = (device as unknown as {adapterInfo?: SubgroupSizes}).adapterInfo;
    w = device.features.has('subgroups') && info?.subgroupMinSize === WARP && info?.subgroupMaxSize === WARP;
    warp.set(device, w);
  }
  return w;
}

/** What addSubgroups wraps: `navigator.gpu`, the browser's or Dawn's. */
export interface AdapterSource {
  requestAdapter(options?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
}

/**
 * Makes `gpu.requestAdapter` return adapters that add `subgroups` (where they have it) to every device they
 * make. Returns the function that undoes it.
 */
export function addSubgroups(gpu: AdapterSource): () => void {
  const requestAdapter = gpu.requestAdapter;
  gpu.requestAdapter = async (options) => {
    const adapter = await requestAdapter.call(gpu, options);
    if (adapter == null || !adapter.features.has('subgroups')) return adapter;
    const requestDevice = adapter.requestDevice;
    adapter.requestDevice = (d: GPUDeviceDescriptor = {}) => {
      const features = new Set<GPUFeatureName>(d.requiredFeatures ?? []);
      features.add('subgroups' as GPUFeatureName);
      return requestDevice.call(adapter, {...d, requiredFeatures: [...features]});
    };
    return adapter;
  };
  return () => {
    gpu.requestAdapter = requestAdapter;
  };
}
