// Runs every test/**/*.spec.ts in Node: bundles them with esbuild (one ESM bundle; the Dawn setup first,
// the backend probe last) and runs the bundle with the jasmine package (--bundle-only: bundles only). Writes the counts to
// .tmp/results/node.json for scripts/test.sh and exits non-zero on any failure or if no spec ran.
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as esbuild from 'esbuild';
import Jasmine from 'jasmine';
import {nodeBundleOptions} from './node_bundle.mjs';
import {specCounter} from './spec_counts.mjs';

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

const {counts, durations, reporter: countsReporter} = specCounter('node: ');

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
const {passed, failed, skipped} = counts;
writeFileSync(resultFile, JSON.stringify({passed, failed, skipped, total: passed + failed + skipped}));
console.log(`node: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed === 0) console.log('node: no spec passed');
// Dawn keeps handles open; leave explicitly.
process.exit(failed > 0 || passed === 0 ? 1 : 0);
