/** Which candidate nodes of a GraphModel are pruned, at which sparsity, with their dense kernels. */
import type {io} from '@tensorflow/tfjs-core';
import {matchesPattern} from '../prune/patterns.js';
import type {GraphCandidate} from './graph_candidates.js';
import {floatValues, WeightEntry} from './weight_entries.js';

/** A node being converted: its candidate entry, dense [K, N] kernel and target sparsity. */
export interface Target {
  c: GraphCandidate;
  K: number;
  N: number;
  kernel: Float32Array;
  spec: io.WeightsManifestEntry;
  /** 0 until auto chooses, with auto sparsity. */
  sparsity: number;
}

/** How targets are chosen. */
export interface TargetRules {
  /** One sparsity, a map by node name, or 'auto' (chosen later). */
  sparsity: number | Record<string, number> | 'auto';
  skip: Array<string | RegExp>;
  minWeights: number;
}

export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/**
 * The targets, in the order of `candidates`, and the dense [K, N] kernel of every candidate with a
 * constant weight (the report counts the zeros of those left dense too). Candidates that stay dense get
 * their `reason`.
 */
export async function selectTargets(
    candidates: GraphCandidate[], weights: Map<string, WeightEntry>,
    rules: TargetRules): Promise<{targets: Target[], kernels: Map<string, Float32Array>}> {
  const map = typeof rules.sparsity === 'object' ? rules.sparsity : null;
  const targets: Target[] = [];
  const kernels = new Map<string, Float32Array>();
  for (const c of candidates) {
    if (c.shape == null) continue;
    const [K, N] = c.shape;
    const entry = weights.get(c.weight!)!;
    const stored = await floatValues(entry);
    const kernel = c.transposeW ? transpose2d(stored, N, K) : stored;
    kernels.set(c.node, kernel);
    if (c.reason != null) continue;
    if (rules.skip.some((p) => matchesPattern(c.node, p))) c.reason = 'skipped';
    else if (map != null && !(c.node in map)) c.reason = 'not in the sparsity map';
    else if (K * N < rules.minWeights && map == null) c.reason = `too small (${K * N} weights < minWeights ${rules.minWeights})`;
    else targets.push({c, K, N, kernel, spec: entry.spec, sparsity: map != null ? map[c.node] : rules.sparsity === 'auto' ? 0 : rules.sparsity as number});
  }
  return {targets, kernels};
}
