// npm run eval:mnist -- [options]: bundles scripts/mnist/eval.ts with esbuild and runs it in this process
// (options are documented there). Output: a markdown table on stdout and .tmp/mnist/results.json.
// With --per-layer it runs scripts/mnist/per_layer.ts instead (magnitude against wanda, layer by layer).
import {mkdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import * as esbuild from 'esbuild';
import {nodeBundleOptions} from './node_bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = process.argv.includes('--per-layer') ? 'per_layer' : 'eval';
const outfile = join(root, '.tmp', 'mnist', `${entry}.mjs`);
mkdirSync(dirname(outfile), {recursive: true});
await esbuild.build({
  ...nodeBundleOptions,
  entryPoints: [join(root, 'scripts', 'mnist', `${entry}.ts`)],
  outfile,
});
await import(pathToFileURL(outfile).href);
