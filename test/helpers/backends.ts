/**
 * Runs a describe block once per TF.js backend that is present and has the `SparseMatMul` kernel.
 *
 * Whether a backend is present is only known asynchronously (WebGPU needs an adapter), while jasmine
 * collects describe blocks synchronously. So `describeEachBackend` declares one suite per candidate
 * backend, named `<name> [backend: <b>]`, and the runner calls `prepareBackends()` once every spec file
 * is loaded and before jasmine starts: it initialises each candidate and excludes, through jasmine's
 * spec filter, the suites of backends that are not present or lack the kernel. Excluded specs are
 * reported as skipped, with the reason printed once.
 */
import * as tf from '@tensorflow/tfjs-core';
import './setup';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {SUBGROUP_MIN_ROWS_FLAG, TILED_COST_SCALE_FLAG, TILED_MIN_ROWS_FLAG, TILED_TARGET_WORKGROUPS_FLAG} from '../../src/kernels/webgpu/sparse_mat_mul_plan';
import {warpSubgroups} from '../../src/kernels/webgpu/subgroups';

/** Backends that get a suite even when they are registered after a spec file is loaded. */
const KNOWN_BACKENDS = ['cpu', 'webgpu'];
const KERNEL = 'SparseMatMul';

function candidates(): string[] {
  const names = new Set(KNOWN_BACKENDS);
  for (const name of Object.keys(tf.engine().registryFactory)) names.add(name);
  return [...names];
}

function marker(backend: string): string {
  return `[backend: ${backend}]`;
}

/**
 * Declares `describe('<name> [backend: b]', ...)` for each candidate backend b. Inside, b is the active
 * backend (set in beforeAll, restored in afterAll).
 */
export function describeEachBackend(name: string, body: (backend: string) => void): void {
  for (const backend of candidates()) describeOn(`${name} ${marker(backend)}`, backend, {}, body);
}

type Flags = Record<string, number | boolean>;

/** `describe(title, ...)` with `backend` active and `flags` set inside, both restored after. */
function describeOn(title: string, backend: string, flags: Flags, body: (backend: string) => void): void {
  describe(title, () => {
    let previous = '';
    const before: Flags = {};
    beforeAll(async () => {
      previous = tf.getBackend();
      if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
      for (const [flag, value] of Object.entries(flags)) {
        before[flag] = tf.env().get(flag) as number | boolean;
        tf.env().set(flag, value);
      }
    });
    afterAll(async () => {
      for (const [flag, value] of Object.entries(before)) tf.env().set(flag, value);
      if (previous) await tf.setBackend(previous);
    });
    body(backend);
  });
}

/** Suites that run only where the skinny program has a subgroup form (subgroups of 32). */
const WITHOUT_SUBGROUPS = 'skinny program without subgroups';
const ALL_SUBGROUPS = 'skinny subgroup form for every M';

/**
 * The webgpu kernel's programs, each forced for every M through its flags: the skinny program runs for
 * few rows of x and the tiled one for many (sparse_mat_mul_plan.ts, preferTiled), so without this
 * most shapes would meet only one of them.
 */
const PROGRAM_SUITES: Array<{label: string, flags: Flags}> = [
  {label: 'tiled program for every M', flags: {[TILED_MIN_ROWS_FLAG]: 1, [TILED_COST_SCALE_FLAG]: 0, [TILED_TARGET_WORKGROUPS_FLAG]: 8}},
  // Where the skinny program has a subgroup form, the plain suite runs it from 2 rows per workgroup.
  {label: WITHOUT_SUBGROUPS, flags: {[SUBGROUP_MIN_ROWS_FLAG]: 1e9}},
  {label: ALL_SUBGROUPS, flags: {[SUBGROUP_MIN_ROWS_FLAG]: 1}},
];

/**
 * `describeEachBackend(name, body)`, plus one suite per webgpu program in PROGRAM_SUITES, named
 * `<name> [backend: webgpu] [<program>]`, with that program forced (and skipped with webgpu). Flags are
 * set in beforeAll and restored in afterAll; a spec that sets one of them itself overrides it.
 */
export function describeEachProgram(name: string, body: (backend: string) => void): void {
  describeEachBackend(name, body);
  if (!candidates().includes('webgpu')) return;
  for (const {label, flags} of PROGRAM_SUITES) describeOn(`${name} ${marker('webgpu')} [${label}]`, 'webgpu', flags, body);
}

/** What `prepareBackends()` found; empty before it ran. */
export const backendStatus: {available: string[], missing: Record<string, string>} = {available: [], missing: {}};

/**
 * Initialises every candidate backend, keeps those that work and have the kernel, and installs a spec
 * filter that excludes the suites of the others. Leaves 'cpu' active. Returns the available backends.
 */
export async function prepareBackends(env: jasmine.Env = jasmine.getEnv()): Promise<string[]> {
  const available: string[] = [];
  const missing: Record<string, string> = {};
  for (const backend of candidates()) {
    if (tf.findBackendFactory(backend) == null) {
      missing[backend] = 'not registered';
    } else if (tf.getKernel(KERNEL, backend) == null) {
      missing[backend] = `no ${KERNEL} kernel registered`;
    } else {
      let ok = false;
      try {
        ok = await tf.setBackend(backend);
      } catch (e) {
        missing[backend] = `failed to initialise: ${(e as Error).message}`;
        continue;
      }
      if (ok) available.push(backend);
      else missing[backend] = 'failed to initialise (no adapter?)';
    }
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  backendStatus.available = available;
  backendStatus.missing = missing;
  const excluded = Object.keys(missing).map(marker);
  const skipped = Object.entries(missing).map(([b, why]) => `${b} (${why})`);
  if (available.includes('webgpu')) {
    await tf.setBackend('webgpu');
    if (!warpSubgroups((tf.backend() as WebGPUBackend).device)) {
      excluded.push(`[${WITHOUT_SUBGROUPS}]`, `[${ALL_SUBGROUPS}]`);
      skipped.push(`the [${WITHOUT_SUBGROUPS}] and [${ALL_SUBGROUPS}] suites (no subgroups of 32 here)`);
    }
    await tf.setBackend('cpu');
  }
  const previousFilter = env.configuration().specFilter;
  env.configure({
    specFilter: (spec: jasmine.Spec) => {
      const name = spec.getFullName();
      if (excluded.some((m) => name.includes(m))) return false;
      return previousFilter ? previousFilter(spec) : true;
    },
  });
  console.log(`tfjs-sparse tests: backends ${available.join(', ')}${skipped.length ? `; skipping ${skipped.join(', ')}` : ''}`);
  return available;
}
