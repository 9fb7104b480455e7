/**
 * Issue #7: fuzzing the LayersModel loader (tf.loadLayersModel) on a model with SparseDense layers,
 * through three ways of serving its files: memory, a fake HTTP server with two weight shards, and the
 * Node file-system handler (tfjs-sparse/node) with two shards. Mutations: truncated and extended shards,
 * bit flips in the weight data, weight specs with wrong shapes or dtypes, dropped specs, a manifest that
 * points past the shards or at a shard that does not exist, and wrong shapes and fields in model.json
 * (helpers/loader_fuzz.ts holds each to its outcome).
 *
 * The GraphModel loader is the second subject, in fuzz_loader_graph.spec.ts.
 *
 * TF.js's own loaders (memory, http) ignore bytes after the last weight, read a 404 page as a weight file,
 * and name a short weight data only by a tensor's size; the harness holds each loader to what it can do.
 *
 * Not asserted: tensors left by a load that fails. tfjs-layers builds the model before it sets the
 * weights and does not dispose it (nor the decoded weights) when that throws, for any model.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import './helpers/setup';
import {EncodedSparseMatrix, sparsifyModel} from '../src/index';
import {fileSystem} from '../src/node/file_system';
import {checkLoaderCase, fileSystemLoader, FuzzLoader, FuzzSubject, fuzzCases, int32Weights, joined, modelJSON, ModelFiles, paths} from './helpers/loader_fuzz';
import {itHolds} from './helpers/property';
import {rng} from './helpers/random';
import {setRandomWeights} from './layers/util';

/** What a loader's error may say: each names the weight, layer, file or field that is wrong. */
const NAMED = new RegExp([
  /SparseDense( '\w+')?: /, /Shape mismatch: \[.*\] vs\. \[.*\]/, /the tensor should have \d+ values but has \d+/,
  /\d+ of \d+ weights are not set/, /fileSystem: /, /Request to \S+ failed with status code 404/,
  /Tensor must have a shape comprised of positive integers/, /Unknown activation/, /Provided weight data has no target variable/,
  /Unsupported dtype|dtype/, /string weights/, /Expected \w+ to be a positive integer/,
].map((r) => r.source).join('|'));

/**
 * TF.js's decodeWeights on weight data of the wrong size: a RangeError that names neither the weight nor
 * the file (the fileSystem handler checks sizes first and names both).
 */
const TFJS_DECODE = /byte length of \w+ should be a multiple of \d+/;

/** input (36) → SparseDense a (48, relu) → Dense d (16) → SparseDense out (10). */
async function sparseModelFiles(): Promise<{files: ModelFiles, layers: Array<{name: string, shape: [number, number], valueWords: number}>}> {
  const input = tfl.input({shape: [36], name: 'x'});
  const a = tfl.layers.dense({units: 48, activation: 'relu', name: 'a'}).apply(input) as tfl.SymbolicTensor;
  const d = tfl.layers.dense({units: 16, name: 'd'}).apply(a) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({units: 10, name: 'out'}).apply(d) as tfl.SymbolicTensor;
  const dense = tfl.model({inputs: input, outputs: out});
  setRandomWeights(dense, rng('fuzz loader model'));
  const {model} = await sparsifyModel(dense, {sparsity: {a: 0.8, out: 0.6}, minWeights: 0});
  dense.dispose();
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (art) => {
    saved = art;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const art = saved! as tf.io.ModelArtifacts;
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(art.weightData!));
  const cut = Math.floor(data.length / 2 / 4) * 4;
  const layers = (['a', 'out'] as const).map((name) => {
    const config = model.getLayer(name).getConfig();
    const K = name === 'a' ? 36 : 16;
    return {name, shape: [K, config['units'] as number] as [number, number], valueWords: config['valueWords'] as number};
  });
  model.dispose();
  return {
    files: {modelTopology: art.modelTopology, weightSpecs: art.weightSpecs!, shards: [data.slice(0, cut), data.slice(cut)], missing: []},
    layers,
  };
}

