/**
 * Issue #4: a sparse model saved with model.save and loaded with tf.loadLayersModel predicts exactly as
 * before, through memory, HTTP (a fake fetch), IndexedDB and localStorage (browser) and the Node file
 * system handler; a corrupted file is an error at load, never a wrong answer.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describeEachBackend} from '../helpers/backends';
import {rng} from '../helpers/random';
import {sparsifyModel} from '../../src/index';
import {fileSystem} from '../../src/node/file_system';
import {branchModel, expectNoLeak, setRandomWeights} from './util';

type NodeProcess = {getBuiltinModule?: (id: string) => unknown, versions?: {node?: string}};
const nodeProcess = (globalThis as {process?: NodeProcess}).process;
const inNode = nodeProcess?.versions?.node != null;

async function sparseBranch(label: string, valueType: 'float16' | 'float32' = 'float16'): Promise<{model: tfl.LayersModel, x: tf.Tensor}> {
  const r = rng(label);
  const dense = branchModel(36);
  setRandomWeights(dense, r);
  const {model} = await sparsifyModel(dense, {sparsity: {a: 0.8, b1: 0.5, b2: 0.9, out: 0.6}, valueType});
  dense.dispose();
  return {model, x: tf.tensor2d(r.normals(12 * 36), [12, 36])};
}

/** Saves to memory and returns the artifacts (weight data as one ArrayBuffer). */
async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const a = saved! as tf.io.ModelArtifacts;
  return {...a, weightData: tf.io.CompositeArrayBuffer.join(a.weightData!)};
}

/** The int32 words of weight `name` inside the artifacts (a view: writes corrupt the artifacts). */
function weightWords(a: tf.io.ModelArtifacts, name: string): Int32Array {
  let offset = 0;
  for (const spec of a.weightSpecs!) {
    const size = spec.shape.reduce((x, y) => x * y, 1);
    if (spec.name === name) return new Int32Array(a.weightData as ArrayBuffer, offset, size);
    offset += size * 4;
  }
  throw new Error(`no weight ${name}`);
}

function copyArtifacts(a: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  return {...a, modelTopology: JSON.parse(JSON.stringify(a.modelTopology)), weightData: (a.weightData as ArrayBuffer).slice(0)};
}

async function expectSamePredictions(a: tfl.LayersModel, b: tfl.LayersModel, x: tf.Tensor): Promise<void> {
  const ya = a.predict(x) as tf.Tensor, yb = b.predict(x) as tf.Tensor;
  expect(Array.from(await yb.data())).toEqual(Array.from(await ya.data()));
  tf.dispose([ya, yb]);
}

