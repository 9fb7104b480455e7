/**
 * Issue #5: GraphModel conversion. A hand-built GraphModel (test/graph/synthetic_graph.ts) with every node
 * form the converter handles (MatMul with each transpose, _FusedMatMul with bias + relu / leakyrelu,
 * Conv2D and _FusedConv2D 1×1 with bias + prelu, BatchMatMul(V2) with adj_x / adj_y and a rank-3 weight)
 * and nodes it must leave dense. Converted artifacts load with tf.loadGraphModel(tf.io.fromMemory(...)),
 * in Node and in the browser; each converted node matches a float64 reference, and whole models match
 * the dense model.
 */
import * as tf from '@tensorflow/tfjs-core';
import {loadGraphModel} from '@tensorflow/tfjs-converter';
import {SPARSE_GRAPH_OP, sparsifyGraphModel} from '../../src/graph';
import type {GraphSparsifyOptions} from '../../src/graph';
import {describeEachBackend} from '../helpers/backends';
import {readEncoded} from '../helpers/format_reader';
import {expectNoLeakedTensors} from '../helpers/leaks';
import {rng} from '../helpers/random';
import {expectAllClose, refMatMul, transpose2d} from '../helpers/reference';
import type {Activation} from '../../src/index';
import {inputStats} from '../../src/graph/graph_calibration';
import {CONVERTED, LEFT_DENSE, OUTPUTS, syntheticGraph} from './synthetic_graph';

interface NodeJson {name: string, op: string, input?: string[], attr?: Record<string, {i?: string, f?: number, b?: boolean, s?: string}>}

function nodesOf(a: tf.io.ModelArtifacts): NodeJson[] {
  return (a.modelTopology as {node: NodeJson[]}).node;
}

/** A weight's bytes in the artifacts, by name (a view into the weight data: writes change the artifacts). */
function weightBytes(a: tf.io.ModelArtifacts, name: string): Uint8Array {
  let offset = 0;
  if (!(a.weightData instanceof ArrayBuffer)) throw new Error('expected the weight data as one ArrayBuffer');
  const data = new Uint8Array(a.weightData);
  for (const spec of a.weightSpecs!) {
    const bytes = spec.shape.reduce((x, y) => x * y, 1) * 4;
    if (spec.name === name) return data.subarray(offset, offset + bytes);
    offset += bytes;
  }
  throw new Error(`no weight ${name}`);
}

const int32Of = (a: tf.io.ModelArtifacts, name: string) => new Int32Array(weightBytes(a, name).slice().buffer);
const float32Of = (a: tf.io.ModelArtifacts, name: string) => new Float32Array(weightBytes(a, name).slice().buffer);

function copyArtifacts(a: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  return {...a, modelTopology: JSON.parse(JSON.stringify(a.modelTopology)), weightData: tf.io.CompositeArrayBuffer.join(a.weightData!).slice(0)};
}

/** The dense [K, N] weight of a converted node, read with the test's own decoder (float64). */
function decodedWeight(a: tf.io.ModelArtifacts, node: NodeJson): {w: Float64Array, K: number, N: number} {
  const [, h, o, v] = node.input!;
  const K = Number(node.attr!['K'].i), N = Number(node.attr!['N'].i);
  const valueType = atob(node.attr!['value_type'].s!) as 'float16' | 'float32';
  const offsets = int32Of(a, o);
  const values = offsets[offsets.length - 1] === 0 ? new Int32Array(0) : int32Of(a, v);
  const {dense} = readEncoded({format: 'tiled-bitmap', version: 1, shape: [K, N], valueType, header: int32Of(a, h), offsets, values});
  return {w: dense, K, N};
}

/** x's rows [M, K] of a node input, as the node multiplies them. */
function rowsOf(x: Float32Array, shape: number[], K: number, transposeX: boolean): Float32Array {
  if (!transposeX) return x;
  const [R, C] = shape.slice(-2);
  const batch = x.length / (R * C);
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) out.set(transpose2d(x.subarray(b * R * C, (b + 1) * R * C), R, C), b * R * C);
  expect(R).toBe(K);
  return out;
}

