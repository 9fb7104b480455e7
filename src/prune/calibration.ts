/** Statistics of a model run on calibration inputs, batch by batch, read back with `await data()`. */
import {dispose, matMul, reshape, slice, square, sub, sum, Tensor, tidy} from '@tensorflow/tfjs-core';
import {LayersModel, model as makeModel, SymbolicTensor} from '@tensorflow/tfjs-layers';

/** Model inputs: one tensor, or one per model input, all with the same first (batch) dimension. */
export type ModelInputs = Tensor | Tensor[];

function asList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

/** Number of samples in calibration inputs; throws if they disagree or do not match the model. */
export function countSamples(model: LayersModel, x: ModelInputs): number {
  const xs = asList(x);
  if (xs.length !== model.inputs.length) {
    throw new Error(`calibration: the model has ${model.inputs.length} input(s), got ${xs.length} tensor(s)`);
  }
  const n = xs[0].shape[0];
  for (const t of xs) {
    if (!(t instanceof Tensor) || t.isDisposed) throw new Error('calibration: inputs must be live tensors');
    if (t.rank < 1 || t.shape[0] !== n) throw new Error('calibration: every input must have the same batch size');
  }
  if (n === 0) throw new Error('calibration: no samples');
  return n;
}

function batches(n: number, batchSize: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < n; start += batchSize) out.push([start, Math.min(batchSize, n - start)]);
  return out;
}

function sliceInputs(x: ModelInputs, start: number, size: number): Tensor | Tensor[] {
  const cut = (t: Tensor) => slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]);
  return Array.isArray(x) ? x.map(cut) : cut(x);
}

/** A layer's input (or output) as a symbolic tensor of `model`; the layer must be applied once. */
export function layerTensor(model: LayersModel, name: string, which: 'input' | 'output'): SymbolicTensor {
  const layer = model.getLayer(name);
  if (layer.inboundNodes.length !== 1) {
    throw new Error(`calibration: layer '${name}' is applied ${layer.inboundNodes.length} times; only layers applied once are supported`);
  }
  const t = which === 'input' ? layer.input : layer.output;
  if (Array.isArray(t)) throw new Error(`calibration: layer '${name}' has several ${which}s`);
  return t;
}

/**
 * Runs `outputs` of `model` on the calibration inputs and hands each batch's reduced values to `visit`.
 * `reduce` gets one tensor per entry of `outputs` (which may repeat: a model lists each output once).
 */
async function runBatches(
    model: LayersModel, outputs: SymbolicTensor[], x: ModelInputs, batchSize: number,
    reduce: (ys: Tensor[], start: number, size: number) => Tensor[],
    visit: (values: Float32Array[], start: number) => void): Promise<void> {
  const n = countSamples(model, x);
  const features = multiOutput(model, outputs);
  for (const [start, size] of batches(n, batchSize)) {
    const reduced = tidy(() => reduce(features(sliceInputs(x, start, size)), start, size));
    try {
      const values = await Promise.all(reduced.map((t) => t.data() as Promise<Float32Array>));
      visit(values, start);
    } finally {
      dispose(reduced);
    }
  }
}

/** Runs `model` for the given outputs (listed once each in the model, as TF.js requires). */
function multiOutput(model: LayersModel, outputs: SymbolicTensor[]): (x: Tensor | Tensor[]) => Tensor[] {
  const unique = [...new Set(outputs)];
  const index = outputs.map((t) => unique.indexOf(t));
  const m = makeModel({inputs: model.inputs, outputs: unique});
  return (x) => {
    const ys = asList(m.predict(x) as Tensor | Tensor[]);
    return index.map((i) => ys[i]);
  };
}

