/// <reference types="node" />
/**
 * Reads a TF.js model directory for the CLI (model.json plus the weight files its manifest lists) and
 * says in one line what is wrong when it cannot: a missing or unparsable model.json, a missing weight
 * file, weight files of the wrong size, or a model that is neither a LayersModel nor a GraphModel.
 */
import {readFile, stat} from 'node:fs/promises';
import {dirname, join, resolve, sep} from 'node:path';
import type {io} from '@tensorflow/tfjs-core';
import {splitWeights} from '../graph/weight_entries.js';

/** An error whose message is the whole line the CLI prints. */
export class CliError extends Error {}

export type ModelKind = 'layers' | 'graph';

/** A loaded model directory. */
export interface ModelFiles {
  /** The model.json path. */
  json: string;
  kind: ModelKind;
  artifacts: io.ModelArtifacts;
  /** Bytes of model.json plus every weight file it lists. */
  diskBytes: number;
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Which kind of model a model.json describes, or null. */
function kindOf(json: Record<string, unknown>): ModelKind | null {
  const topology = json['modelTopology'];
  if (json['format'] === 'layers-model' || (isRecord(topology) && ('class_name' in topology || 'model_config' in topology))) return 'layers';
  if (json['format'] === 'graph-model' || (isRecord(topology) && Array.isArray(topology['node']))) return 'graph';
  return null;
}

/** `path` is model.json or a directory holding one. */
export async function readModelFiles(path: string): Promise<ModelFiles> {
  let json = resolve(path);
  try {
    if ((await stat(json)).isDirectory()) json = join(json, 'model.json');
  } catch (e) {
    throw new CliError(code(e) === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${code(e)}`);
  }
  let text: string;
  try {
    text = await readFile(json, 'utf8');
  } catch (e) {
    throw new CliError(code(e) === 'ENOENT' ? `${json} does not exist` : `cannot read ${json}: ${code(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${json} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(parsed) || parsed['modelTopology'] == null) throw new CliError(`${json} has no modelTopology: it is not a TF.js model.json`);
  const kind = kindOf(parsed);
  if (kind == null) throw new CliError(`unsupported model: ${json} is neither a LayersModel nor a GraphModel`);
  const manifest = parsed['weightsManifest'] ?? [];
  if (!Array.isArray(manifest) || !manifest.every((g) => isRecord(g) && Array.isArray(g['paths']) && Array.isArray(g['weights']))) {
    throw new CliError(`${json} has a malformed weightsManifest`);
  }
  const dir = dirname(json);
  const specs: io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  let diskBytes = Buffer.byteLength(text);
  for (const group of manifest as io.WeightsManifestConfig) {
    for (const p of group.paths) {
      const file = resolve(dir, p);
      if (!file.startsWith(dir + sep)) throw new CliError(`${json} lists weight file '${p}', which is outside ${dir}`);
      try {
        const data = await readFile(file);
        buffers.push(data);
        diskBytes += data.byteLength;
      } catch (e) {
        throw new CliError(code(e) === 'ENOENT' ? `weight file '${p}' listed in ${json} is missing` : `cannot read weight file ${file}: ${code(e)}`);
      }
    }
    specs.push(...group.weights);
  }
  const weightData = Buffer.concat(buffers);
  const artifacts: io.ModelArtifacts = {
    modelTopology: parsed['modelTopology'] as object,
    weightSpecs: specs,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
  };
  try {
    splitWeights(specs, artifacts.weightData);
  } catch (e) {
    throw new CliError(`the weight files of ${json} do not match its manifest: ${(e as Error).message}`);
  }
  for (const key of ['format', 'generatedBy', 'convertedBy', 'signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig'] as const) {
    if (parsed[key] != null) (artifacts as Record<string, unknown>)[key] = parsed[key];
  }
  return {json, kind, artifacts, diskBytes};
}
