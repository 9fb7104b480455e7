/**
 * A fuzz harness for model loaders: mutates the files of a valid model (its topology JSON, weight specs
 * and weight data, and the shards a loader reads) and holds the loader to what each mutation must give:
 * - a broken model must end in a thrown Error (not a TypeError, RangeError or other engine error) whose
 *   message names the problem, within a time limit (no hang);
 * - a model that is still valid must load and predict, and leave no tensor after dispose.
 *
 * A subject is a model with its own knowledge of what a mutation breaks (which topology values load,
 * how to find its sparse encodings in the weight data); a loader serves the files and loads them. The
 * LayersModel subject and loaders are in test/fuzz_loader.spec.ts, the GraphModel ones in
 * test/fuzz_loader_graph.spec.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import type {EncodedSparseMatrix} from '../../src/index';
import {formatProblem} from './format_checker';

export interface LoadedModel {
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  dispose(): void;
}

/** The files of a model: model.json's parts, and its weight data split into shards. */
export interface ModelFiles {
  modelTopology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** The weight files, in manifest order; a loader without files joins them. */
  shards: Uint8Array[];
  /** Extra paths in the manifest that no file backs (a shard that was never uploaded). */
  missing: string[];
}

export interface FuzzSubject {
  name: string;
  /** Valid files (the weight data as one shard or more). */
  files(): ModelFiles;
  /** An input batch for predict. */
  input(): tf.Tensor;
  /** The sparse encodings stored in `files` (whose weight data may be mutated), to be held to the format checker. */
  encodings(files: ModelFiles): EncodedSparseMatrix[];
  /** Fields of the topology a mutation may set, each with values and whether the model still loads. */
  topologyFields: Array<{path: Array<string | number>, values: Array<{value: unknown, loads: boolean}>}>;
  /**
   * Float32 weights that may be read as int32 or bool without an error: a GraphModel's Const node does
   * not check its manifest dtype, and TF.js's dense ops upcast such a weight (the model runs, on wrong values).
   */
  dtypeUnchecked?: string[];
}

export interface FuzzLoader {
  name: string;
  /** Serves the files (from memory, a fake server, the file system) and loads them. */
  load(files: ModelFiles): Promise<LoadedModel>;
  /** Whether bytes after the last weight are refused (TF.js's own loaders ignore them). */
  refusesExtraBytes: boolean;
  /** Whether a weight file the manifest lists but that does not exist is refused (TF.js's http loader reads a 404 page as weight data). */
  refusesMissingFiles: boolean;
  /**
   * Engine errors (TypeError, RangeError) that TF.js's own weight decoding throws for data of the wrong
   * size, accepted from this loader as naming that problem.
   */
  tfjsDecodeErrors?: RegExp;
}

/** The shards joined into one buffer, for loaders that take the weight data whole. */
export function joined(files: ModelFiles): ArrayBuffer {
  const total = files.shards.reduce((a, s) => a + s.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const s of files.shards) {
    out.set(s, at);
    at += s.length;
  }
  return out.buffer;
}

/** The weight file names a manifest lists: one per shard, then the missing ones. */
export function paths(files: ModelFiles): string[] {
  return [...files.shards.map((_, i) => `group1-shard${i + 1}of${files.shards.length}.bin`), ...files.missing];
}

/**
 * Each weight of `files` as int32 words over the joined weight data, in manifest order (where the data is
 * short, the later weights are short or empty): what a subject's `encodings` read back.
 */
export function int32Weights(files: ModelFiles): Map<string, Int32Array> {
  const data = new Int32Array(joined(files), 0, Math.floor(files.shards.reduce((a, s) => a + s.length, 0) / 4));
  const at = new Map<string, Int32Array>();
  let offset = 0;
  for (const spec of files.weightSpecs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    at.set(spec.name, data.subarray(offset, offset + size));
    offset += size;
  }
  return at;
}

/** model.json for `files`, its manifest listing the shards and the missing files. */
export function modelJSON(files: ModelFiles, format: 'layers-model' | 'graph-model'): string {
  return JSON.stringify({
    modelTopology: files.modelTopology, format, generatedBy: 'fuzz',
    weightsManifest: [{paths: paths(files), weights: files.weightSpecs}],
  });
}

type NodeProcess = {getBuiltinModule?: (id: string) => unknown};

/**
 * In Node, a loader that writes model.json and the shards into a temporary folder (`prefix` names it;
 * removed after the spec file) and opens it with `open`; null where there is no file system.
 */