/** Σ over all calibration rows of x_k² for each named layer's input (rows: every axis but the last). */
export async function inputSquareSums(
    model: LayersModel, names: string[], x: ModelInputs, batchSize: number): Promise<Map<string, Float64Array>> {
  const inputs = names.map((name) => layerTensor(model, name, 'input'));
  const sums = inputs.map((t) => new Float64Array(t.shape[t.shape.length - 1] as number));
  await runBatches(model, inputs, x, batchSize,
      (ys) => ys.map((y) => sum(square(reshape(y, [-1, y.shape[y.rank - 1]])), 0)),
      (values) => values.forEach((v, i) => {
        for (let k = 0; k < v.length; k++) sums[i][k] += v[k];
      }));
  return new Map(names.map((name, i) => [name, sums[i]]));
}

/** XᵀX [K, K] over all calibration rows of each named layer's input (rows: every axis but the last). */
export async function inputGrams(
    model: LayersModel, names: string[], x: ModelInputs, batchSize: number): Promise<Map<string, Float64Array>> {
  const inputs = names.map((name) => layerTensor(model, name, 'input'));
  const grams = inputs.map((t) => {
    const K = t.shape[t.shape.length - 1] as number;
    return new Float64Array(K * K);
  });
  await runBatches(model, inputs, x, batchSize,
      (ys) => ys.map((y) => {
        const rows = reshape(y, [-1, y.shape[y.rank - 1]]);
        return matMul(rows, rows, true, false);
      }),
      (values) => values.forEach((v, i) => {
        for (let k = 0; k < v.length; k++) grams[i][k] += v[k];
      }));
  return new Map(names.map((name, i) => [name, grams[i]]));
}

/** A model's outputs on the calibration inputs, kept per batch (dispose with `disposeOutputs`). */
export async function modelOutputs(model: LayersModel, x: ModelInputs, batchSize: number): Promise<Tensor[][]> {
  const n = countSamples(model, x);
  const out: Tensor[][] = [];
  for (const [start, size] of batches(n, batchSize)) {
    out.push(tidy(() => asList(model.predict(sliceInputs(x, start, size)) as Tensor | Tensor[])));
  }
  return out;
}

export function disposeOutputs(outputs: Tensor[][]): void {
  for (const batch of outputs) dispose(batch);
}

/** ‖y − ref‖ / ‖ref‖ over all outputs of `model` and all calibration rows. */
export async function outputDeviation(model: LayersModel, ref: Tensor[][], x: ModelInputs, batchSize: number): Promise<number> {
  let err = 0, norm = 0, b = 0;
  await runBatches(model, model.outputs, x, batchSize,
      (ys) => {
        const r = ref[b++];
        return ys.flatMap((y, i) => [sum(square(sub(y, r[i]))), sum(square(r[i]))]);
      },
      (values) => {
        for (let i = 0; i < values.length; i += 2) {
          err += values[i][0];
          norm += values[i + 1][0];
        }
      });
  return relative(err, norm);
}

/**
 * Relative error ‖y − y_ref‖ / ‖y_ref‖ of each named layer's output, and of the model's outputs, of
 * `model` against `ref` (same topology and layer names) on the calibration inputs.
 */
export async function layerDeviations(
    ref: LayersModel, model: LayersModel, names: string[], x: ModelInputs,
    batchSize: number): Promise<{layers: Map<string, number>, output: number}> {
  const outs = (m: LayersModel) => [...names.map((name) => layerTensor(m, name, 'output')), ...m.outputs];
  const refModel = multiOutput(ref, outs(ref));
  const count = names.length + model.outputs.length;
  const err = new Float64Array(count), norm = new Float64Array(count);
  await runBatches(model, outs(model), x, batchSize,
      (ys, start, size) => {
        const rs = refModel(sliceInputs(x, start, size));
        return ys.flatMap((y, i) => [sum(square(sub(y, rs[i]))), sum(square(rs[i]))]);
      },
      (values) => {
        for (let i = 0; i < count; i++) {
          err[i] += values[2 * i][0];
          norm[i] += values[2 * i + 1][0];
        }
      });
  let e = 0, r = 0;
  for (let i = names.length; i < count; i++) {
    e += err[i];
    r += norm[i];
  }
  return {layers: new Map(names.map((name, i) => [name, relative(err[i], norm[i])])), output: relative(e, r)};
}

function relative(err: number, norm: number): number {
  return norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err);
}
