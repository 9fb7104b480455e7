/**
 * One-shot magnitude against wanda at one sparsity, one layer at a time and both hidden layers, on the
 * cached dense model of scripts/mnist/eval.ts (run that first): the deviation of each pruned layer's
 * output on the calibration images (relative L2) and the test accuracy.
 *
 *   npm run eval:mnist -- --per-layer [--sparsity 0.9] [--calibration 2048]
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import {sparsifyModel, SparsifyOptions} from '../../src/index';
import {fileSystem} from '../../src/node/file_system';
import {loadMnist} from './data';
import {accuracy} from './mlp';

type NodeProcess = {argv: string[], cwd(): string, getBuiltinModule(id: string): unknown};
const proc = (globalThis as unknown as {process: NodeProcess}).process;
const path = proc.getBuiltinModule('node:path') as typeof import('node:path');
const arg = (name: string, fallback: string) => {
  const i = proc.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < proc.argv.length ? proc.argv[i + 1] : fallback;
};
const s = Number(arg('sparsity', '0.9'));
const calibrationSize = Number(arg('calibration', '2048'));

setWasmPaths(path.join(proc.cwd(), 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep);
await tf.setBackend('wasm');
const dense = await tfl.loadLayersModel(fileSystem(path.join(proc.cwd(), '.tmp', 'mnist', 'dense')));
const trainSet = loadMnist('train', calibrationSize), testSet = loadMnist('test');
const calibration = tf.tensor2d(trainSet.images, [calibrationSize, 784]);
console.log(`dense: ${(100 * await accuracy(dense, testSet)).toFixed(2)}%`);
console.log(`\n| pruned at ${100 * s}% | method | deviation of pruned layers' outputs | test accuracy |\n|---|---|---|---|`);
const cases: Array<[string, Record<string, number>]> = [['hidden1 only', {hidden1: s}], ['hidden2 only', {hidden2: s}], ['both', {hidden1: s, hidden2: s}]];
for (const [label, sparsity] of cases) {
  for (const [method, extra] of [['magnitude', {}], ['wanda', {method: 'wanda'}], ['wanda, sequential: false', {method: 'wanda', sequential: false}]] as const) {
    if (label !== 'both' && method === 'wanda, sequential: false') continue;
    const opts: SparsifyOptions = {sparsity, calibration, ...extra};
    const {model, report} = await sparsifyModel(dense, opts);
    const deviations = report.layers.filter((l) => l.sparse).map((l) => l.deviation!.toFixed(3)).join(' / ');
    console.log(`| ${label} | ${method} | ${deviations} | ${(100 * await accuracy(model, testSet)).toFixed(2)}% |`);
    model.dispose();
  }
}
calibration.dispose();
dense.dispose();
