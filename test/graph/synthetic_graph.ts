/**
 * A small GraphModel built by hand (model.json topology plus weights, as tfjs-converter writes them) with
 * one node of every form the converter handles, and some it leaves dense:
 *
 *   x [B, 40] ─ MatMul ─ Relu ─ MatMul(transpose_b) ─ _FusedMatMul(BiasAdd, Relu)
 *     ─ _FusedMatMul(BiasAdd, LeakyRelu 0.3) ─ Transpose ─ MatMul(transpose_a) ─ Reshape [B, 2, 3, 6]
 *     ─ Conv2D 1×1 ─ _FusedConv2D 1×1 (BiasAdd, Prelu) ─┬─ Conv2D 3×3 (dense) ─ Reshape [B, 6, 8]
 *                                                      │    ─┬─ BatchMatMulV2 (weight [1, 8, 12]) ──────────┬─ BatchMatMulV2 (no constant) → out_attn
 *                                                      │     └─ Transpose ─ BatchMatMulV2(adj_x, adj_y) ──┘
 *                                                      │                                                   └─ BatchMatMul → out_v1
 *                                                      └─ Conv2D 1×1 stride 2 (dense) → out_s2
 *   x ─ MatMul(shared weight), MatMul(shared weight) → out_shared_a, out_shared_b
 */
import type {io} from '@tensorflow/tfjs-core';
import type {Rng} from '../helpers/random';

type Attr = Record<string, unknown>;
interface Node {name: string, op: string, input?: string[], attr?: Record<string, Attr>}

const FLOAT: Attr = {type: 'DT_FLOAT'};
const b64 = (s: string) => btoa(s);
const ints = (v: number[]): Attr => ({list: {i: v.map(String)}});
const strs = (v: string[]): Attr => ({list: {s: v.map(b64)}});

export class GraphBuilder {
  readonly nodes: Node[] = [];
  private readonly weights: Array<{spec: io.WeightsManifestEntry, data: Float32Array | Int32Array}> = [];

  placeholder(name: string, shape: number[]): string {
    this.nodes.push({name, op: 'Placeholder', attr: {dtype: FLOAT, shape: {shape: {dim: shape.map((d) => ({size: String(d)}))}}}});
    return name;
  }

  constant(name: string, data: Float32Array | Int32Array, shape: number[]): string {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    const type = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    this.nodes.push({name, op: 'Const', attr: {value: {tensor: {dtype: type, tensorShape: {dim: shape.map((d) => ({size: String(d)}))}}}, dtype: {type}}});
    this.weights.push({spec: {name, shape, dtype}, data});
    return name;
  }

  op(name: string, op: string, input: string[], attr: Record<string, Attr> = {}): string {
    this.nodes.push({name, op, input, attr: {T: FLOAT, ...attr}});
    return name;
  }

  artifacts(): io.ModelArtifacts {
    const bytes = this.weights.reduce((a, w) => a + w.data.byteLength, 0);
    const data = new Uint8Array(bytes);
    let at = 0;
    for (const w of this.weights) {
      data.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
      at += w.data.byteLength;
    }
    return {
      format: 'graph-model', generatedBy: 'tfjs-sparse test', convertedBy: null,
      modelTopology: {node: this.nodes, library: {}, versions: {producer: 1}},
      weightSpecs: this.weights.map((w) => w.spec), weightData: data.buffer,
    };
  }
}

/** Nodes of the synthetic graph that the converter turns sparse, with the form each one has. */
export const CONVERTED = ['mm_plain', 'mm_tb', 'fused_relu', 'fused_leaky', 'mm_ta', 'conv_1x1', 'fconv_prelu', 'bmm', 'bmm_adj', 'bmm_v1'];
/** Nodes it leaves dense, and the words their reason must contain. */
export const LEFT_DENSE: Record<string, string> = {
  conv_3x3: 'not 1×1', conv_s2: 'stride', attn: 'not a constant', shared_a: 'shared', shared_b: 'shared',
};
/** The graph's outputs. */
export const OUTPUTS = ['attn', 'bmm_v1', 'conv_s2', 'shared_a', 'shared_b'];

