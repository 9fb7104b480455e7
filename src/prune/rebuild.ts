/**
 * Builds a new LayersModel with the topology of another, where chosen layers become SparseDense, and
 * every other layer keeps its weights. The source model is not modified: carried weights share the
 * source's tensor data (TF.js counts references), so nothing is copied and disposing either model
 * leaves the other intact.
 */
import {tensor, Tensor} from '@tensorflow/tfjs-core';
import {LayersModel, models} from '@tensorflow/tfjs-layers';
import type {PyJsonDict} from '@tensorflow/tfjs-layers/dist/keras_format/types';
import {EncodedSparseMatrix, FORMAT_VERSION, HEADER_WORDS, popcount32, storedValueWords, TILE_N} from '../ops/format.js';
import {SparseDense} from '../layers/sparse_dense.js';

/** What a replaced layer holds. Its activation and useBias come from the layer's own config. */
export interface SparseLayerSpec {
  encoded: EncodedSparseMatrix;
  bias?: Float32Array;
}

type Json = {[key: string]: unknown};

/** The config keys every layer has (pythonic, as in model.toJSON()). */
const BASE_KEYS = ['name', 'trainable', 'dtype', 'batch_input_shape', 'batch_size'];

function isJson(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The layer entries of a model topology (Sequential and functional keep them in config.layers). */
function layerEntries(topology: Json): Json[] {
  const config = topology['config'];
  const entries = isJson(config) ? config['layers'] : undefined;
  if (!Array.isArray(entries) || !entries.every(isJson)) throw new Error('sparsifyModel: unexpected model topology');
  return entries;
}

function entryName(entry: Json): string {
  const config = entry['config'];
  const name = isJson(config) ? config['name'] : undefined;
  return typeof name === 'string' ? name : String(entry['name']);
}

function sparsityOf(e: EncodedSparseMatrix): number {
  let nnz = 0;
  for (let i = 0; i < e.header.length; i++) if (i % HEADER_WORDS < TILE_N) nnz += popcount32(e.header[i]);
  return 1 - nnz / (e.shape[0] * e.shape[1]);
}

/** The pythonic config of a SparseDense that takes the place of `source` (a Dense, Conv2D or SparseDense). */
function sparseConfig(source: Json, e: EncodedSparseMatrix): Json {
  const config: Json = {};
  for (const key of BASE_KEYS) if (key in source) config[key] = source[key];
  return {
    ...config,
    units: e.shape[1],
    activation: source['activation'] ?? 'linear',
    use_bias: source['use_bias'] ?? true,
    value_type: e.valueType,
    format_version: FORMAT_VERSION,
    value_words: storedValueWords(e),
    sparsity: sparsityOf(e),
  };
}

/**
 * A new model with `model`'s topology; each layer named in `replace` becomes a SparseDense holding the
 * given kernel and bias, and every other layer carries its weights over.
 */
export async function rebuildModel(model: LayersModel, replace: ReadonlyMap<string, SparseLayerSpec>): Promise<LayersModel> {
  const topology = model.toJSON(null, false) as Json;
  const found = new Set<string>();
  for (const entry of layerEntries(topology)) {
    const name = entryName(entry);
    const spec = replace.get(name);
    if (spec == null) continue;
    const config = entry['config'];
    if (!isJson(config)) throw new Error(`sparsifyModel: layer '${name}' has no config`);
    entry['class_name'] = SparseDense.className;
    entry['config'] = sparseConfig(config, spec.encoded);
    found.add(name);
  }
  for (const name of replace.keys()) {
    if (!found.has(name)) throw new Error(`sparsifyModel: no layer named '${name}' in the model topology`);
  }
  const rebuilt = await models.modelFromJSON({modelTopology: topology as unknown as PyJsonDict});
  try {
    for (const layer of rebuilt.layers) {
      const spec = replace.get(layer.name);
      const source = model.getLayer(layer.name);
      if (spec != null) {
        (layer as SparseDense).setEncoded(spec.encoded, spec.bias);
      } else if (source instanceof SparseDense) {
        (layer as SparseDense).setEncoded(await source.getEncoded(), await source.getBias() ?? undefined);
      } else if (source.weights.length > 0) {
        layer.setWeights(source.getWeights());
      }
    }
  } catch (e) {
    rebuilt.dispose();
    throw e;
  }
  return rebuilt;
}

/** Sets a Dense or Conv2D layer's kernel from a flat [K, N] array, keeping its other weights. */
export function setKernel(model: LayersModel, name: string, kernel: Float32Array): void {
  const layer = model.getLayer(name);
  const weights = layer.getWeights();
  const k = tensor(kernel, weights[0].shape, 'float32');
  const rest: Tensor[] = weights.slice(1);
  layer.setWeights([k, ...rest]);
  k.dispose();
}