// Conversion does not depend on the backend: these run on cpu.
describe('sparsifyGraphModel', () => {
  expectNoLeakedTensors();

  it('converts every matmul form with a constant weight and reports the nodes it leaves dense', async () => {
    const dense = syntheticGraph(rng('graph forms'));
    const {artifacts, report} = await sparsifyGraphModel(dense, {sparsity: 0.5, minWeights: 0});
    const byNode = new Map(report.nodes.map((n) => [n.node, n]));
    expect(report.nodes.length).toBe(CONVERTED.length + Object.keys(LEFT_DENSE).length);
    for (const name of CONVERTED) {
      const n = byNode.get(name)!;
      expect(n.sparse).withContext(name).toBeTrue();
      expect(n.reason).withContext(name).toBeUndefined();
      expect(n.sparsity!).withContext(name).toBeCloseTo(0.5, 1);
      expect(n.bytesAfter).withContext(name).toBeLessThan(n.bytesBefore * 1.2);
    }
    for (const [name, why] of Object.entries(LEFT_DENSE)) {
      expect(byNode.get(name)!.sparse).withContext(name).toBeFalse();
      expect(byNode.get(name)!.reason).withContext(name).toContain(why);
    }
    const nodes = new Map(nodesOf(artifacts).map((n) => [n.name, n]));
    const specs = new Map(artifacts.weightSpecs!.map((s) => [s.name, s]));
    for (const name of CONVERTED) {
      const node = nodes.get(name)!;
      expect(node.op).toBe(SPARSE_GRAPH_OP);
      for (const input of node.input!.slice(1, 4)) {
        expect(nodes.get(input)!.op).toBe('Const');
        expect(specs.get(input)!.dtype).toBe('int32');
      }
    }
    for (const name of Object.keys(LEFT_DENSE)) expect(nodes.get(name)!.op).toBe(nodesOf(dense).find((n) => n.name === name)!.op);
    // The dense weights of converted nodes are gone; those of nodes left dense stay, byte for byte.
    expect(specs.has('w_plain')).toBeFalse();
    expect(specs.has('k_fused')).toBeFalse();
    expect(Array.from(float32Of(artifacts, 'k_3x3'))).toEqual(Array.from(float32Of(dense, 'k_3x3')));
    expect(Array.from(float32Of(artifacts, 'w_shared'))).toEqual(Array.from(float32Of(dense, 'w_shared')));
    expect(report.weightsAfter.file).toBeLessThan(report.weightsBefore.file);
  });

  it('keeps the model outputs: same weights → same outputs, and no pruning → within f16 rounding', async () => {
    const r = rng('graph outputs');
    const denseArtifacts = syntheticGraph(r);
    const x = tf.tensor2d(r.normals(5 * 40), [5, 40]);
    const dense = await loadGraphModel(tf.io.fromMemory(denseArtifacts));
    const yDense = dense.execute(x, OUTPUTS) as tf.Tensor[];
    for (const [valueType, bound] of [['float32', 1e-5], ['float16', 5e-3]] as const) {
      const {artifacts} = await sparsifyGraphModel(denseArtifacts, {sparsity: 0, minWeights: 0, valueType});
      expect(nodesOf(artifacts).filter((n) => n.op === SPARSE_GRAPH_OP).map((n) => n.name).sort()).toEqual([...CONVERTED].sort());
      const model = await loadGraphModel(tf.io.fromMemory(artifacts));
      const ys = model.execute(x, OUTPUTS) as tf.Tensor[];
      for (const [i, name] of OUTPUTS.entries()) {
        expect(ys[i].shape).toEqual(yDense[i].shape);
        expect(await relError(ys[i], yDense[i])).withContext(`${valueType} ${name}`).toBeLessThan(bound);
      }
      tf.dispose(ys);
      model.dispose();
    }
    // Pruned: the dense graph fed the decoded sparse weights computes the same outputs.
    const {artifacts} = await sparsifyGraphModel(denseArtifacts, {sparsity: 0.7, minWeights: 0});
    const model = await loadGraphModel(tf.io.fromMemory(artifacts));
    const feeds: tf.NamedTensorMap = {x};
    for (const node of nodesOf(artifacts).filter((n) => n.op === SPARSE_GRAPH_OP)) {
      const {w, K, N} = decodedWeight(artifacts, node);
      const weight = atob(node.attr!['weight'].s!);
      const spec = denseArtifacts.weightSpecs!.find((s) => s.name === weight)!;
      const stored = node.name === 'mm_tb' || node.name === 'bmm_adj' ? transpose2d(Float32Array.from(w), K, N) : Float32Array.from(w);
      feeds[weight] = tf.tensor(stored, spec.shape);
    }
    const ys = model.execute(x, OUTPUTS) as tf.Tensor[];
    const twin = dense.execute(feeds, OUTPUTS) as tf.Tensor[];
    for (const [i, name] of OUTPUTS.entries()) expect(await relError(ys[i], twin[i])).withContext(name).toBeLessThan(1e-5);
    expect(await relError(ys[0], yDense[0])).withContext('pruning changed the output').toBeGreaterThan(1e-3);
    tf.dispose([...ys, ...twin, ...yDense, ...Object.values(feeds)]);
    model.dispose();
    dense.dispose();
  });

  it('calibrates wanda, sparsegpt and auto by running the graph', async () => {
    const r = rng('graph calibration');
    const dense = syntheticGraph(r);
    const calibration = [tf.tensor2d(r.normals(24 * 40), [24, 40]), tf.tensor2d(r.normals(24 * 40), [24, 40])];
    const deviation: Record<string, number> = {};
    for (const method of ['magnitude', 'wanda', 'sparsegpt'] as const) {
      const {report} = await sparsifyGraphModel(dense, {sparsity: 0.5, minWeights: 0, method, calibration});
      for (const n of report.nodes.filter((x) => x.sparse)) expect(n.sparsity!).withContext(`${method} ${n.node}`).toBeCloseTo(0.5, 1);
      deviation[method] = report.outputDeviation!;
      expect(deviation[method]).toBeGreaterThan(0);
    }
    // SparseGPT rebuilds what pruning removes: on these random layers it moves the outputs least.
    expect(deviation['sparsegpt']).toBeLessThan(deviation['magnitude']);
    const {report} = await sparsifyGraphModel(dense, {sparsity: {auto: 0.5, levels: [0.3, 0.5, 0.7, 0.9]}, minWeights: 0, method: 'wanda', calibration});
    const converted = report.nodes.filter((n) => CONVERTED.includes(n.node));
    const size = (n: typeof converted[number]) => n.shape![0] * n.shape![1];
    const zeros = converted.reduce((a, n) => a + n.sparsity! * size(n), 0) / converted.reduce((a, n) => a + size(n), 0);
    expect(zeros).toBeGreaterThanOrEqual(0.49);
    expect(zeros).toBeLessThan(0.62);
    expect(new Set(converted.map((n) => n.sparsity!.toFixed(1))).size).withContext('one level for all').toBeGreaterThan(1);
    expect(report.auto!.levels).toEqual([0.3, 0.5, 0.7, 0.9]);
    expect(Object.keys(report.auto!.deviations).sort()).toEqual([...CONVERTED].sort());
    for (const d of Object.values(report.auto!.deviations)) expect(d.every((v, i) => v > 0 && (i === 0 || v >= 0.5 * d[i - 1]))).toBeTrue();
    tf.dispose(calibration);
  });

  it('measures a node\'s input as the rows it multiplies, transposed x included', async () => {
    const r = rng('graph stats');
    const model = await loadGraphModel(tf.io.fromMemory(syntheticGraph(r)));
    const batches = [tf.tensor2d(r.normals(6 * 40), [6, 40]), tf.tensor2d(r.normals(3 * 40), [3, 40])];
    const probes = [{input: 't_leaky', K: 40, transposeX: true}, {input: 't_r3', K: 8, transposeX: true}];
    const stats = await inputStats(model, batches, probes, true);
    // mm_ta multiplies the rows of fused_leaky [B, 40]; bmm_adj those of r3 [B, 6, 8].
    for (const [p, source] of [[0, 'fused_leaky'], [1, 'r3']] as const) {
      const K = probes[p].K;
      const sq = new Float64Array(K), gram = new Float64Array(K * K);
      let rows = 0;
      for (const b of batches) {
        const t = model.execute(b, source) as tf.Tensor;
        const v = await t.data();
        t.dispose();
        for (let i = 0; i < v.length / K; i++, rows++) {
          for (let k = 0; k < K; k++) {
            sq[k] += v[i * K + k] ** 2;
            for (let j = 0; j < K; j++) gram[k * K + j] += v[i * K + k] * v[i * K + j];
          }
        }
      }
      expect(stats[p].rows).toBe(rows);
      expectAllClose(stats[p].squareSums, sq, Array.from(sq, (v) => 1e-5 * v + 1e-6), [K], `${source} square sums`);
      expectAllClose(stats[p].gram!, gram, Array.from(gram, (_, i) => 1e-5 * Math.sqrt(sq[Math.floor(i / K)] * sq[i % K]) + 1e-6), [K, K], `${source} XᵀX`);
    }
    tf.dispose(batches);
    model.dispose();
  });

  it('refuses bad input with a message that says what is wrong', async () => {
    const dense = syntheticGraph(rng('graph errors'));
    const fails = (p: Promise<unknown>, msg: RegExp) => expectAsync(p).toBeRejectedWithError(msg);
    await fails(sparsifyGraphModel({...dense, modelTopology: {class_name: 'Sequential'}}, {sparsity: 0.5}), /not a GraphModel/);
    await fails(sparsifyGraphModel({...dense, weightData: new ArrayBuffer(100)}, {sparsity: 0.5}), /weight data ends at byte 100/);
    await fails(sparsifyGraphModel(dense, {sparsity: 1.5}), /sparsity must be a number in \[0, 1\], got 1.5/);
    await fails(sparsifyGraphModel(dense, {sparsity: 0.5, method: 'obs' as GraphSparsifyOptions['method']}), /unknown method 'obs'/);
    await fails(sparsifyGraphModel(dense, {sparsity: 0.5, method: 'wanda'}), /method 'wanda' needs calibration/);
    await fails(sparsifyGraphModel(dense, {sparsity: {nope: 0.5}}), /names 'nope', which is not a matmul-like node/);
  });

});

