/**
 * npm run eval:use -- [options]: how much of USE-lite's quality survives conversion.
 *
 * 1. Embeds a fixed IMDB split (default 2000 train, 1000 test reviews) and held-out Moby Dick sentences
 *    with the dense model, and trains a logistic-regression head on the dense train embeddings (λ chosen
 *    on a fifth of the train set). Dense embeddings are cached under .tmp/use-eval/.
 * 2. For each method × sparsity, converts the model with sparsifyGraphModel (calibrated on Moby Dick
 *    passages of about 128 tokens, or sentences, from chapters 1–67), saves it under
 *    .tmp/use-eval/models/, and measures the dense head's
 *    accuracy on the converted model's test embeddings, the mean cosine similarity of its held-out
 *    sentence embeddings to the dense ones, and the size of the model directory.
 *
 * The test embeddings of a converted model come from its dense twin (scripts/use/twin.ts: the dense
 * graph fed with exactly the decoded sparse weights), because tfjs-sparse's SparseMatMul runs on wasm as
 * the JS reference kernel, far slower than wasm's dense matmul. Every row also runs the converted model
 * itself (tf.loadGraphModel of the saved directory) on --check held-out sentences and reports its
 * largest difference from the twin.
 *
 * Auto rows: the per-node measurements of the first auto run of a method are kept in
 * .tmp/use-eval/results/sensitivity-*.json, and the other budgets are allocated from them
 * (allocateLevels, as sparsifyGraphModel does), then converted with that per-node sparsity map: the
 * same model as running auto again, without measuring again. Its convert time excludes the measuring.
 *
 * Options: --train N --test N --calib N (calibration texts, default 128)
 *   --calib-texts passages|sentences|imdb (imdb: the last train reviews, in-domain, for comparison)
 *   --heldout N --check N --batch N
 *   --sparsities 0.3,0.5,0.7 --methods magnitude,wanda,auto,sparsegpt,auto-sparsegpt
 *   --levels 0.1,0.2,... (auto's levels) --fresh (recompute rows cached in .tmp/use-eval/results).
 * Output: a markdown table on stdout and .tmp/use-eval/results.json (docs/results/use-lite.json is a copy
 * of the run docs/accuracy.md reports, which the demo reads).
 */
