/**
 * Issue #7: regression tests for the malformed inputs the fuzz specs found answered with an engine error
 * (RangeError), a misleading message, or an allocation before any check. Each must be an Error naming
 * the problem.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import './helpers/setup';
import {SparseMatrix, sparsifyModel} from '../src/index';
import {fileSystem} from '../src/node/file_system';
import {rng} from './helpers/random';
import {setRandomWeights} from './layers/util';

type NodeProcess = {getBuiltinModule?: (id: string) => unknown};
const nodeProcess = (globalThis as {process?: NodeProcess}).process;

interface Topology {
  config: {layers: Array<{config: Record<string, unknown>}>};
}

/** A saved model: x (36) → SparseDense 'a' (48). */
async function saved(): Promise<tf.io.ModelArtifacts> {
  const x = tfl.input({shape: [36], name: 'x'});
  const dense = tfl.model({inputs: x, outputs: tfl.layers.dense({units: 48, name: 'a'}).apply(x) as tfl.SymbolicTensor});
  setRandomWeights(dense, rng('malformed model'));
  const {model} = await sparsifyModel(dense, {sparsity: 0.8, minWeights: 0});
  dense.dispose();
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  model.dispose();
  const a = artifacts! as tf.io.ModelArtifacts;
  return {...a, weightData: tf.io.CompositeArrayBuffer.join(a.weightData!)};
}

function withLayer(a: tf.io.ModelArtifacts, index: number, key: string, value: unknown): tf.io.ModelArtifacts {
  const topology = JSON.parse(JSON.stringify(a.modelTopology)) as Topology;
  topology.config.layers[index].config[key] = value;
  return {...a, modelTopology: topology as unknown as object};
}

describe('malformed input (regressions)', () => {
  let good: tf.io.ModelArtifacts;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    good = await saved();
  });
  const load = (a: tf.io.ModelArtifacts) => tfl.loadLayersModel(tf.io.fromMemory(a));

  it('names a shape whose header would not fit the format, instead of a RangeError', () => {
    const big = 2 ** 31 - 1;
    expect(() => SparseMatrix.fromCOO([[0, 0]], [1], [big, big]))
        .toThrowError(/^SparseMatrix: shape \[2147483647, 2147483647\] needs a header of \d+ words, more than the format's 2147483647$/);
    expect(() => SparseMatrix.fromEncoded({
      format: 'tiled-bitmap', version: 1, shape: [big, big], valueType: 'float16', header: new Int32Array(36),
      offsets: new Int32Array(2), values: new Int32Array(0),
    })).toThrowError(/shape \[2147483647, 2147483647\] needs a header of \d+ words/);
  });

  it('names a model.json input size that is not a positive integer', async () => {
    for (const K of [0, -1, 1.5, '36']) {
      const a = withLayer(good, 0, 'batch_input_shape', [null, K]);
      await expectAsync(load(a)).toBeRejectedWithError(
          new RegExp(`SparseDense 'a': the last input dimension must be a positive integer, got ${JSON.stringify(K)}`));
    }
  });

  it('names model.json units or input sizes too big for the format, instead of a RangeError', async () => {
    await expectAsync(load(withLayer(good, 1, 'units', 2 ** 31 - 1)))
        .toBeRejectedWithError(/SparseDense 'a': SparseMatrix: shape \[36, 2147483647\] needs a header of \d+ words, more than the format's/);
    await expectAsync(load(withLayer(good, 0, 'batch_input_shape', [null, 2 ** 31 - 1])))
        .toBeRejectedWithError(/SparseDense 'a': SparseMatrix: shape \[2147483647, 48\] needs a header/);
  });

  it('refuses a value_words larger than the kernel can hold before allocating it', async () => {
    // [36, 48]: 2 × 2 tiles of 1024 f16 values, 2048 words at most.
    await expectAsync(load(withLayer(good, 1, 'value_words', 1e9)))
        .toBeRejectedWithError(/SparseDense 'a': valueWords is 1000000000, more than the 2048 a \[36, 48\] kernel can hold/);
    await expectAsync(load(withLayer(good, 1, 'units', '48'))).toBeRejectedWithError(/units must be a positive integer, got "48"/);
  });

  it('fileSystem names the weight that runs past its files, a missing file and an unknown dtype', async () => {
    if (nodeProcess?.getBuiltinModule == null) {
      pending('Node only');
      return;
    }
    const fs = nodeProcess.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');
    const os = nodeProcess.getBuiltinModule('node:os') as typeof import('node:os');
    const path = nodeProcess.getBuiltinModule('node:path') as typeof import('node:path');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-sparse-malformed-'));
    try {
      const data = new Uint8Array(good.weightData as ArrayBuffer);
      const write = async (paths: string[], weights: tf.io.WeightsManifestEntry[], shards: Uint8Array[]) => {
        await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify({modelTopology: good.modelTopology, weightsManifest: [{paths, weights}]}));
        for (let i = 0; i < shards.length; i++) await fs.writeFile(path.join(dir, paths[i]), shards[i]);
      };
      const specs = good.weightSpecs!;
      const last = specs[specs.length - 1];
      await write(['s1.bin', 's2.bin'], specs, [data.slice(0, 100), data.slice(100, data.length - 8)]);
      await expectAsync(tfl.loadLayersModel(fileSystem(dir))).toBeRejectedWithError(
          new RegExp(`fileSystem: weight '${last.name}' \\(bytes \\d+ to ${data.length}\\) runs past the end of its weight files \\(s1.bin, s2.bin: ${data.length - 8} bytes\\)`));
      await write(['s1.bin', 'gone.bin'], specs, [data]);
      await fs.rm(path.join(dir, 'gone.bin'), {force: true});
      await expectAsync(tfl.loadLayersModel(fileSystem(dir))).toBeRejectedWithError(/fileSystem: cannot read weight file 'gone.bin' listed in .*model.json: ENOENT/);
      await write(['s1.bin'], [{...specs[0], dtype: 'float64' as 'float32'}, ...specs.slice(1)], [data]);
      await expectAsync(tfl.loadLayersModel(fileSystem(dir))).toBeRejectedWithError(new RegExp(`fileSystem: weight '${specs[0].name}' in .* has an unknown dtype "float64"`));
    } finally {
      await fs.rm(dir, {recursive: true, force: true});
    }
  });
});