describeEachBackend('converted GraphModel', () => {
  expectNoLeakedTensors();

  it('runs each converted node as act(x·W + bias) against a float64 reference', async () => {
    const r = rng('graph nodes');
    const {artifacts} = await sparsifyGraphModel(syntheticGraph(r), {sparsity: 0.6, minWeights: 0});
    const model = await loadGraphModel(tf.io.fromMemory(artifacts));
    const nodes = new Map(nodesOf(artifacts).map((n) => [n.name, n]));
    const x = tf.tensor2d(r.normals(7 * 40), [7, 40]);
    const names = CONVERTED.flatMap((name) => [nodes.get(name)!.input![0], name]);
    const outs = model.execute(x, names) as tf.Tensor[];
    for (const [i, name] of CONVERTED.entries()) {
      const node = nodes.get(name)!;
      const attr = node.attr!;
      const {w, K, N} = decodedWeight(artifacts, node);
      const xin = outs[2 * i], y = outs[2 * i + 1];
      const transposeX = attr['transpose_x'].b === true;
      const rows = rowsOf(await xin.data() as Float32Array, xin.shape, K, transposeX);
      const M = rows.length / K;
      const numArgs = Number(attr['num_args'].i);
      const activation = atob(attr['activation'].s!) as Activation;
      const ref = refMatMul(rows, w, M, K, N, {
        activation, leakyreluAlpha: attr['leakyrelu_alpha'].f,
        bias: numArgs >= 1 ? float32Of(artifacts, node.input![4]) : undefined,
        prelu: numArgs >= 2 ? float32Of(artifacts, node.input![5]) : undefined,
      });
      expect(y.size).withContext(name).toBe(M * N);
      expectAllClose(await y.data(), ref.y, ref.tol, [M, N], name);
    }
    // The forms the graph holds: a transposed x, a transposed weight, fused activations and a prelu.
    expect(CONVERTED.filter((n) => nodes.get(n)!.attr!['transpose_x'].b)).toEqual(['mm_ta', 'bmm_adj']);
    expect(CONVERTED.map((n) => atob(nodes.get(n)!.attr!['activation'].s!))).toContain('prelu');
    expect(outs[CONVERTED.indexOf('bmm') * 2 + 1].shape).toEqual([7, 6, 12]);
    expect(outs[CONVERTED.indexOf('fconv_prelu') * 2 + 1].shape).toEqual([7, 2, 3, 16]);
    tf.dispose([x, ...outs]);
    model.dispose();
  });

  it('refuses to run a converted node whose encoded weight is corrupt, naming the weight', async () => {
    const r = rng('graph corrupt');
    const {artifacts} = await sparsifyGraphModel(syntheticGraph(r), {sparsity: 0.5, minWeights: 0});
    const bad = copyArtifacts(artifacts);
    const header = nodesOf(bad).find((n) => n.name === 'mm_plain')!.input![1];
    const words = weightBytes(bad, header);
    new Int32Array(words.buffer, words.byteOffset, 1)[0] ^= 0x10;  // one bit flipped in tile 0's bitmap
    const model = await loadGraphModel(tf.io.fromMemory(bad));
    const x = tf.tensor2d(r.normals(2 * 40), [2, 40]);
    expect(() => model.execute(x, ['mm_plain'])).toThrowError(/TfjsSparseMatMul \(weight 'w_plain'\): SparseMatrix.fromEncoded: tile 0/);
    x.dispose();
    model.dispose();
  });
});