export function syntheticGraph(r: Rng, batchDim = -1): io.ModelArtifacts {
  const g = new GraphBuilder();
  const w = (name: string, shape: number[]) => g.constant(name, r.normals(shape.reduce((a, b) => a * b, 1), 1 / Math.sqrt(shape[shape.length - 2] ?? 1)), shape);
  const bias = (name: string, n: number) => g.constant(name, r.normals(n, 0.2), [n]);
  const shape = (name: string, v: number[]) => g.constant(name, Int32Array.from(v), [v.length]);
  const x = g.placeholder('x', [batchDim, 40]);
  g.op('mm_plain', 'MatMul', [x, w('w_plain', [40, 64])], {transpose_a: {b: false}, transpose_b: {b: false}});
  g.op('relu1', 'Relu', ['mm_plain']);
  g.op('mm_tb', 'MatMul', ['relu1', w('w_tb', [48, 64])], {transpose_a: {b: false}, transpose_b: {b: true}});
  g.op('fused_relu', '_FusedMatMul', ['mm_tb', w('w_fused', [48, 56]), bias('b_fused', 56)],
      {fused_ops: strs(['BiasAdd', 'Relu']), num_args: {i: '1'}, transpose_a: {b: false}, transpose_b: {b: false}, epsilon: {f: 0}});
  g.op('fused_leaky', '_FusedMatMul', ['fused_relu', w('w_leaky', [56, 40]), bias('b_leaky', 40)],
      {fused_ops: strs(['BiasAdd', 'LeakyRelu']), num_args: {i: '1'}, leakyrelu_alpha: {f: 0.3}, transpose_a: {b: false}, transpose_b: {b: false}});
  g.op('t_leaky', 'Transpose', ['fused_leaky', shape('perm_10', [1, 0])], {Tperm: {type: 'DT_INT32'}});
  g.op('mm_ta', 'MatMul', ['t_leaky', w('w_ta', [40, 36])], {transpose_a: {b: true}, transpose_b: {b: false}});
  g.op('r4', 'Reshape', ['mm_ta', shape('shape4', [-1, 2, 3, 6])], {Tshape: {type: 'DT_INT32'}});
  const conv = {strides: ints([1, 1, 1, 1]), dilations: ints([1, 1, 1, 1]), padding: {s: b64('SAME')}, data_format: {s: b64('NHWC')}};
  g.op('conv_1x1', 'Conv2D', ['r4', w('k_1x1', [1, 1, 6, 20])], conv);
  g.op('fconv_prelu', '_FusedConv2D', ['conv_1x1', w('k_fused', [1, 1, 20, 16]), bias('b_fconv', 16), g.constant('alpha_fconv', r.normals(16, 0.3), [16])],
      {...conv, padding: {s: b64('VALID')}, fused_ops: strs(['BiasAdd', 'Prelu']), num_args: {i: '2'}, epsilon: {f: 0}});
  g.op('conv_3x3', 'Conv2D', ['fconv_prelu', w('k_3x3', [3, 3, 16, 8])], conv);
  g.op('conv_s2', 'Conv2D', ['fconv_prelu', w('k_s2', [1, 1, 16, 8])], {...conv, strides: ints([1, 2, 2, 1])});
  g.op('r3', 'Reshape', ['conv_3x3', shape('shape3', [-1, 6, 8])], {Tshape: {type: 'DT_INT32'}});
  g.op('bmm', 'BatchMatMulV2', ['r3', w('w_bmm', [1, 8, 12])], {adj_x: {b: false}, adj_y: {b: false}});
  g.op('t_r3', 'Transpose', ['r3', shape('perm_021', [0, 2, 1])], {Tperm: {type: 'DT_INT32'}});
  g.op('bmm_adj', 'BatchMatMulV2', ['t_r3', w('w_bmm_adj', [12, 8])], {adj_x: {b: true}, adj_y: {b: true}});
  g.op('attn', 'BatchMatMulV2', ['bmm', 'bmm_adj'], {adj_x: {b: false}, adj_y: {b: true}});
  g.op('bmm_v1', 'BatchMatMul', ['bmm', w('w_v1', [12, 10])], {adj_x: {b: false}, adj_y: {b: false}});
  const shared = w('w_shared', [40, 16]);
  g.op('shared_a', 'MatMul', [x, shared], {transpose_a: {b: false}, transpose_b: {b: false}});
  g.op('shared_b', 'MatMul', [x, shared], {transpose_a: {b: false}, transpose_b: {b: false}});
  return g.artifacts();
}
