/**
 * MNIST accuracy of a pruned 784-512-512-10 MLP: dense, then at 50, 70 and 90% sparsity by magnitude,
 * by wanda, and by wanda plus one epoch of sparse fine-tuning (float32 values, then re-encoded to
 * float16 for the model that is measured). Runs on the wasm backend in Node; the SparseDense layers
 * run the cpu reference kernel there (registered for wasm too).
 *
 *   npm run eval:mnist -- [--epochs 3] [--ft-lr 5e-4] [--calibration 2048] [--min-weights 16384]
 *                         [--sparsities 0.5,0.7,0.9] [--retrain] [--train-examples 60000] [--test-examples 10000]
 *                         [--auto]
 *
 * --auto adds, for each sparsity s, wanda with `sparsity: {auto: s}` (a budget of s of all eligible
 * weights, spent where the calibration data say it costs least), one shot and fine-tuned.
 *
 * The trained dense model is cached in .tmp/mnist/dense (pass --retrain to train again). Prints a
 * markdown table and writes .tmp/mnist/results.json.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import {convertSparseValueType, sparsifyModel, SparsifyReport} from '../../src/index';
import {fileSystem} from '../../src/node/file_system';
import {loadMnist} from './data';
import {accuracy, makeMlp, tensors, train} from './mlp';

type NodeProcess = {argv: string[], cwd(): string, getBuiltinModule(id: string): unknown};
const proc = (globalThis as unknown as {process: NodeProcess}).process;
const fs = proc.getBuiltinModule('node:fs') as typeof import('node:fs');
const path = proc.getBuiltinModule('node:path') as typeof import('node:path');

function arg(name: string, fallback: string): string {
  const i = proc.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < proc.argv.length ? proc.argv[i + 1] : fallback;
}

const epochs = Number(arg('epochs', '3'));
const ftLearningRate = Number(arg('ft-lr', '5e-4'));
const calibrationSize = Number(arg('calibration', '2048'));
const minWeights = Number(arg('min-weights', '16384'));
const sparsities = arg('sparsities', '0.5,0.7,0.9').split(',').map(Number);
const retrain = proc.argv.includes('--retrain');
const withAuto = proc.argv.includes('--auto');
const trainExamples = Number(arg('train-examples', '60000'));
const testExamples = Number(arg('test-examples', '10000'));
const outDir = path.join(proc.cwd(), '.tmp', 'mnist');
const denseDir = path.join(outDir, trainExamples === 60000 ? 'dense' : `dense-${trainExamples}`);

const t0 = performance.now();
const log = (msg: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${msg}`);

setWasmPaths(path.join(proc.cwd(), 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep);
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
log(`backend ${tf.getBackend()}`);

const trainSet = loadMnist('train', trainExamples);
const testSet = loadMnist('test', testExamples);
log(`MNIST: ${trainSet.count} train, ${testSet.count} test`);
const {x: trainX, y: trainY} = tensors(trainSet);

let dense: tfl.LayersModel;
if (!retrain && fs.existsSync(path.join(denseDir, 'model.json'))) {
  dense = await tfl.loadLayersModel(fileSystem(denseDir));
  log(`dense model loaded from ${denseDir}`);
} else {
  dense = makeMlp([512, 512]);
  await train(dense, trainX, trainY, {epochs, learningRate: 1e-3});
  await dense.save(fileSystem(denseDir));
  log(`dense model trained (${epochs} epochs, Adam 1e-3, batch 128) and saved to ${denseDir}`);
}
const denseAccuracy = await accuracy(dense, testSet);
log(`dense: ${(100 * denseAccuracy).toFixed(2)}%`);

// Control: the dense model trained one more epoch with the fine-tuning schedule. Fine-tuning is also
// more training, so this is what a pruned and fine-tuned model should be compared with as well.
const control = await tfl.loadLayersModel(fileSystem(denseDir));
await train(control, trainX, trainY, {epochs: 1, learningRate: ftLearningRate});
const controlAccuracy = await accuracy(control, testSet);
control.dispose();
log(`dense + 1 epoch (Adam ${ftLearningRate}): ${(100 * controlAccuracy).toFixed(2)}%`);

// Calibration: the first examples of the training set.
const calibration = tf.tensor2d(trainSet.images.subarray(0, calibrationSize * 784), [calibrationSize, 784]);

interface Row {
  sparsity: number;
  method: string;
  accuracy: number;
  /** Zeros over all three kernels. */
  modelSparsity: number;
  bytesBefore: number;
  bytesAfter: number;
  outputDeviation: number | null;
  seconds: number;
}
const rows: Row[] = [];