export function fileSystemLoader(format: 'layers-model' | 'graph-model', prefix: string,
    open: (dir: string) => Promise<LoadedModel>): FuzzLoader | null {
  const node = (globalThis as {process?: NodeProcess}).process;
  if (node?.getBuiltinModule == null) return null;
  const fs = node.getBuiltinModule('node:fs') as typeof import('node:fs');
  const os = node.getBuiltinModule('node:os') as typeof import('node:os');
  const path = node.getBuiltinModule('node:path') as typeof import('node:path');
  let dir = '';
  afterAll(() => {
    if (dir !== '') fs.rmSync(dir, {recursive: true, force: true});
  });
  return {
    name: 'fileSystem (two shards)',
    load: (f) => {
      if (dir === '') dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, 'model.json'), modelJSON(f, format));
      f.shards.forEach((s, i) => fs.writeFileSync(path.join(dir, paths(f)[i]), s));
      return open(dir);
    },
    refusesExtraBytes: true,
    refusesMissingFiles: true,
  };
}

type Mutation =
  | {kind: 'truncateData', shard: number, keep: number}
  | {kind: 'extendData', shard: number, extra: number}
  | {kind: 'flipData', at: number, bit: number}
  | {kind: 'specShape', spec: number, change: 'plus1' | 'minus1' | 'double' | 'scalar' | 'zero' | 'negative' | 'rank2'}
  | {kind: 'specDtype', spec: number, dtype: 'int32' | 'float32' | 'bool' | 'string' | 'complex64'}
  | {kind: 'dropSpec', spec: number}
  | {kind: 'extraSpec', size: number}
  | {kind: 'missingShard'}
  | {kind: 'topology', field: number, value: number};

export interface FuzzCase {
  loader: number;
  mutation: Mutation;
}

export function fuzzCases(subject: FuzzSubject, loaders: FuzzLoader[]): fc.Arbitrary<FuzzCase> {
  const files = subject.files();
  const specs = files.weightSpecs.length;
  const shards = files.shards.length;
  const fraction = fc.double({min: 0, max: 1, maxExcluded: true, noNaN: true});
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({kind: fc.constant('truncateData' as const), shard: fc.integer({min: 0, max: shards - 1}), keep: fraction}),
      fc.record({kind: fc.constant('extendData' as const), shard: fc.integer({min: 0, max: shards - 1}), extra: fc.integer({min: 1, max: 64})}),
      fc.record({kind: fc.constant('flipData' as const), at: fraction, bit: fc.integer({min: 0, max: 7})}),
      fc.record({kind: fc.constant('flipData' as const), at: fraction, bit: fc.integer({min: 0, max: 7})}),
      fc.record({
        kind: fc.constant('specShape' as const), spec: fc.integer({min: 0, max: specs - 1}),
        change: fc.constantFrom('plus1', 'minus1', 'double', 'scalar', 'zero', 'negative', 'rank2'),
      }),
      fc.record({kind: fc.constant('specDtype' as const), spec: fc.integer({min: 0, max: specs - 1}), dtype: fc.constantFrom('int32', 'float32', 'bool', 'string', 'complex64')}),
      fc.record({kind: fc.constant('dropSpec' as const), spec: fc.integer({min: 0, max: specs - 1})}),
      fc.record({kind: fc.constant('extraSpec' as const), size: fc.integer({min: 1, max: 100})}),
      fc.record({kind: fc.constant('missingShard' as const)}),
      fc.integer({min: 0, max: subject.topologyFields.length - 1}).chain((field) => fc.record({
        kind: fc.constant('topology' as const), field: fc.constant(field),
        value: fc.integer({min: 0, max: subject.topologyFields[field].values.length - 1}),
      })));
  return fc.record({loader: fc.integer({min: 0, max: loaders.length - 1}), mutation});
}

function cloneFiles(f: ModelFiles): ModelFiles {
  return {
    modelTopology: JSON.parse(JSON.stringify(f.modelTopology)), weightSpecs: JSON.parse(JSON.stringify(f.weightSpecs)),
    shards: f.shards.map((s) => s.slice()), missing: [...f.missing],
  };
}

/**
 * Applies the mutation; returns whether the result must fail to load, must load, may do either, or is
 * decided by the sparse encodings.
 */
