/**
 * `tfjs-sparse/node`: the package for Node. Import it before @tensorflow/tfjs-backend-webgpu: when the
 * npm package `webgpu` (Dawn) is installed, it exposes it as `navigator.gpu` so that the `webgpu`
 * backend registers. It adds {@link fileSystem}, an IOHandler that saves and loads model.json plus
 * weights.bin (tfjs-node, whose `file://` handler does this, cannot be installed everywhere), and
 * re-exports everything of the main entry.
 *
 * @packageDocumentation
 */
// First: it must run before anything imports tfjs-backend-webgpu.
export {dawnStatus} from './node/webgpu_setup.js';
export type {DawnStatus} from './node/webgpu_setup.js';
export {fileSystem} from './node/file_system.js';
export * from './index.js';
