/**
 * Issue #7: fuzzing the GraphModel loader (tfjs-converter's loadGraphModel) on a model converted by
 * sparsifyGraphModel, whose manifest holds each converted node's encoded weight (int32 header, offsets
 * and values Const nodes), served from memory and (in Node) through the file-system handler with two
 * shards. The mutations are helpers/loader_fuzz.ts's, plus the converted nodes' attributes and inputs in
 * model.json.
 *
 * A GraphModel checks little when it loads: a broken weight or attribute shows when the graph runs. So a
 * loader here loads and then executes the model once on the subject's input; "loads" means both work.
 */
import * as tf from '@tensorflow/tfjs-core';
import {GraphModel, loadGraphModel} from '@tensorflow/tfjs-converter';
import './helpers/setup';
import {sparsifyGraphModel} from '../src/graph';
import type {EncodedSparseMatrix} from '../src/index';
import {fileSystem} from '../src/node/file_system';
import {GraphBuilder} from './graph/synthetic_graph';
import {checkLoaderCase, fileSystemLoader, FuzzLoader, FuzzSubject, fuzzCases, int32Weights, joined, LoadedModel, ModelFiles} from './helpers/loader_fuzz';
import {itHolds} from './helpers/property';
import {rng} from './helpers/random';

interface NodeJson {name: string, op: string, input?: string[], attr?: Record<string, {i?: string, f?: number, b?: boolean, s?: string}>}

/** What a loader's error may say: each names the node, weight, file, shape or dtype that is wrong. */
const NAMED = new RegExp([
  /TfjsSparseMatMul \(weight '\w+'\): /, /fileSystem: /, /the tensor should have \d+ values but has \d+/,
  /Tensor must have a shape comprised of positive integers/, /Missing the following inputs: \[\S+\]/,
  /Error in matMul: inner shapes \(\d+\) and \(\w+\) of Tensors with shapes [\d,]* and [\d,]* .* must match/,
  /Argument '\w+' passed to '\w+' must be numeric tensor, but got \w+ tensor/,
  /The shape of dict\['\w+'\] provided in model.execute\(dict\) must be \[.*\], but was \[.*\]/,
].map((r) => r.source).join('|'));

/** TF.js's decodeWeights on weight data of the wrong size (see fuzz_loader.spec.ts). */
const TFJS_DECODE = /byte length of \w+ should be a multiple of \d+/;

const B = 3, K0 = 40;

/**
 * x [B, 40] ─ MatMul [40, 64] ─ Relu ─ _FusedMatMul(transpose_b) [48, 64] (BiasAdd, LeakyRelu 0.3)
 * ─ MatMul [48, 10] (left dense); the first two become sparse nodes.
 */
async function graphFiles(): Promise<ModelFiles> {
  const r = rng('fuzz graph loader model');
  const g = new GraphBuilder();
  const w = (name: string, shape: number[]) => g.constant(name, r.normals(shape[0] * shape[1], 1 / Math.sqrt(shape[0])), shape);
  const x = g.placeholder('x', [-1, K0]);
  g.op('mm', 'MatMul', [x, w('w_mm', [K0, 64])], {transpose_a: {b: false}, transpose_b: {b: false}});
  g.op('relu', 'Relu', ['mm']);
  g.op('fused', '_FusedMatMul', ['relu', w('w_fused', [48, 64]), g.constant('b_fused', r.normals(48, 0.2), [48])], {
    fused_ops: {list: {s: ['BiasAdd', 'LeakyRelu'].map((s) => btoa(s))}}, num_args: {i: '1'}, leakyrelu_alpha: {f: 0.3},
    transpose_a: {b: false}, transpose_b: {b: true},
  });
  g.op('out', 'MatMul', ['fused', w('w_out', [48, 10])], {transpose_a: {b: false}, transpose_b: {b: false}});
  const {artifacts} = await sparsifyGraphModel(g.artifacts(), {sparsity: {mm: 0.7, fused: 0.5}, minWeights: 0});
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData!));
  const cut = Math.floor(data.length / 2 / 4) * 4;
  return {modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs!, shards: [data.slice(0, cut), data.slice(cut)], missing: []};
}

const input = () => tf.tensor2d(rng('fuzz graph loader input').normals(B * K0), [B, K0]);

/** Loads the model, then runs it once, so that what a GraphModel checks only when it runs counts as loading. */
async function loadAndRun(handler: tf.io.IOHandler): Promise<LoadedModel> {
  const model: GraphModel = await loadGraphModel(handler);
  const x = input();
  try {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    x.dispose();
  }
  return {predict: (t) => model.predict(t) as tf.Tensor, dispose: () => model.dispose()};
}

