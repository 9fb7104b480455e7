/**
 * Runs the Node spec bundle on the lent GPU, so that every webgpu spec (run on SwiftShader by
 * `npm test`) also runs on a real adapter, with its larger limits. The bundle is the one `npm test`
 * builds here (.test-build/node/specs.mjs); bench/gpu_specs.sh builds it and this runner, and says how
 * to run both there. jasmine-core is booted directly: the jasmine CLI package finds its files through
 * __dirname, which a bundle does not have. Prints failures and the closing line "N passed, N failed,
 * N skipped"; exits non-zero on a failure.
 */
import {resolve} from 'node:path';
import {pathToFileURL} from 'node:url';
// @ts-expect-error: jasmine-core ships no types for its core file.
import jasmineRequire from 'jasmine-core/lib/jasmine-core/jasmine.js';
// @ts-expect-error: nor for its Node boot.
import boot from 'jasmine-core/lib/jasmine-core/node_boot.js';
import {specCounter} from '../scripts/spec_counts.mjs';

interface Expectation {message: string; stack?: string}
interface Result {fullName: string; status: string; failedExpectations: Expectation[]}

const jasmine = (boot as (r: unknown) => {getEnv(): {
  configure(c: object): void; addReporter(r: object): void; execute(): Promise<unknown>;
}})(jasmineRequire);
const env = jasmine.getEnv();
env.configure({random: false});
const {counts, reporter} = specCounter('');
env.addReporter(reporter);
// Failures are printed as they come: the jasmine package's console reporter is not in the bundle.
env.addReporter({
  specDone: (r: Result) => r.status === 'failed' && failure(r),
  suiteDone: (r: Result) => r.failedExpectations.length > 0 && failure(r),
});
function failure(r: Result): void {
  console.log(`FAILED: ${r.fullName}`);
  for (const e of r.failedExpectations) console.log(`  ${e.message}`);
}
await import(pathToFileURL(resolve('.test-build/node/specs.mjs')).href);
const adapter = await (globalThis as {navigator?: {gpu?: GPU}}).navigator?.gpu?.requestAdapter();
console.log(`adapter: ${adapter ? `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}` : 'none (webgpu specs skipped)'}`);
await env.execute();
console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(counts.failed > 0 || counts.passed === 0 ? 1 : 0);
