/**
 * The USE-lite part of `npm run demo`: converts the Universal Sentence Encoder lite GraphModel at the
 * setting of scripts/use/best.ts, saves it, and prints its size against the dense model's, the speed of
 * both on the same IMDB test reviews, and how close the converted model's embeddings are to the dense
 * ones on them (measured live). The IMDB accuracy figures need 3 000 reviews embedded (minutes), so they are read
 * from docs/results/use-lite.json, written by `npm run eval:use`, and labelled as such.
 *
 * It runs on the wasm backend: USE-lite's graph has ops that read tensors synchronously, which the webgpu
 * backend cannot do in Node (in a browser it can). On wasm, SparseMatMul is the JS reference kernel, so
 * the converted model is slower than the dense one there; the size is what it buys.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {loadGraphModel} from '@tensorflow/tfjs-converter';
import {sparsifyGraphModel} from '../../src/graph';
import {fileSystem} from '../../src/node/file_system';
import {BEST} from './best';
import {imdbSplit} from './data';
import {meanCosine, MODEL_DIR, UseEncoder} from './encoder';

/** IMDB test reviews embedded live; the evaluation's split, so never calibration data. */
const REVIEWS = 8;

function dirBytes(dir: string, only?: (f: string) => boolean): number {
  return readdirSync(dir).filter((f) => only == null || only(f)).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

async function timeEmbed(model: Parameters<UseEncoder['embed']>[0], enc: UseEncoder, texts: string[]): Promise<{ms: number, y: Float32Array}> {
  await enc.embed(model, texts.slice(0, 1));  // warm-up
  const t0 = performance.now();
  const y = await enc.embed(model, texts, {batchSize: texts.length});
  return {ms: performance.now() - t0, y};
}

/** Prints the USE-lite demo; returns false if a check fails. */
export async function useDemo(root: string, minCosine: number): Promise<boolean> {
  setWasmPaths(join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist') + '/');
  const previous = tf.getBackend();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  try {
    const dense = await fileSystem(join(root, MODEL_DIR, 'model.json')).load!();
    const enc = new UseEncoder(root);
    const {train, test} = imdbSplit(root, 2000, 1000);
    const calibration = enc.batches(train.slice(-BEST.calibrationReviews).map((r) => r.text), 16);
    let t0 = performance.now();
    const {artifacts, report} = await sparsifyGraphModel(dense, {...BEST.options, calibration});
    const convertS = (performance.now() - t0) / 1000;
    tf.dispose(calibration.flatMap((b) => [b.indices, b.values]));
    const out = join(root, '.tmp', 'demo', 'use-lite-sparse');
    await fileSystem(out).save!(artifacts);
    const denseBytes = dirBytes(join(root, MODEL_DIR), (f) => f === 'model.json' || f.startsWith('group'));
    const sparseBytes = dirBytes(out);
    console.log(`\nUSE-lite (GraphModel, 7.0 M parameters): ${BEST.label}, converted in ${convertS.toFixed(0)} s ` +
        `(calibrated on ${BEST.calibrationReviews} IMDB train reviews), on wasm`);
    console.log(`  matmul weights ${(100 * report.sparsity).toFixed(1)}% zeros, ${report.nodes.filter((n) => n.sparse).length} nodes sparse, ` +
        `${report.nodes.filter((n) => !n.sparse).length} left dense (${[...new Set(report.nodes.filter((n) => !n.sparse).map((n) => n.reason))].join('; ')})`);
    console.log(`  model directory: ${(sparseBytes / 1e6).toFixed(2)} MB against ${(denseBytes / 1e6).toFixed(2)} MB dense ` +
        `(${(sparseBytes / denseBytes).toFixed(3)}×; model.json + weights)`);

    const denseModel = await loadGraphModel(fileSystem(join(root, MODEL_DIR, 'model.json')));
    const sparseModel = await loadGraphModel(fileSystem(join(out, 'model.json')));
    const texts = test.slice(0, REVIEWS).map((r) => r.text);
    const d = await timeEmbed(denseModel, enc, texts);
    const s = await timeEmbed(sparseModel, enc, texts);
    denseModel.dispose();
    sparseModel.dispose();
    const cosine = meanCosine(s.y, d.y);
    const ok = cosine >= minCosine;
    console.log(`  speed on wasm, ${REVIEWS} IMDB test reviews in one batch: dense ${d.ms.toFixed(0)} ms, converted ${s.ms.toFixed(0)} ms ` +
        '(SparseMatMul is the JS reference kernel on wasm; the WebGPU kernel needs a browser for this model)');
    console.log(`  live check: mean cosine similarity to the dense embeddings of those reviews ${cosine.toFixed(4)} ` +
        `(need ≥ ${minCosine}) ${ok ? 'PASS' : 'FAIL'}`);

    const resultsFile = join(root, 'docs', 'results', 'use-lite.json');
    if (existsSync(resultsFile)) {
      const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as {dense: {accuracy: number}, date: string, setup: {calibration: string},
        rows: Array<{method: string, target: number, accuracy: number, cosine: number}>};
      const row = r.rows.find((x) => x.method === BEST.evalMethod && x.target === BEST.evalTarget);
      if (row != null) {
        console.log(`  IMDB accuracy, from docs/results/use-lite.json (npm run eval:use, ${r.date}; not measured by this demo): ` +
            `dense ${(100 * r.dense.accuracy).toFixed(1)}%, this setting ${(100 * row.accuracy).toFixed(1)}% ` +
            `(${(100 * (row.accuracy - r.dense.accuracy)).toFixed(1)} points; calibrated on ${r.setup.calibration}); ` +
            `cosine on 256 held-out Moby Dick sentences ${row.cosine.toFixed(4)}`);
      }
    }
    return ok;
  } finally {
    await tf.setBackend(previous);
  }
}