const loaders: FuzzLoader[] = [{
  name: 'memory',
  load: (f) => loadAndRun(tf.io.fromMemory({
    modelTopology: f.modelTopology as object, format: 'graph-model', weightSpecs: f.weightSpecs, weightData: joined(f),
  })),
  refusesExtraBytes: false,
  refusesMissingFiles: false,
  tfjsDecodeErrors: TFJS_DECODE,
}];

const onDisk = fileSystemLoader('graph-model', 'tfjs-sparse-graph-fuzz-', (dir) => loadAndRun(fileSystem(dir)));
if (onDisk) loaders.push(onDisk);

describe('GraphModel loader fuzz', () => {
  let subject: FuzzSubject | null = null;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const files = await graphFiles();
    const nodes = (files.modelTopology as {node: NodeJson[]}).node;
    const sparse = nodes.filter((n) => n.op === 'TfjsSparseMatMul');
    expect(sparse.map((n) => n.name).sort()).toEqual(['fused', 'mm']);
    const index = (name: string) => nodes.findIndex((n) => n.name === name);
    const attr = (name: string, key: string, kind: 'i' | 'f' | 'b' | 's') => ['node', index(name), 'attr', key, kind];
    const fail = (...values: unknown[]) => values.map((value) => ({value, loads: false}));
    const load = (...values: unknown[]) => values.map((value) => ({value, loads: true}));
    const s = (...v: string[]) => v.map((x) => btoa(x));
    subject = {
      name: 'x → sparse MatMul → Relu → sparse _FusedMatMul → MatMul',
      files: () => files,
      input,
      dtypeUnchecked: ['w_out'],
      encodings: (f) => {
        const at = int32Weights(f);
        return sparse.map((n): EncodedSparseMatrix => {
          const [, h, o, v] = n.input!;
          return {
            format: 'tiled-bitmap', version: 1, shape: [Number(n.attr!['K'].i), Number(n.attr!['N'].i)],
            valueType: atob(n.attr!['value_type'].s!) as 'float16' | 'float32', header: at.get(h)!, offsets: at.get(o)!, values: at.get(v)!,
          };
        });
      },
      topologyFields: [
        {path: ['node', index('x'), 'attr', 'shape', 'shape', 'dim', 1, 'size'], values: [...fail('41', '39'), ...load('40', '-1')]},
        ...sparse.flatMap((n) => {
          const K = Number(n.attr!['K'].i), N = Number(n.attr!['N'].i);
          const [, h, o, v] = n.input!;
          const fused = n.name === 'fused';
          return [
            {path: attr(n.name, 'K', 'i'), values: [...fail(String(K - 1), String(K + 1), String(2 * K), '0', '-1', 'x', '1e9', String(2 ** 31)), ...load(String(K))]},
            {path: attr(n.name, 'N', 'i'), values: [...fail(String(N - 1), String(N + 1), String(2 * N), '0', '-1', 'x', String(2 ** 31)), ...load(String(N))]},
            {path: attr(n.name, 'value_type', 's'), values: [...fail(...s('float32', 'bfloat16', '')), ...load(...s('float16'))]},
            {path: attr(n.name, 'format_version', 'i'), values: [...fail('2', '0', '-1', 'x'), ...load('1')]},
            {path: attr(n.name, 'format', 's'), values: [...fail(...s('csr', '')), ...load(...s('tiled-bitmap'))]},
            {path: attr(n.name, 'activation', 's'), values: [...fail(...s('nonsense', '', 'tanh', 'prelu')), ...load(...s('linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'))]},
            {path: attr(n.name, 'leakyrelu_alpha', 'f'), values: load(0, 0.5, -2)},
            {path: attr(n.name, 'num_args', 'i'), values: [...fail(fused ? '2' : '1', '3', '-1', 'x'), ...load(...fused ? ['0', '1'] : ['0'])]},
            {path: attr(n.name, 'transpose_x', 'b'), values: [...fail(true), ...load(false)]},
            {path: attr(n.name, 'out_rank', 'i'), values: [...fail('-1', 'x'), ...load('0', '2')]},
            // The encoded weight's inputs swapped, or pointing at another node's arrays or at a dense weight.
            ...[1, 2, 3].map((i) => ({
              path: ['node', index(n.name), 'input', i],
              values: [...fail(...[h, o, v].filter((_, j) => j !== i - 1), 'w_out', 'x'), ...load(n.input![i])],
            })),
          ];
        }),
      ],
    };
  });

  itHolds('names every problem in a broken converted GraphModel and runs every valid one', 300, () => fuzzCases(subject!, loaders), async (c) => {
    return checkLoaderCase(subject!, loaders, c, NAMED);
  });
});
