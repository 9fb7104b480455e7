/// <reference types="node" />
/**
 * A file-system IOHandler for Node: model.json plus one weights.bin, as tfjs-node's `file://` writes.
 * It reaches Node's fs and path through `process.getBuiltinModule` (Node ≥ 20.16) when first used, not
 * through static imports, so that bundling it for a browser (where it is never called) still works.
 */
import {io} from '@tensorflow/tfjs-core';

function node(): {fs: typeof import('node:fs/promises'), path: typeof import('node:path')} {
  const p = (globalThis as {process?: NodeJS.Process}).process;
  if (p?.getBuiltinModule == null) throw new Error('fileSystem: needs Node.js 20.16 or later');
  return {fs: p.getBuiltinModule('node:fs/promises'), path: p.getBuiltinModule('node:path')};
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

function locate(path: string): {dir: string, json: string} {
  if (typeof path !== 'string' || path === '') throw new Error('fileSystem: path must be a non-empty string');
  const {dirname, join, resolve} = node().path;
  const p = resolve(path.startsWith('file://') ? path.slice('file://'.length) : path);
  return p.endsWith('.json') ? {dir: dirname(p), json: p} : {dir: p, json: join(p, MODEL_JSON)};
}

/**
 * Saves to and loads from the file system. `path` is a directory (model.json and weights.bin go in it)
 * or the path of the model.json file. Use it with `model.save(fileSystem(dir))` and
 * `tf.loadLayersModel(fileSystem(dir))`. Loading reads only weight files inside the model's directory
 * and checks that each holds exactly the bytes its manifest lists.
 */
export function fileSystem(path: string): io.IOHandler {
  const {dir, json} = locate(path);
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const {fs: {mkdir, writeFile}, path: {join}} = node();
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystem: binary model topologies are not supported');
      }
      await mkdir(dir, {recursive: true});
      const weightData = artifacts.weightData == null ? new ArrayBuffer(0) : io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJSON: io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: [{paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? []}],
      };
      const optional = ['format', 'generatedBy', 'convertedBy', 'trainingConfig', 'signature', 'userDefinedMetadata',
        'modelInitializer', 'initializerSignature'] as const;
      for (const key of optional) {
        if (artifacts[key] != null) (modelJSON as unknown as Record<string, unknown>)[key] = artifacts[key];
      }
      await writeFile(join(dir, WEIGHTS_BIN), new Uint8Array(weightData));
      await writeFile(json, JSON.stringify(modelJSON));
      return {modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts)};
    },

    async load(): Promise<io.ModelArtifacts> {
      const {fs: {readFile}, path: {resolve, sep}} = node();
      let modelJSON: io.ModelJSON;
      try {
        modelJSON = JSON.parse(await readFile(json, 'utf8')) as io.ModelJSON;
      } catch (e) {
        throw new Error(`fileSystem: cannot read ${json}: ${(e as Error).message}`);
      }
      if (modelJSON == null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null) {
        throw new Error(`fileSystem: ${json} has no modelTopology`);
      }
      return io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        if (!Array.isArray(manifest)) throw new Error(`fileSystem: ${json} has a malformed weightsManifest`);
        const specs: io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          if (group == null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
            throw new Error(`fileSystem: ${json} has a malformed weightsManifest entry (it needs paths and weights)`);
          }
          let bytes = 0;
          for (const p of group.paths) {
            const file = resolve(dir, String(p));
            if (!file.startsWith(dir + sep)) throw new Error(`fileSystem: weight path '${p}' is outside ${dir}`);
            let data: Uint8Array;
            try {
              data = await readFile(file);
            } catch (e) {
              throw new Error(`fileSystem: cannot read weight file '${p}' listed in ${json}: ${(e as Error).message}`);
            }
            buffers.push(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
            bytes += data.byteLength;
          }
          checkGroupBytes(group, bytes, json);
          specs.push(...group.weights);
        }
        return [specs, io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

const BYTES: Record<string, number> = {float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2};

function weightBytes(w: io.WeightsManifestEntry, json: string): number {
  if (w == null || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`fileSystem: weight '${w?.name}' in ${json} has a malformed shape ${JSON.stringify(w?.shape)}`);
  }
  const size = w.shape.reduce((a, d) => a * d, 1);
  const dtype = w.quantization != null ? w.quantization.dtype : w.dtype;
  if (w.dtype === 'string') throw new Error(`fileSystem: string weights ('${w.name}') are not supported`);
  const bytes = BYTES[dtype];
  if (bytes == null) throw new Error(`fileSystem: weight '${w.name}' in ${json} has an unknown dtype ${JSON.stringify(dtype)}`);
  return size * bytes;
}

/** A group's weights must fill its files exactly: names the first weight past their end, or the bytes left over. */
function checkGroupBytes(group: io.WeightsManifestConfig[number], bytes: number, json: string): void {
  let end = 0;
  for (const w of group.weights) {
    const start = end;
    end += weightBytes(w, json);
    if (end > bytes) {
      throw new Error(
          `fileSystem: weight '${w.name}' (bytes ${start} to ${end}) runs past the end of its weight files ` +
          `(${group.paths.join(', ')}: ${bytes} bytes) in ${json}`);
    }
  }
  if (end !== bytes) {
    throw new Error(`fileSystem: the weight files of ${json} (${group.paths.join(', ')}) hold ${bytes} bytes, but their manifest lists ${end}`);
  }
}
