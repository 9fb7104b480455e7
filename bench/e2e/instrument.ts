/**
 * Counting and labelling what a decode step runs, for the e2e bench: TF.js ops (engine kernel calls),
 * GPU dispatches (webgpu programs run), and which dispatches come from a projection (the matmuls the
 * sparse format replaces). Hooks are installed only inside a window and removed after it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {Projection} from '../../src/index.js';
import type {DecoderParams} from './params.js';

/** One GPU dispatch: the program's class and whether a projection ran it. */
export interface DispatchLabel {
  program: string;
  projection: boolean;
}

export interface Counts {
  /** Engine kernel calls (every TF.js op, including reshapes that dispatch nothing). */
  kernels: number;
  /** GPU dispatches. */
  dispatches: number;
  /** Dispatches made inside a projection. */
  projectionDispatches: number;
  /** Kernel calls by kernel name. */
  byKernel: Record<string, number>;
}

/** The projections of a model in the order a decode step applies them. */
export function projectionsInOrder(p: DecoderParams): Projection[] {
  return [...p.layers.flatMap((l) => [l.qkv, l.o, l.up, l.down]), p.head];
}

export class Instruments {
  private depth = 0;

  constructor(private readonly projections: Projection[]) {}

  /** Runs f with every kernel call and dispatch counted. */
  count<T>(f: () => T): {value: T; counts: Counts} {
    const counts: Counts = {kernels: 0, dispatches: 0, projectionDispatches: 0, byKernel: {}};
    const engine = tf.engine();
    const runKernel = engine.runKernel;
    engine.runKernel = function(this: typeof engine, ...args: Parameters<typeof runKernel>) {
      counts.kernels++;
      counts.byKernel[args[0]] = (counts.byKernel[args[0]] ?? 0) + 1;
      return runKernel.apply(this, args);
    } as typeof runKernel;
    try {
      const {value} = this.label(f, (l) => {
        counts.dispatches++;
        if (l.projection) counts.projectionDispatches++;
      });
      return {value, counts};
    } finally {
      engine.runKernel = runKernel;
    }
  }

  /**
   * Runs f, calling `onDispatch` for every GPU dispatch in the order they are recorded. Dispatches are
   * seen at the compute pass (tfjs-sparse's kernels record repeated dispatches themselves, not through
   * runWebGPUProgram), and named by their pipeline's label, which TF.js sets to the program's class.
   */
  label<T>(f: () => T, onDispatch: (l: DispatchLabel) => void): {value: T} {
    const proto = (globalThis as unknown as {GPUComputePassEncoder: {prototype: GPUComputePassEncoder}}).GPUComputePassEncoder.prototype;
    const {setPipeline, dispatchWorkgroups} = proto;
    const saved = this.projections.map((p) => ({apply: p.apply, applyActivated: p.applyActivated}));
    let program = '';
    const depth = () => this.depth;
    proto.setPipeline = function(this: GPUComputePassEncoder, pipeline: GPUComputePipeline) {
      program = pipeline.label;
      return setPipeline.call(this, pipeline);
    };
    proto.dispatchWorkgroups = function(this: GPUComputePassEncoder, ...args: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) {
      onDispatch({program, projection: depth() > 0});
      return dispatchWorkgroups.apply(this, args);
    };
    const inside = <A extends unknown[], R>(g: (...a: A) => R) => (...a: A): R => {
      this.depth++;
      try {
        return g(...a);
      } finally {
        this.depth--;
      }
    };
    this.projections.forEach((p, i) => Object.assign(p, {apply: inside(saved[i]!.apply), applyActivated: inside(saved[i]!.applyActivated)}));
    try {
      return {value: f()};
    } finally {
      proto.setPipeline = setPipeline;
      proto.dispatchWorkgroups = dispatchWorkgroups;
      this.projections.forEach((p, i) => Object.assign(p, saved[i]!));
    }
  }
}
