/// <reference types="node" />
/**
 * `tfjs-sparse convert`: reads a model directory, converts it (sparsifyModel for a LayersModel,
 * sparsifyGraphModel for a GraphModel) with a progress bar over the layers, writes the new model and a
 * JSON report, and prints the per-layer report and the totals. Every problem with the input is one line
 * on stderr and a non-zero exit code.
 */
import {mkdir, rm, writeFile} from 'node:fs/promises';
import {dirname, join, resolve} from 'node:path';
import {concat, dispose, getBackend, io, Tensor} from '@tensorflow/tfjs-core';
import {loadLayersModel} from '@tensorflow/tfjs-layers';
import {Presets, SingleBar} from 'cli-progress';
import {sparsifyGraphModel} from '../graph/sparsify_graph_model.js';
import {loadedBytes, splitWeights} from '../graph/weight_entries.js';
import {sparsifyModel} from '../prune/sparsify_model.js';
import {fileSystem} from '../node/file_system.js';
import {CalibrationBatch, readCalibration} from './calibration_file.js';
import {ConvertArgs, CONVERT_USAGE, parseConvertArgs} from './convert_args.js';
import {CliError, ModelFiles, readModelFiles} from './model_files.js';
import {CliLayerRow, CliTotals, formatReport} from './report_table.js';

/** Where the command writes: lines of output, lines of errors, and the stream the progress bar draws on. */
export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  /** A terminal to draw the progress bar on; none draws no bar. */
  progressStream?: NodeJS.WritableStream;
}

export const REPORT_FILE = 'tfjs-sparse-report.json';

