/**
 * Whether the webgpu programs may use WGSL subgroup operations, and the directives that enable them.
 *
 * The skinny program puts the 32 columns of a tile across the 32 lanes of a warp, so its subgroup form
 * needs subgroups of exactly 32 invocations: the NVIDIA GPUs we measure on. SwiftShader's subgroups have 4
 * invocations, so it runs the workgroup-memory form.
 */
/** Invocations per subgroup that the subgroup programs are written for. */
export const WARP = 32;

/**
 * The directives a program with subgroup operations starts with. The programs call them in loops whose
 * bounds are uniform per subgroup but not per workgroup, which WGSL's uniformity analysis cannot see.
 */
export const SUBGROUP_DIRECTIVES = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n';

interface SubgroupSizes {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

/** Whether `device` was made with `subgroups` and its adapter's subgroups always have WARP invocations. */
export function warpSubgroups(device: GPUDevice): boolean {
  if (!device.features.has('subgroups')) return false;
  const info = (device as unknown as {adapterInfo?: SubgroupSizes}).adapterInfo;
  return info?.subgroupMinSize === WARP && info?.subgroupMaxSize === WARP;
}