describeEachBackend('SparseDense save and load', () => {
  for (const valueType of ['float16', 'float32'] as const) {
    it(`round-trips through memory with identical outputs (${valueType})`, async () => {
      const {model, x} = await sparseBranch(`save-memory-${valueType}`, valueType);
      const artifacts = await saveToMemory(model);
      const specs = artifacts.weightSpecs!.filter((s) => s.name.startsWith('b2/')).map((s) => [s.name, s.dtype]);
      expect(specs).toContain(['b2/header', 'int32']);
      expect(specs).toContain(['b2/offsets', 'int32']);
      expect(specs).toContain(['b2/values', valueType === 'float16' ? 'int32' : 'float32']);
      const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
      expect(loaded.getLayer('b2').getClassName()).toBe('SparseDense');
      await expectSamePredictions(model, loaded, x);
      loaded.dispose();
      model.dispose();
      x.dispose();
    });
  }

  it('refuses corrupted files at load', async () => {
    const {model, x} = await sparseBranch('save-corrupt');
    const good = await saveToMemory(model);
    const load = (a: tf.io.ModelArtifacts) => tfl.loadLayersModel(tf.io.fromMemory(a));

    const outside = copyArtifacts(good);
    weightWords(outside, 'out/header')[31] = 1 << 20;  // out is [64, 10]: column 31 is past N
    await expectAsync(load(outside)).toBeRejectedWithError(/SparseDense 'out'.*outside/);

    const offsets = copyArtifacts(good);
    weightWords(offsets, 'b1/offsets')[1] += 8;
    await expectAsync(load(offsets)).toBeRejectedWithError(/SparseDense 'b1'/);

    const prefix = copyArtifacts(good);
    weightWords(prefix, 'a/header')[32] ^= 1 << 16;
    await expectAsync(load(prefix)).toBeRejectedWithError(/SparseDense 'a'.*prefix/);

    const version = copyArtifacts(good);
    const layers = (version.modelTopology as {config: {layers: Array<{config: {name: string, format_version: number}}>}}).config.layers;
    layers.find((l) => l.config.name === 'b2')!.config.format_version = 2;
    await expectAsync(load(version)).toBeRejectedWithError(/version/);

    const words = copyArtifacts(good);
    const wl = (words.modelTopology as typeof version.modelTopology & {config: {layers: Array<{config: {name: string, value_words: number}}>}}).config.layers;
    wl.find((l) => l.config.name === 'b2')!.config.value_words += 4;
    await expectAsync(load(words)).toBeRejected();

    // The intact artifacts still load and predict as before.
    const loaded = await load(copyArtifacts(good));
    await expectSamePredictions(model, loaded, x);
    loaded.dispose();
    model.dispose();
    x.dispose();
  });

  it('round-trips through the HTTP handler (a fake server)', async () => {
    const {model, x} = await sparseBranch('save-http');
    const files = new Map<string, string | ArrayBuffer>();
    const fetchFunc = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const url = String(input instanceof Request ? input.url : input);
      if (init?.method === 'POST') {
        const form = init.body as FormData;
        files.set('model.json', await (form.get('model.json') as Blob).text());
        files.set('model.weights.bin', await (form.get('model.weights.bin') as Blob).arrayBuffer());
        return new Response('{}', {status: 200});
      }
      const name = url.slice(url.lastIndexOf('/') + 1);
      const body = files.get(name);
      if (body == null) return new Response('not found', {status: 404});
      return new Response(body, {status: 200, headers: {'content-type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream'}});
    };
    await model.save(tf.io.http('https://models.test/sparse/save', {fetchFunc}));
    expect(files.size).toBe(2);
    const loaded = await tfl.loadLayersModel(tf.io.http('https://models.test/sparse/model.json', {fetchFunc}));
    await expectSamePredictions(model, loaded, x);
    loaded.dispose();
    model.dispose();
    x.dispose();
  });

  for (const scheme of ['indexeddb', 'localstorage'] as const) {
    it(`round-trips through ${scheme}:// (browser)`, async () => {
      const present = scheme === 'indexeddb' ? typeof indexedDB !== 'undefined' : typeof localStorage !== 'undefined';
      if (!present) {
        pending(`${scheme} is browser only`);
        return;
      }
      const {model, x} = await sparseBranch(`save-${scheme}`);
      const url = `${scheme}://tfjs-sparse-test-${tf.getBackend()}`;
      await model.save(url);
      const loaded = await tfl.loadLayersModel(url);
      await expectSamePredictions(model, loaded, x);
      await tf.io.removeModel(url);
      loaded.dispose();
      model.dispose();
      x.dispose();
    });
  }

  it('round-trips through the Node file-system handler (tfjs-sparse/node)', async () => {
    if (!inNode || nodeProcess?.getBuiltinModule == null) {
      pending('Node only');
      return;
    }
    const fs = nodeProcess.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');
    const os = nodeProcess.getBuiltinModule('node:os') as typeof import('node:os');
    const path = nodeProcess.getBuiltinModule('node:path') as typeof import('node:path');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-sparse-'));
    try {
      const {model, x} = await sparseBranch('save-fs');
      await model.save(fileSystem(dir));
      expect((await fs.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
      const loaded = await tfl.loadLayersModel(fileSystem(path.join(dir, 'model.json')));
      await expectSamePredictions(model, loaded, x);
      loaded.dispose();
      // A truncated weights file, and a weight path outside the model's folder, are errors.
      const bin = await fs.readFile(path.join(dir, 'weights.bin'));
      await fs.writeFile(path.join(dir, 'weights.bin'), bin.subarray(0, bin.length - 4));
      await expectAsync(tfl.loadLayersModel(fileSystem(dir))).toBeRejectedWithError(/bytes/);
      const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = ['../elsewhere.bin'];
      await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      await expectAsync(tfl.loadLayersModel(fileSystem(dir))).toBeRejectedWithError(/outside/);
      model.dispose();
      x.dispose();
    } finally {
      await fs.rm(dir, {recursive: true, force: true});
    }
  });

  it('leaks no tensor across save, load, predict and dispose', async () => {
    const {model, x} = await sparseBranch('save-leak');
    const artifacts = await saveToMemory(model);
    await expectNoLeak(async () => {
      const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
      const y = loaded.predict(x) as tf.Tensor;
      y.dispose();
      loaded.dispose();
    });
    model.dispose();
    x.dispose();
  });
});