async function checkWritable(out: string, modelJson: string): Promise<void> {
  if (resolve(out) === dirname(modelJson)) throw new CliError(`<out-dir> ${out} is the model's own directory; choose another`);
  try {
    await mkdir(out, {recursive: true});
    const probe = join(out, `.tfjs-sparse-write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (e) {
    throw new CliError(`cannot write to ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function gpuBytes(a: io.ModelArtifacts): number {
  return splitWeights(a.weightSpecs ?? [], a.weightData).reduce((s, e) => s + loadedBytes(e.spec, e.bytes.byteLength), 0);
}

/**
 * Every input as one tensor, concatenated over the batches, in the model's input order; `made` are the
 * tensors made here (the batches' own tensors stay the caller's).
 */
function stackBatches(batches: CalibrationBatch[], inputNames: string[]): {inputs: Tensor[], made: Tensor[]} {
  const perInput = inputNames.map((name, i) => batches.map((b, j) => {
    const t = Array.isArray(b) ? b[i] : b[name];
    if (t == null) throw new CliError(`calibration batch ${j} has no input '${name}' (the model's inputs: ${inputNames.join(', ')})`);
    return t;
  }));
  const inputs = perInput.map((ts) => ts.length === 1 ? ts[0] : concat(ts, 0));
  return {inputs, made: inputs.filter((_, i) => perInput[i].length > 1)};
}

interface Converted {
  rows: CliLayerRow[];
  sparsity: number;
  matmulBefore: number;
  matmulAfter: number;
  outputDeviation: number | null;
}

async function convertGraph(files: ModelFiles, a: ConvertArgs, calibration: CalibrationBatch[] | undefined,
    progress: (done: number, total: number, name: string) => void): Promise<Converted> {
  const {artifacts, report} = await sparsifyGraphModel(files.artifacts, {
    sparsity: a.sparsity === 'auto' ? {auto: a.budget!, ...(a.levels ? {levels: a.levels} : {})} : a.sparsity,
    method: a.method, calibration, skip: a.skip, minWeights: a.minWeights, valueType: a.valueType, onProgress: progress,
  });
  await fileSystem(a.out).save!(artifacts);
  return {
    rows: report.nodes.map((n) => ({
      name: n.node, kind: n.op, shape: n.shape, sparse: n.sparse, sparsity: n.sparsity, bytesBefore: n.bytesBefore,
      bytesAfter: n.bytesAfter, ...(n.reason != null ? {reason: n.reason} : {}),
    })),
    sparsity: report.sparsity, matmulBefore: report.bytesBefore, matmulAfter: report.bytesAfter, outputDeviation: report.outputDeviation,
  };
}

async function convertLayers(files: ModelFiles, a: ConvertArgs, calibration: CalibrationBatch[] | undefined,
    progress: (done: number, total: number, name: string) => void): Promise<Converted> {
  let model;
  try {
    model = await loadLayersModel(io.fromMemory(files.artifacts));
  } catch (e) {
    throw new CliError(`unsupported model: ${files.json} does not load as a LayersModel: ${(e as Error).message}`);
  }
  let stacked: {inputs: Tensor[], made: Tensor[]} | undefined;
  try {
    stacked = calibration ? stackBatches(calibration, model.inputNames) : undefined;
    const inputs = stacked == null ? undefined : stacked.inputs.length === 1 ? stacked.inputs[0] : stacked.inputs;
    const {model: sparse, report} = await sparsifyModel(model, {
      sparsity: a.sparsity === 'auto' ? {auto: a.budget!, ...(a.levels ? {levels: a.levels} : {})} : a.sparsity,
      method: a.method, calibration: inputs, skip: a.skip, minWeights: a.minWeights, valueType: a.valueType,
      onProgress: progress,
    });
    try {
      await sparse.save(fileSystem(a.out));
    } finally {
      sparse.dispose();
    }
    return {
      rows: report.layers.map((l) => ({
        name: l.name, kind: l.className, shape: l.shape, sparse: l.sparse, sparsity: l.sparsity, bytesBefore: l.bytesBefore,
        bytesAfter: l.bytesAfter, ...(l.reason != null ? {reason: l.reason} : {}),
      })),
      sparsity: report.sparsity, matmulBefore: report.bytesBefore, matmulAfter: report.bytesAfter, outputDeviation: report.outputDeviation,
    };
  } finally {
    if (stacked) dispose(stacked.made);
    model.dispose();
  }
}

/** Runs `tfjs-sparse convert <argv...>`; returns the exit code. */
export async function convertCommand(argv: string[], cli: CliIO): Promise<number> {
  let calibration: CalibrationBatch[] | undefined;
  let bar: SingleBar | null = null;
  try {
    const a = parseConvertArgs(argv);
    if (a.help) {
      cli.out(CONVERT_USAGE);
      return 0;
    }
    const files = await readModelFiles(a.model);
    await checkWritable(a.out, files.json);
    calibration = a.calibration != null ? await readCalibration(a.calibration) : undefined;
    const progress = (done: number, total: number, name: string) => {
      if (cli.progressStream == null) return;
      if (bar == null) {
        bar = new SingleBar({format: ' {bar} {value}/{total} {layer}', stream: cli.progressStream, clearOnComplete: true, hideCursor: true},
            Presets.shades_classic);
        bar.start(total, 0, {layer: ''});
      }
      bar.update(done, {layer: name.length > 50 ? `…${name.slice(-49)}` : name});
    };
    cli.out(`${files.kind === 'graph' ? 'GraphModel' : 'LayersModel'} ${files.json}: ${a.method}, ` +
        `${a.sparsity === 'auto' ? `auto sparsity, budget ${a.budget}` : `sparsity ${a.sparsity}`}, ${a.valueType} values` +
        `${calibration ? `, calibration runs on ${getBackend()}` : ''}`);
    let converted: Converted;
    try {
      converted = files.kind === 'graph' ? await convertGraph(files, a, calibration, progress) : await convertLayers(files, a, calibration, progress);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`conversion failed: ${(e as Error).message}`);
    } finally {
      (bar as SingleBar | null)?.stop();
    }
    const written = await readModelFiles(a.out);
    const totals: CliTotals = {
      diskBytesBefore: files.diskBytes, diskBytesAfter: written.diskBytes,
      gpuBytesBefore: gpuBytes(files.artifacts), gpuBytesAfter: gpuBytes(written.artifacts),
      matmulBytesBefore: converted.matmulBefore, matmulBytesAfter: converted.matmulAfter, sparsity: converted.sparsity,
    };
    for (const line of formatReport(converted.rows, totals)) cli.out(line);
    if (converted.outputDeviation != null) cli.out(`output deviation on the calibration data: ${converted.outputDeviation.toFixed(4)} (‖y − y_dense‖ / ‖y_dense‖)`);
    const reportFile = a.report ?? join(a.out, REPORT_FILE);
    const report = {
      input: files.json, output: written.json, kind: files.kind, method: a.method,
      sparsity: a.sparsity === 'auto' ? {auto: a.budget, levels: a.levels ?? null} : a.sparsity, valueType: a.valueType,
      layers: converted.rows, totals, outputDeviation: converted.outputDeviation,
    };
    try {
      await writeFile(reportFile, JSON.stringify(report, null, 2));
    } catch (e) {
      throw new CliError(`cannot write the report to ${reportFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    cli.out(`wrote ${written.json} and ${reportFile}`);
    return 0;
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    cli.err(`tfjs-sparse convert: ${e.message}`);
    return 1;
  } finally {
    if (calibration) dispose(calibration.flatMap((b) => Object.values(b)));
  }
}

