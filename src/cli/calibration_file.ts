/// <reference types="node" />
/**
 * The CLI's calibration file: JSON, a list of batches (or `{"batches": [...]}`), each batch a map from
 * model input name to a tensor `{"shape": [...], "dtype": "float32" | "int32", "data": [flat numbers]}`,
 * or a list of such tensors in the model's input order (or one tensor, for a one-input model).
 */
import {readFile} from 'node:fs/promises';
import {NamedTensorMap, Tensor, tensor} from '@tensorflow/tfjs-core';
import {CliError} from './model_files.js';

/** One batch: tensors by input name, or in input order. */
export type CalibrationBatch = NamedTensorMap | Tensor[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function toTensor(v: unknown, where: string): Tensor {
  if (!isRecord(v)) throw new Error(`${where} is not a {shape, data} tensor`);
  const shape = v['shape'], data = v['data'], dtype = v['dtype'] ?? 'float32';
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${where} has a malformed shape`);
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`${where} has dtype ${JSON.stringify(dtype)}, expected float32 or int32`);
  if (!Array.isArray(data) || !data.every((x) => typeof x === 'number')) throw new Error(`${where} has no flat numeric data`);
  const size = (shape as number[]).reduce((a, d) => a * d, 1);
  if (data.length !== size) throw new Error(`${where} has ${data.length} numbers, shape [${shape.join(', ')}] needs ${size}`);
  return tensor(data as number[], shape as number[], dtype);
}

function isTensorJson(v: unknown): boolean {
  return isRecord(v) && 'shape' in v && 'data' in v;
}

/** Reads the file into batches of tensors (the caller disposes them). */
export async function readCalibration(path: string): Promise<CalibrationBatch[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    throw new CliError(c === 'ENOENT' ? `calibration file ${path} does not exist` :
        `calibration file ${path} is not readable JSON: ${c ?? (e as Error).message}`);
  }
  const list = isRecord(parsed) && Array.isArray(parsed['batches']) ? parsed['batches'] : parsed;
  if (!Array.isArray(list) || list.length === 0) throw new CliError(`calibration file ${path} holds no batches`);
  const made: Tensor[] = [];
  const keep = (t: Tensor) => {
    made.push(t);
    return t;
  };
  try {
    return list.map((batch, b): CalibrationBatch => {
      if (isTensorJson(batch)) return [keep(toTensor(batch, `batch ${b}`))];
      if (Array.isArray(batch)) return batch.map((t, i) => keep(toTensor(t, `batch ${b} input ${i}`)));
      if (!isRecord(batch)) throw new Error(`batch ${b} is not a tensor, a list or a map of tensors`);
      return Object.fromEntries(Object.entries(batch).map(([name, t]) => [name, keep(toTensor(t, `batch ${b} input '${name}'`))]));
    });
  } catch (e) {
    made.forEach((t) => t.dispose());
    throw new CliError(`calibration file ${path}: ${(e as Error).message}`);
  }
}