const loaders: FuzzLoader[] = [
  {
    name: 'memory',
    load: (f) => tfl.loadLayersModel(tf.io.fromMemory({modelTopology: f.modelTopology as object, weightSpecs: f.weightSpecs, weightData: joined(f)})),
    refusesExtraBytes: false,
    refusesMissingFiles: false,
    tfjsDecodeErrors: TFJS_DECODE,
  },
  {
    name: 'http (two shards)',
    load: (f) => {
      const served = new Map<string, string | ArrayBuffer>([['model.json', modelJSON(f, 'layers-model')]]);
      f.shards.forEach((s, i) => served.set(paths(f)[i], s.slice().buffer));
      const fetchFunc = async (input: RequestInfo | URL): Promise<Response> => {
        const url = String(input instanceof Request ? input.url : input);
        const body = served.get(url.slice(url.lastIndexOf('/') + 1));
        return body == null ? new Response('not found', {status: 404}) : new Response(body, {status: 200});
      };
      return tfl.loadLayersModel(tf.io.http('https://models.test/fuzz/model.json', {fetchFunc}));
    },
    refusesExtraBytes: false,
    refusesMissingFiles: false,
    tfjsDecodeErrors: TFJS_DECODE,
  },
];

const onDisk = fileSystemLoader('layers-model', 'tfjs-sparse-fuzz-', (dir) => tfl.loadLayersModel(fileSystem(dir)));
if (onDisk) loaders.push(onDisk);

describe('LayersModel loader fuzz', () => {
  let subject: FuzzSubject | null = null;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const {files, layers} = await sparseModelFiles();
    const topology = files.modelTopology as {config: {layers: Array<{config: Record<string, unknown>}>}};
    const index = (name: string) => topology.config.layers.findIndex((l) => l.config['name'] === name);
    const layerField = (name: string, key: string) => ['config', 'layers', index(name), 'config', key];
    const fail = (...values: unknown[]) => values.map((value) => ({value, loads: false}));
    const load = (...values: unknown[]) => values.map((value) => ({value, loads: true}));
    const words = (name: string) => layers.find((l) => l.name === name)!.valueWords;
    subject = {
      name: 'input → SparseDense → Dense → SparseDense',
      files: () => files,
      input: () => tf.tensor2d(rng('fuzz loader input').normals(3 * 36), [3, 36]),
      encodings: (f) => {
        const at = int32Weights(f);
        return layers.map((l): EncodedSparseMatrix => ({
          format: 'tiled-bitmap', version: 1, shape: l.shape, valueType: 'float16',
          header: at.get(`${l.name}/header`)!, offsets: at.get(`${l.name}/offsets`)!, values: new Int32Array(l.valueWords),
        }));
      },
      topologyFields: [
        {path: ['config', 'layers', 0, 'config', 'batch_input_shape', 1], values: [...fail(0, -1, 1.5, null, '36', 4, 68, 2 ** 31 - 1, 1e300), ...load(36)]},
        ...['a', 'out'].flatMap((name) => [
          {path: layerField(name, 'units'), values: fail(0, -1, 1.5, null, '10', 9, 11, 47, 49, 96, 2 ** 31 - 1, 1e300)},
          {path: layerField(name, 'value_words'), values: fail(0, -1, 'x', words(name) + 4, words(name) - 4, 1e9, 2 ** 31)},
          {path: layerField(name, 'value_type'), values: [...fail('float32', 'bfloat16', 1), ...load(null)]},
          {path: layerField(name, 'format_version'), values: [...fail(2, 0, '1'), ...load(null, 1)]},
          {path: layerField(name, 'activation'), values: [...fail('nonsense'), ...load('tanh', 'linear', 'softmax')]},
          {path: layerField(name, 'sparsity'), values: load(0.5, null, 2)},
        ]),
        {path: layerField('d', 'units'), values: fail(15, 17, 0)},
      ],
    };
  });

  itHolds('names every problem in a broken model and loads every valid one', 300, () => fuzzCases(subject!, loaders), async (c) => {
    return checkLoaderCase(subject!, loaders, c, NAMED);
  });
});