import {existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {loadGraphModel} from '@tensorflow/tfjs-converter';
import {sparsifyGraphModel} from '../../src/graph';
import type {GraphSparsifyOptions, PruneMethod} from '../../src/graph';
import {allocateLevels} from '../../src/prune/allocate';
import {fileSystem} from '../../src/node/file_system';
import {calibrationPassages, calibrationSentences, heldOutSentences, imdbSplit} from './data';
import {DIM, meanCosine, MODEL_DIR, UseEncoder} from './encoder';
import {accuracy, correct, fitLogistic} from './logistic';
import {twinOverrides} from './twin';

const root = process.cwd();
const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const TRAIN = Number(opt('train', '2000'));
const TEST = Number(opt('test', '1000'));
const CALIB = Number(opt('calib', '128'));
const CALIB_TEXTS = opt('calib-texts', 'passages');
const HELDOUT = Number(opt('heldout', '256'));
const CHECK = Number(opt('check', '8'));
const BATCH = Number(opt('batch', '16'));
const SPARSITIES = opt('sparsities', '0.3,0.5,0.7').split(',').map(Number);
const METHODS = opt('methods', 'magnitude,wanda,auto,sparsegpt,auto-sparsegpt').split(',');
const LEVELS = opt('levels', '').split(',').filter((s) => s !== '').map(Number);
const FRESH = args.includes('--fresh');
const OUT = join(root, '.tmp', 'use-eval');

setWasmPaths(join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist') + '/');
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
const log = (s: string) => process.stderr.write(`${s}\n`);
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(0);

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

const encoder = new UseEncoder(root);
const {train, test} = imdbSplit(root, TRAIN, TEST);
const heldOut = heldOutSentences(root, HELDOUT);
// IMDB calibration (in-domain, for comparison) takes the last train reviews: never the test split.
const calibTexts = CALIB_TEXTS === 'passages' ? calibrationPassages(root, CALIB) : CALIB_TEXTS === 'sentences' ?
  calibrationSentences(root, CALIB) : train.slice(-CALIB).map((r) => r.text);
const denseArtifacts = await fileSystem(join(root, MODEL_DIR, 'model.json')).load!();
const dense = await loadGraphModel(tf.io.fromMemory(denseArtifacts));
const denseBytes = dirBytes(join(root, MODEL_DIR)) - statSync(join(root, MODEL_DIR, 'vocab.json')).size -
    statSync(join(root, MODEL_DIR, 'index.js')).size - statSync(join(root, MODEL_DIR, 'index.d.ts')).size;

// 1. Dense embeddings, cached.
mkdirSync(join(OUT, 'results'), {recursive: true});
const cacheFile = join(OUT, `dense-${TRAIN}-${TEST}-${HELDOUT}.f32`);
let denseAll: Float32Array;
if (existsSync(cacheFile)) {
  const b = readFileSync(cacheFile);
  denseAll = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  log(`dense embeddings: read ${cacheFile}`);
} else {
  const t0 = performance.now();
  const texts = [...train, ...test].map((r) => r.text).concat(heldOut);
  denseAll = await encoder.embed(dense, texts, {batchSize: BATCH, onBatch: (d) => {
    if (d % 256 < BATCH) log(`  dense: ${d}/${texts.length} (${seconds(t0)} s)`);
  }});
  writeFileSync(cacheFile, new Uint8Array(denseAll.buffer));
  log(`dense embeddings: ${texts.length} texts in ${seconds(t0)} s`);
}
const denseTrain = denseAll.subarray(0, TRAIN * DIM);
const denseTest = denseAll.subarray(TRAIN * DIM, (TRAIN + TEST) * DIM);
const denseHeld = denseAll.subarray((TRAIN + TEST) * DIM);
const yTrain = train.map((r) => r.label), yTest = test.map((r) => r.label);

// 2. The head: λ picked on the last fifth of the train set, then fitted on all of it.
const cut = Math.floor(TRAIN * 0.8);
let bestLambda = 1, bestAcc = -1;
for (const lambda of [0.01, 0.1, 1, 10]) {
  const h = fitLogistic(denseTrain.subarray(0, cut * DIM), yTrain.slice(0, cut), DIM, lambda);
  const a = accuracy(h, denseTrain.subarray(cut * DIM), yTrain.slice(cut));
  if (a > bestAcc) [bestAcc, bestLambda] = [a, lambda];
}
const head = fitLogistic(denseTrain, yTrain, DIM, bestLambda);
const denseAcc = accuracy(head, denseTest, yTest);
log(`head: λ = ${bestLambda}; dense test accuracy ${(100 * denseAcc).toFixed(1)}%`);

interface Row {
  method: string;
  target: number;
  sparsity: number;
  accuracy: number;
  cosine: number;
  bytes: number;
  ratio: number;
  convertSeconds: number;
  checkMaxDiff: number;
  /** Test reviews the dense head gets right and this model wrong, and the other way round. */
  lost?: number;
  gained?: number;
  outputDeviation: number | null;
  perNode: Array<{node: string, sparsity: number | null}>;
}
const rows: Row[] = [];
const calibration = encoder.batches(calibTexts, BATCH);
const checkTexts = heldOut.slice(0, CHECK);

for (const target of SPARSITIES) {
  for (const name of METHODS) {
    const auto = name.startsWith('auto');
    const method = (auto ? (name.split('-')[1] ?? 'wanda') : name) as PruneMethod;
    const key = `${name}-${target}-${CALIB_TEXTS}${CALIB}${LEVELS.length ? `-l${LEVELS.join('_')}` : ''}-t${TRAIN}_${TEST}_${HELDOUT}`;
    const resultFile = join(OUT, 'results', `${key}.json`);
    if (!FRESH && existsSync(resultFile)) {
      rows.push(JSON.parse(readFileSync(resultFile, 'utf8')) as Row);
      log(`${key}: cached`);
      continue;
    }
    let t0 = performance.now();
    // Auto's measurements do not depend on the budget: measured once per method, they give the
    // allocation at every budget (allocateLevels, as sparsifyGraphModel itself does).
    const sensitivityFile = join(OUT, 'results', `sensitivity-${name}-${CALIB_TEXTS}${CALIB}${LEVELS.length ? `-l${LEVELS.join('_')}` : ''}.json`);
    let sparsity: GraphSparsifyOptions['sparsity'] = target;
    if (auto && existsSync(sensitivityFile)) {
      const known = JSON.parse(readFileSync(sensitivityFile, 'utf8')) as {levels: number[], deviations: Record<string, number[]>, sizes: Record<string, number>};
      const nodes = Object.keys(known.deviations);
      const chosen = allocateLevels(nodes, (n) => known.sizes[n], known.levels, new Map(Object.entries(known.deviations)), target);
      sparsity = Object.fromEntries([...chosen].filter(([, v]) => v > 0));
      log(`${key}: allocation from ${sensitivityFile}`);
    } else if (auto) {
      sparsity = {auto: target, ...(LEVELS.length ? {levels: LEVELS} : {})};
    }
    const {artifacts, report} = await sparsifyGraphModel(denseArtifacts, {
      sparsity, method, calibration: method === 'magnitude' && !auto ? undefined : calibration,
    });
    const convertSeconds = (performance.now() - t0) / 1000;
    if (report.auto != null) {
      const sizes = Object.fromEntries(report.nodes.filter((n) => n.shape != null).map((n) => [n.node, n.shape![0] * n.shape![1]]));
      writeFileSync(sensitivityFile, JSON.stringify({...report.auto, sizes}));
    }
    const dir = join(OUT, 'models', key);
    await fileSystem(dir).save!(artifacts);
    const bytes = dirBytes(dir);
    log(`${key}: converted in ${convertSeconds.toFixed(0)} s, sparsity ${(100 * report.sparsity).toFixed(1)}%, ${bytes} bytes`);

    t0 = performance.now();
    const overrides = twinOverrides(denseArtifacts, artifacts);
    const testEmb = await encoder.embed(dense, test.map((r) => r.text), {batchSize: BATCH, overrides});
    const heldEmb = await encoder.embed(dense, heldOut, {batchSize: BATCH, overrides});
    tf.dispose(Object.values(overrides));
    log(`  embedded ${TEST + HELDOUT} texts in ${seconds(t0)} s`);

    // The converted model itself, loaded from its directory, on a few held-out sentences.
    t0 = performance.now();
    const sparse = await loadGraphModel(fileSystem(join(dir, 'model.json')));
    const real = await encoder.embed(sparse, checkTexts, {batchSize: BATCH});
    sparse.dispose();
    let checkMaxDiff = 0;
    for (let i = 0; i < real.length; i++) checkMaxDiff = Math.max(checkMaxDiff, Math.abs(real[i] - heldEmb[i]));
    log(`  converted model on ${CHECK} sentences: max |diff| from the twin ${checkMaxDiff.toExponential(1)} (${seconds(t0)} s)`);

    const [denseRight, right] = [correct(head, denseTest, yTest), correct(head, testEmb, yTest)];
    const row: Row = {
      method: name, target, sparsity: report.sparsity, accuracy: accuracy(head, testEmb, yTest),
      lost: denseRight.filter((r, i) => r && !right[i]).length, gained: denseRight.filter((r, i) => !r && right[i]).length,
      cosine: meanCosine(heldEmb, denseHeld), bytes, ratio: bytes / denseBytes, convertSeconds, checkMaxDiff,
      outputDeviation: report.outputDeviation,
      perNode: report.nodes.filter((n) => n.weight != null).map((n) => ({node: n.node, sparsity: n.sparsity})),
    };
    writeFileSync(resultFile, JSON.stringify(row, null, 1));
    rows.push(row);
    log(`  accuracy ${(100 * row.accuracy).toFixed(1)}%, cosine ${row.cosine.toFixed(4)}`);
  }
}
tf.dispose(calibration.flatMap((b) => [b.indices, b.values]));

const lines = [
  `Dense: ${(100 * denseAcc).toFixed(1)}% IMDB accuracy (${TRAIN} train / ${TEST} test reviews, λ = ${bestLambda}), ` +
    `model directory ${(denseBytes / 1e6).toFixed(2)} MB.`,
  '',
  '| method | target | sparsity | IMDB accuracy | Δ vs dense | cosine to dense | model dir MB | × dense | convert s |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.method} | ${(100 * r.target).toFixed(0)}% | ${(100 * r.sparsity).toFixed(1)}% | ` +
    `${(100 * r.accuracy).toFixed(1)}% | ${(100 * (r.accuracy - denseAcc)).toFixed(1)} | ${r.cosine.toFixed(4)} | ` +
    `${(r.bytes / 1e6).toFixed(2)} | ${r.ratio.toFixed(3)} | ${r.convertSeconds.toFixed(0)} |`),
];
console.log(lines.join('\n'));
writeFileSync(join(OUT, 'results.json'), JSON.stringify({
  date: new Date().toISOString().slice(0, 10), command: `npm run eval:use -- ${args.join(' ')}`.trim(),
  setup: {train: TRAIN, test: TEST, heldOut: HELDOUT, calibration: CALIB_TEXTS === 'imdb' ? `the last ${CALIB} IMDB train reviews` : `${CALIB} Moby Dick ${CALIB_TEXTS}`, levels: LEVELS},
  dense: {accuracy: denseAcc, bytes: denseBytes, lambda: bestLambda}, rows,
}, null, 1));