function mutate(subject: FuzzSubject, loader: FuzzLoader, f: ModelFiles, m: Mutation): 'fail' | 'load' | 'either' | 'encodings' {
  switch (m.kind) {
    case 'truncateData':
      f.shards[m.shard] = f.shards[m.shard].slice(0, Math.floor(m.keep * f.shards[m.shard].length));
      return 'fail';
    case 'extendData': {
      const s = new Uint8Array(f.shards[m.shard].length + m.extra);
      s.set(f.shards[m.shard]);
      f.shards[m.shard] = s;
      if (loader.refusesExtraBytes) return 'fail';
      // Bytes inside the weight data shift what follows (past the end, where TF.js ignores them, nothing):
      // a shift that moves only float bytes gives a valid model, so the shifted encodings decide.
      return m.shard < f.shards.length - 1 ? 'encodings' : 'load';
    }
    case 'flipData': {
      const total = f.shards.reduce((a, s) => a + s.length, 0);
      let at = Math.floor(m.at * total);
      for (const s of f.shards) {
        if (at < s.length) {
          s[at] ^= 1 << m.bit;
          break;
        }
        at -= s.length;
      }
      return 'encodings';
    }
    case 'specShape': {
      const spec = f.weightSpecs[m.spec];
      const n = spec.shape.reduce((a, b) => a * b, 1);
      spec.shape = {plus1: [n + 1], minus1: [n - 1], double: [2 * n], scalar: [], zero: [0], negative: [-n], rank2: [n, 1]}[m.change];
      return 'fail';
    }
    case 'specDtype': {
      const spec = f.weightSpecs[m.spec];
      if (spec.dtype === m.dtype) return 'load';
      const unchecked = (m.dtype === 'int32' || m.dtype === 'bool') && subject.dtypeUnchecked?.includes(spec.name) === true;
      spec.dtype = m.dtype;
      return unchecked ? 'either' : 'fail';
    }
    case 'dropSpec':
      f.weightSpecs.splice(m.spec, 1);
      return 'fail';
    case 'extraSpec':
      f.weightSpecs.push({name: 'extra/weight', shape: [m.size], dtype: 'float32'});
      return 'fail';
    case 'missingShard':
      f.missing.push('group1-missing.bin');
      return loader.refusesMissingFiles ? 'fail' : 'either';
    case 'topology': {
      const field = subject.topologyFields[m.field];
      let node = f.modelTopology as Record<string | number, unknown>;
      for (const key of field.path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
      const {value, loads} = field.values[m.value];
      node[field.path[field.path.length - 1]] = value;
      return loads ? 'load' : 'fail';
    }
  }
}

/** A message that names a problem: anything but an engine error about the harness's own code. */
const ENGINE_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: no answer in ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(timer));
}

/** Runs one case; returns what is wrong, or null. */
export async function checkLoaderCase(subject: FuzzSubject, loaders: FuzzLoader[], c: FuzzCase, named: RegExp): Promise<string | null> {
  const loader = loaders[c.loader];
  const files = cloneFiles(subject.files());
  let expect = mutate(subject, loader, files, c.mutation);
  if (expect === 'encodings') {
    let problem: string | null = null;
    try {
      for (const e of subject.encodings(files)) problem ??= formatProblem(e);
    } catch (e) {
      problem = `unreadable: ${(e as Error).message}`;
    }
    expect = problem === null ? 'load' : 'fail';
  }
  const what = `${subject.name} via ${loader.name}, ${JSON.stringify(c.mutation)}`;
  let model: LoadedModel | null = null;
  let error: unknown = null;
  const before = tf.memory().numTensors;
  try {
    model = await withTimeout(loader.load(files), 10000);
  } catch (e) {
    error = e;
  }
  if (error instanceof Error && error.message.startsWith('HANG')) return `${what}: ${error.message}`;
  if (model === null && expect !== 'load') {
    if (!(error instanceof Error)) return `${what}: threw ${String(error)}, not an Error`;
    if (ENGINE_ERRORS.some((E) => error instanceof E) && !loader.tfjsDecodeErrors?.test(error.message)) {
      return `${what}: threw ${String(error)}, an engine error rather than one naming the problem`;
    }
    return named.test(error.message) || loader.tfjsDecodeErrors?.test(error.message) ? null :
        `${what}: the message "${error.message}" does not name the problem`;
  }
  if (model === null) return `${what}: refused a valid model: ${String(error)}`;
  if (expect === 'fail') {
    model.dispose();
    return `${what}: loaded a broken model`;
  }
  const x = subject.input();
  try {
    const y = model.predict(x);
    const ys = Array.isArray(y) ? y : [y];
    for (const t of ys) await t.data();
    tf.dispose(ys);
  } catch (e) {
    return `${what}: loaded, but predict threw ${String(e)}`;
  } finally {
    x.dispose();
    model.dispose();
  }
  const left = tf.memory().numTensors - before;
  return left === 0 ? null : `${what}: load, predict and dispose left ${left} tensors`;
}
