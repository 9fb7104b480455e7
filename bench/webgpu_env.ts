/**
 * WebGPU for Node (Dawn, npm package `webgpu`). Import this module before anything that imports
 * @tensorflow/tfjs-backend-webgpu: that package checks `navigator.gpu` when it loads.
 *
 * Dawn quantizes timestamp queries by default (the `timestamp_quantization` toggle). On SwiftShader the
 * raw timestamps then move in steps of 65,536 ns, which makes per-kernel timing of µs-scale kernels
 * meaningless, so it is turned off here. Extra Dawn flags: env BENCH_DAWN_FLAGS, space-separated, e.g.
 * `BENCH_DAWN_FLAGS='enable-dawn-features=allow_unsafe_apis'`.
 */
import {create, globals} from 'webgpu';

Object.assign(globalThis, globals);

function mergeDawnFlags(flags: string[]): string[] {
  // Dawn reads each `key=value` once, so merge the lists of repeated feature keys.
  const lists = new Map<string, string[]>();
  const other: string[] = [];
  for (const f of flags) {
    const m = /^((?:enable|disable)-dawn-features)=(.*)$/.exec(f);
    if (m) {
      const list = lists.get(m[1]!) ?? [];
      list.push(...m[2]!.split(',').filter(Boolean));
      lists.set(m[1]!, list);
    } else {
      other.push(f);
    }
  }
  return [...other, ...[...lists].map(([k, v]) => `${k}=${[...new Set(v)].join(',')}`)];
}

export const dawnFlags = mergeDawnFlags([
  'disable-dawn-features=timestamp_quantization',
  ...(process.env.BENCH_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean),
]);

export const gpu: GPU = create(dawnFlags);

Object.defineProperty(globalThis, 'navigator', {value: {gpu}, configurable: true, writable: true});
