// npm run eval:mnist -- [options]: bundles scripts/mnist/eval.ts with esbuild and runs it in this process
// (options are documented there). Output: a markdown table on stdout and .tmp/mnist/results.json.
// With --per-layer it runs scripts/mnist/per_layer.ts instead (magnitude against wanda, layer by layer).
import {mkdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = process.argv.includes('--per-layer') ? 'per_layer' : 'eval';
const outfile = join(root, '.tmp', 'mnist', `${entry}.mjs`);
mkdirSync(dirname(outfile), {recursive: true});
await esbuild.build({
  entryPoints: [join(root, 'scripts', 'mnist', `${entry}.ts`)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  external: ['webgpu'],
  // tfjs-backend-wasm's Emscripten loader expects CommonJS globals in Node.
  banner: {js: [
    `import {createRequire as __cr} from 'node:module';`,
    `import {fileURLToPath as __fu} from 'node:url';`,
    `import {dirname as __dn} from 'node:path';`,
    `const require = __cr(import.meta.url);`,
    `const __filename = __fu(import.meta.url);`,
    `const __dirname = __dn(__filename);`,
  ].join(' ')},
  outfile,
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