function row(sparsity: number, method: string, acc: number, report: SparsifyReport, started: number): Row {
  const r: Row = {
    sparsity, method, accuracy: acc, modelSparsity: report.sparsity, bytesBefore: report.bytesBefore,
    bytesAfter: report.bytesAfter, outputDeviation: report.outputDeviation, seconds: (performance.now() - started) / 1000,
  };
  rows.push(r);
  log(`${(100 * sparsity).toFixed(0)}% ${method}: ${(100 * acc).toFixed(2)}% (all kernels ${(100 * r.modelSparsity).toFixed(1)}% zero, ` +
      `${r.bytesBefore} → ${r.bytesAfter} bytes, output deviation ${r.outputDeviation?.toFixed(4) ?? 'n/a'}, ${r.seconds.toFixed(0)} s)`);
  return r;
}

for (const s of sparsities) {
  let started = performance.now();
  const magnitude = await sparsifyModel(dense, {sparsity: s, minWeights, calibration});
  row(s, 'magnitude', await accuracy(magnitude.model, testSet), magnitude.report, started);
  magnitude.model.dispose();

  started = performance.now();
  const wanda = await sparsifyModel(dense, {sparsity: s, method: 'wanda', minWeights, calibration});
  row(s, 'wanda', await accuracy(wanda.model, testSet), wanda.report, started);
  wanda.model.dispose();

  // Fine-tune float32 values (f16 would round away small updates), then store f16 as for inference.
  started = performance.now();
  const trainable = await sparsifyModel(dense, {sparsity: s, method: 'wanda', minWeights, calibration, valueType: 'float32'});
  await train(trainable.model, trainX, trainY, {epochs: 1, learningRate: ftLearningRate});
  const tuned = await convertSparseValueType(trainable.model, 'float16');
  trainable.model.dispose();
  // Same bitmap, value type and bytes as the wanda row: fine-tuning changes only the values.
  row(s, 'wanda + 1 epoch fine-tuning', await accuracy(tuned, testSet), {...wanda.report, outputDeviation: null}, started);
  tuned.dispose();

  if (withAuto) {
    started = performance.now();
    const auto = await sparsifyModel(dense, {sparsity: {auto: s}, method: 'wanda', minWeights, calibration});
    const perLayer = auto.report.layers.map((l) => `${l.name} ${(100 * l.sparsity).toFixed(1)}%`).join(', ');
    row(s, `wanda, auto budget (${perLayer})`, await accuracy(auto.model, testSet), auto.report, started);
    auto.model.dispose();
    // The same allocation and mask (both are deterministic), with float32 values to fine-tune.
    started = performance.now();
    const trainableAuto = await sparsifyModel(dense, {sparsity: {auto: s}, method: 'wanda', minWeights, calibration, valueType: 'float32'});
    await train(trainableAuto.model, trainX, trainY, {epochs: 1, learningRate: ftLearningRate});
    const autoTuned = await convertSparseValueType(trainableAuto.model, 'float16');
    trainableAuto.model.dispose();
    row(s, 'wanda, auto budget + 1 epoch fine-tuning', await accuracy(autoTuned, testSet), {...auto.report, outputDeviation: null}, started);
    autoTuned.dispose();
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const points = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;
console.log('\n| sparsity (per pruned layer) | method | test accuracy | Δ vs dense | zeros, all kernels | kernel bytes |');
console.log('|---|---|---|---|---|---|');
console.log(`| 0% | dense | ${pct(denseAccuracy)} | | 0% | ${rows[0]?.bytesBefore ?? ''} |`);
console.log(`| 0% | dense + 1 epoch (control) | ${pct(controlAccuracy)} | ${points(controlAccuracy - denseAccuracy)} | 0% | ${rows[0]?.bytesBefore ?? ''} |`);
for (const r of rows) {
  console.log(`| ${(100 * r.sparsity).toFixed(0)}% | ${r.method} | ${pct(r.accuracy)} | ${points(r.accuracy - denseAccuracy)} | ` +
      `${(100 * r.modelSparsity).toFixed(1)}% | ${r.bytesAfter} |`);
}
fs.mkdirSync(outDir, {recursive: true});
fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({
  denseAccuracy, controlAccuracy, epochs, ftLearningRate, calibrationSize, minWeights, trainExamples, testExamples, rows,
}, null, 2));
log(`wrote ${path.join(outDir, 'results.json')}`);
tf.dispose([trainX, trainY, calibration]);
dense.dispose();
