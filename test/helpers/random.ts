/**
 * Seeded random numbers for tests. The run's seed comes from TEST_SEED (Node) or karma's client config
 * (browser), and scripts/test.sh picks a fresh one per run and prints it, so a failure can be replayed
 * with `TEST_SEED=<seed> npm test`. Each caller gets its own stream, keyed by a label, so one spec's
 * data do not depend on which other specs ran.
 */

interface SeedSources {
  process?: {env?: Record<string, string | undefined>};
  __karma__?: {config?: {tfjsSparseSeed?: string | number, tfjsSparseLong?: string}};
}

function runSeed(): number {
  const g = globalThis as unknown as SeedSources;
  const raw = g.__karma__?.config?.tfjsSparseSeed ?? g.process?.env?.TEST_SEED;
  if (raw !== undefined && raw !== '' && Number.isFinite(Number(raw))) return Number(raw) >>> 0;
  return (Date.now() ^ (Math.random() * 0x100000000)) >>> 0;
}

export const TEST_SEED = runSeed();

/** `npm run test:long` (TEST_LONG=1): property specs run ten times as many cases. */
export const TEST_LONG = (() => {
  const g = globalThis as unknown as SeedSources;
  return (g.__karma__?.config?.tfjsSparseLong ?? g.process?.env?.TEST_LONG ?? '') === '1';
})();

export function hash(s: string): number {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** A random stream: uniform in [0, 1), plus a few distributions. */
export class Rng {
  private state: number;
  constructor(label: string) {
    this.state = (hash(label) ^ TEST_SEED) >>> 0;
  }
  /** mulberry32. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** A nonzero value: normal, never exactly 0. */
  nonzero(): number {
    let v = 0;
    while (v === 0 || Math.fround(v) === 0) v = this.normal();
    return v;
  }
  /** n normal values. */
  normals(n: number, scale = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = scale * this.normal();
    return a;
  }
  /** A [K, N] row-major weight with each entry nonzero with probability 1 - sparsity. */
  sparse(K: number, N: number, sparsity: number, scale = 1): Float32Array {
    const a = new Float32Array(K * N);
    for (let i = 0; i < a.length; i++) if (this.next() >= sparsity) a[i] = scale * this.nonzero();
    return a;
  }
}

/** A fresh stream for `label` under this run's seed. */
export function rng(label: string): Rng {
  return new Rng(label);
}
