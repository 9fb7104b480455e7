// esbuild options for running the project's TypeScript in Node: shared by the demo, the Node test
// runner and eval:mnist. 'module' first, since tfjs's node builds drop their kernel registrations when
// bundled; the `webgpu` package (Dawn, a native addon) stays external; tfjs's Node code and the wasm
// backend's Emscripten loader expect CommonJS's require, __filename and __dirname.
export const nodeBundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  external: ['webgpu'],
  logLevel: 'warning',
  banner: {js: [
    `import {createRequire as __cr} from 'node:module';`,
    `import {fileURLToPath as __fu} from 'node:url';`,
    `import {dirname as __dn} from 'node:path';`,
    `const require = __cr(import.meta.url);`,
    `const __filename = __fu(import.meta.url);`,
    `const __dirname = __dn(__filename);`,
  ].join(' ')},
};
