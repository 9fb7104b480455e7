/**
 * fast-check properties as jasmine specs. Each property runs in chunks (one `it` per chunk, so no spec
 * nears the timeout and progress shows), every chunk seeded from the run's TEST_SEED and its label; a
 * failure names TEST_SEED (which replays it), the fast-check seed and path, and the shrunk counterexample.
 */
import fc from 'fast-check';
import {hash, TEST_LONG, TEST_SEED} from './random';

/** Cases per chunk: few enough that a chunk of slow cases (long mode's are bigger) stays far below the spec timeout. */
const CHUNK = TEST_LONG ? 10 : 25;

/**
 * A chunk's time limit, under the 60 s spec timeout: a failing chunk stops shrinking then and reports the
 * smallest counterexample so far; a chunk that runs out of time without a failure fails too, rather than
 * pass on fewer cases.
 */
const LIMIT_MS = 45000;

/**
 * Declares the `it` blocks that check `predicate` on `runs` cases drawn from `arb` (ten times as many
 * under TEST_LONG). `arb` may be a function, called when the cases run (after beforeAll). `predicate`
 * throws (or returns a message) for a counterexample.
 */
export function itHolds<T>(
    label: string, runs: number, arb: fc.Arbitrary<T> | (() => fc.Arbitrary<T>),
    predicate: (c: T) => Promise<string | null | void>): void {
  const total = TEST_LONG ? 10 * runs : runs;
  for (let first = 0; first < total; first += CHUNK) {
    const n = Math.min(CHUNK, total - first);
    it(`${label} (cases ${first + 1}-${first + n} of ${total})`, async () => {
      const seed = (hash(`${label} ${first}`) ^ TEST_SEED) | 0;
      const property = fc.asyncProperty(typeof arb === 'function' ? arb() : arb, async (c) => {
        const msg = await predicate(c);
        if (msg) throw new Error(msg);
      });
      const details = await fc.check(property, {seed, numRuns: n, interruptAfterTimeLimit: LIMIT_MS, markInterruptAsFailure: true});
      if (details.failed) {
        throw new Error(
            `${label}: property failed; replay with TEST_SEED=${TEST_SEED}${TEST_LONG ? ' TEST_LONG=1' : ''} ` +
            `(fast-check seed ${seed}, path ${details.counterexamplePath}).\n${String(details.errorInstance)}\n` +
            fc.defaultReportMessage(details));
      }
    });
  }
}
