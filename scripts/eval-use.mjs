// npm run eval:use -- [options]: bundles scripts/use/eval.ts with esbuild and runs it in this process
// (options are documented there). Output: a markdown table on stdout and .tmp/use-eval/results.json.
import {mkdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import * as esbuild from 'esbuild';
import {nodeBundleOptions} from './node_bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, '.tmp', 'use-eval', 'eval.mjs');
mkdirSync(dirname(outfile), {recursive: true});
await esbuild.build({...nodeBundleOptions, entryPoints: [join(root, 'scripts', 'use', 'eval.ts')], outfile});
await import(pathToFileURL(outfile).href);