// Found by the loader fuzz (fuzz_loader_graph.spec.ts): the node ran any `format` as tiled-bitmap, and
// sparseMatMul's errors on its bias did not say which node.
describe('converted GraphModel node attributes', () => {
  expectNoLeakedTensors();

  async function runWith(edit: (nodes: NodeJson[], a: tf.io.ModelArtifacts) => void): Promise<void> {
    const r = rng('graph node attributes');
    const {artifacts} = await sparsifyGraphModel(syntheticGraph(r), {sparsity: 0.5, minWeights: 0});
    const bad = copyArtifacts(artifacts);
    edit(nodesOf(bad), bad);
    const model = await loadGraphModel(tf.io.fromMemory(bad));
    const x = tf.tensor2d(r.normals(2 * 40), [2, 40]);
    try {
      const y = model.execute(x, ['fused_relu']) as tf.Tensor;
      y.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  }

  it('refuses a node whose format is not tiled-bitmap', async () => {
    await expectAsync(runWith((nodes) => {
      nodes.find((n) => n.name === 'mm_plain')!.attr!['format'].s = btoa('csr');
    })).toBeRejectedWithError(/TfjsSparseMatMul \(weight 'w_plain'\): unknown format 'csr', this build reads 'tiled-bitmap'/);
  });

  it('names the node whose fused bias is wrong', async () => {
    await expectAsync(runWith((nodes, a) => {
      const bias = nodes.find((n) => n.name === 'fused_relu')!.input![4];
      a.weightSpecs!.find((s) => s.name === bias)!.dtype = 'int32';
    })).toBeRejectedWithError(/TfjsSparseMatMul \(weight 'w_fused'\): sparseMatMul: bias must be float32, got int32/);
  });
});

async function relError(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let e = 0, n = 0;
  for (let i = 0; i < x.length; i++) {
    e += (x[i] - y[i]) ** 2;
    n += y[i] ** 2;
  }
  return Math.sqrt(e / n);
}
