// A jasmine reporter that counts specs for a runner's closing line "N passed, N failed, N skipped":
// shared by the Node runner (scripts/run-node-tests.mjs) and the lent-GPU runner (bench/gpu_specs.ts).
// Errors outside specs (beforeAll / afterAll, outside any suite, an incomplete run) count as failures.

/** `counts.failed` includes those errors; `durations` is [ms, full name] per spec. */
export function specCounter(prefix) {
  const counts = {passed: 0, failed: 0, skipped: 0};
  const durations = [];
  const reporter = {
    specDone(r) {
      durations.push([r.duration ?? 0, r.fullName]);
      if (r.status === 'passed') counts.passed++;
      else if (r.status === 'failed') counts.failed++;
      else counts.skipped++;  // pending, excluded (a backend that is not present)
    },
    suiteDone(r) {
      if (r.failedExpectations.length > 0) counts.failed++;  // beforeAll / afterAll errors
    },
    jasmineDone(r) {
      counts.failed += r.failedExpectations.length;  // errors outside any suite
      if (r.overallStatus === 'incomplete') {
        console.log(`${prefix}run incomplete: ${r.incompleteReason}`);
        counts.failed++;
      }
    },
  };
  return {counts, durations, reporter};
}
