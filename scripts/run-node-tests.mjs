// Runs every test/**/*.spec.ts in Node: bundles them with esbuild (one ESM bundle; the Dawn setup first,
// the backend probe last) and runs the bundle with the jasmine package (--bundle-only: bundles only). Writes the counts to
// .tmp/results/node.json for scripts/test.sh and exits non-zero on any failure or if no spec ran.
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import Jasmine from 'jasmine';
import {nodeBundleOptions} from './node_bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, '.test-build', 'node');
const resultFile = join(root, '.tmp', 'results', 'node.json');

// Every test/**/*.spec.ts (the same list as karma.conf.js), filtered by $TEST_FILTER (a regex).
function specFiles() {
  const filter = process.env.TEST_FILTER ? new RegExp(process.env.TEST_FILTER) : null;
  return readdirSync(join(root, 'test'), {recursive: true})
      .map((f) => String(f).split('\\').join('/'))
      .filter((f) => f.endsWith('.spec.ts') && (!filter || filter.test(`test/${f}`)))
      .sort()
      .map((f) => `./test/${f}`);
}

const specs = specFiles();
const entry = [
  `import './test/setup/node.ts';`,
  `import './test/helpers/setup.ts';`,
  ...specs.map((f) => `import '${f}';`),
  `import './test/setup/node_finish.ts';`,
].join('\n');

mkdirSync(outDir, {recursive: true});
mkdirSync(dirname(resultFile), {recursive: true});
const t0 = performance.now();
await esbuild.build({
  stdin: {contents: entry, resolveDir: root, sourcefile: 'node-spec-entry.ts', loader: 'ts'},
  ...nodeBundleOptions,
  outfile: join(outDir, 'specs.mjs'),
  sourcemap: 'linked',
});
console.log(`node: bundled ${specs.length} spec files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
// bench/gpu_specs.sh takes the bundle to the lent GPU.
if (process.argv.includes('--bundle-only')) process.exit(0);
process.setSourceMapsEnabled(true);

const counts = {passed: 0, failed: 0, skipped: 0, errors: 0};
const durations = [];
const countsReporter = {
  specDone(r) {
    durations.push([r.duration ?? 0, r.fullName]);
    if (r.status === 'passed') counts.passed++;
    else if (r.status === 'failed') counts.failed++;
    else counts.skipped++;  // pending, excluded (a backend that is not present)
  },
  suiteDone(r) {
    if (r.failedExpectations.length > 0) counts.errors++;  // beforeAll / afterAll errors
  },
  jasmineDone(r) {
    counts.errors += r.failedExpectations.length;  // errors outside any suite
    if (r.overallStatus === 'incomplete') {
      console.log(`node: run incomplete: ${r.incompleteReason}`);
      counts.errors++;
    }
  },
};

const runner = new Jasmine({projectBaseDir: root});
runner.exitOnCompletion = false;
runner.loadConfig({
  spec_dir: relative(root, outDir),
  spec_files: ['specs.mjs'],
  random: false,
  jsLoader: 'import',
});
runner.configureDefaultReporter({showColors: process.stdout.isTTY === true});
runner.env.addReporter(countsReporter);
await runner.execute();

if (process.env.TEST_TIMES) {
  durations.sort((a, b) => b[0] - a[0]);
  for (const [ms, name] of durations.slice(0, Number(process.env.TEST_TIMES) || 15)) console.log(`${String(ms).padStart(6)} ms  ${name}`);
}
const failed = counts.failed + counts.errors;
const total = counts.passed + failed + counts.skipped;
writeFileSync(resultFile, JSON.stringify({...counts, failed, total}));
console.log(`node: ${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped`);
if (counts.passed === 0) console.log('node: no spec passed');
// Dawn keeps handles open; leave explicitly.
process.exit(failed > 0 || counts.passed === 0 ? 1 : 0);
