/**
 * Auto sparsity's budget allocation: given, for each layer, the model's output deviation when that layer
 * alone is pruned to each level, raise one layer at a time, always the one whose next level costs the
 * least deviation per dropped weight, until `budget` of all the layers' weights are dropped.
 */

/** Default sparsity levels a layer may get. */
export const DEFAULT_LEVELS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/** The levels to try: distinct, above 0, ascending; throws if none is left or one is out of [0, 1]. */
export function autoLevels(given: number[] | undefined, what: string): number[] {
  const all = given ?? DEFAULT_LEVELS;
  for (const l of all) {
    if (typeof l !== 'number' || !(l >= 0 && l <= 1)) throw new Error(`${what}: an auto level must be a number in [0, 1], got ${String(l)}`);
  }
  const levels = [...new Set(all)].filter((l) => l > 0).sort((a, b) => a - b);
  if (levels.length === 0) throw new Error(`${what}: auto needs at least one level above 0`);
  return levels;
}

/**
 * `cost.get(name)[i]` is the deviation with layer `name` alone at `levels[i]`; `size(name)` its weight
 * count. Returns each layer's sparsity (0: stays dense). It may overshoot the budget by part of one step.
 */
export function allocateLevels(
    names: string[], size: (name: string) => number, levels: number[], cost: Map<string, number[]>,
    budget: number): Map<string, number> {
  const total = names.reduce((a, n) => a + size(n), 0);
  const level = new Map(names.map((n) => [n, -1]));
  let dropped = 0;
  while (dropped < budget * total - 0.5) {
    let best: string | null = null, bestCost = Infinity;
    for (const name of names) {
      const i = level.get(name)!;
      if (i + 1 >= levels.length) continue;
      const s0 = i < 0 ? 0 : levels[i], d0 = i < 0 ? 0 : cost.get(name)![i];
      // Weights dropped past the budget buy nothing: near the end, a small step that just reaches
      // it beats a big one that overshoots.
      const gain = Math.min((levels[i + 1] - s0) * size(name), budget * total - dropped);
      const c = Math.max(0, cost.get(name)![i + 1] - d0) / gain;
      if (c < bestCost) {
        bestCost = c;
        best = name;
      }
    }
    if (best == null) break;
    const i = level.get(best)!;
    dropped += (levels[i + 1] - (i < 0 ? 0 : levels[i])) * size(best);
    level.set(best, i + 1);
  }
  return new Map(names.map((n) => [n, level.get(n)! < 0 ? 0 : levels[level.get(n)!]]));
}
