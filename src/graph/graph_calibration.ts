/**
 * Statistics of a GraphModel run on calibration batches: the inputs x of chosen nodes (per-column square
 * sums for wanda, XᵀX for SparseGPT) and the deviation of the model's outputs from a reference. Weights
 * can be overridden per run by feeding their Const nodes (GraphModel takes any node as an input), so a
 * pruned variant runs without rebuilding the model.
 */
import {clone, dispose, matMul, NamedTensorMap, reshape, square, sub, sum, Tensor, tidy, transpose} from '@tensorflow/tfjs-core';
import type {io} from '@tensorflow/tfjs-core';
import type {GraphModel} from '@tensorflow/tfjs-converter';

/** A GraphModel however it was loaded. */
type AnyGraphModel = GraphModel<string | io.IOHandler> | GraphModel<io.IOHandlerSync>;

/** One calibration batch: what `GraphModel.executeAsync` takes (a tensor, one per input, or by name). */
export type GraphModelInputs = Tensor | Tensor[] | NamedTensorMap;

/** What to collect about a node's input x. */
export interface InputProbe {
  /** The node input that carries x (`name` or `name:index`). */
  input: string;
  /** Number of x's features (the weight's K). */
  K: number;
  /** x's last two axes are [K, M]. */
  transposeX: boolean;
}

/** Σ_rows x_k² for each k, and XᵀX [K, K] when asked for, over every row of every batch. */
export interface InputStats {
  squareSums: Float64Array;
  gram: Float64Array | null;
  rows: number;
}

function feeds(model: AnyGraphModel, batch: GraphModelInputs, overrides: NamedTensorMap): NamedTensorMap {
  let named: NamedTensorMap;
  if (batch instanceof Tensor) {
    named = {[model.inputNodes[0]]: batch};
  } else if (Array.isArray(batch)) {
    if (batch.length !== model.inputNodes.length) {
      throw new Error(`calibration: the model has ${model.inputNodes.length} input(s), a batch has ${batch.length} tensor(s)`);
    }
    named = Object.fromEntries(model.inputNodes.map((name, i) => [name, batch[i]]));
  } else {
    named = {...batch};
  }
  return {...named, ...overrides};
}

/** Models found to need executeAsync (control flow or dynamic shapes). */
const dynamicModels = new WeakSet<object>();

/** `execute` where the graph allows it (executeAsync warns on every call when it was not needed). */
async function execute(model: AnyGraphModel, inputs: NamedTensorMap, outputs: string[]): Promise<Tensor | Tensor[]> {
  if (!dynamicModels.has(model)) {
    try {
      return model.execute(inputs, outputs);
    } catch (e) {
      if (!/executeAsync/.test((e as Error).message)) throw e;
      dynamicModels.add(model);
    }
  }
  return model.executeAsync(inputs, outputs);
}

/**
 * Runs the model and returns its outputs as tensors the caller owns: an output that is one of the fed
 * tensors (a node's x can be a model input) is cloned, so that disposing the outputs leaves the inputs.
 */
async function run(model: AnyGraphModel, inputs: NamedTensorMap, outputs: string[]): Promise<Tensor[]> {
  const out = await execute(model, inputs, outputs);
  const fed = new Set(Object.values(inputs));
  return (Array.isArray(out) ? out : [out]).map((t) => fed.has(t) ? clone(t) : t);
}

/** x as rows [rows, K]. */
function rowsOf(x: Tensor, probe: InputProbe): Tensor {
  const rank = x.rank;
  const inner = probe.transposeX ? rank - 2 : rank - 1;
  if (rank < 1 || inner < 0 || x.shape[inner] !== probe.K) {
    throw new Error(`calibration: input '${probe.input}' has shape [${x.shape.join(', ')}], expected ${probe.K} features`);
  }
  if (!probe.transposeX) return reshape(x, [-1, probe.K]);
  const perm = [...x.shape.keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return reshape(transpose(x, perm), [-1, probe.K]);
}

/**
 * Runs `model` on each batch (with `overrides` fed in) and reduces each probe's input x. With `gram`,
 * also accumulates XᵀX (K² numbers per probe: ask only for what will be used).
 */
export async function inputStats(
    model: AnyGraphModel, batches: GraphModelInputs[], probes: InputProbe[], gram: boolean,
    overrides: NamedTensorMap = {}): Promise<InputStats[]> {
  const stats = probes.map((p) => ({
    squareSums: new Float64Array(p.K), gram: gram ? new Float64Array(p.K * p.K) : null, rows: 0,
  }));
  const names = [...new Set(probes.map((p) => p.input))];
  for (const batch of batches) {
    const outs = await run(model, feeds(model, batch, overrides), names);
    try {
      for (const [i, p] of probes.entries()) {
        const x = outs[names.indexOf(p.input)];
        const [sq, g, rows] = tidy(() => {
          const r = rowsOf(x, p);
          return [sum(square(r), 0), gram ? matMul(r, r, true, false) : null, r.shape[0]] as const;
        });
        try {
          const s = stats[i];
          const sqv = await sq.data();
          for (let k = 0; k < p.K; k++) s.squareSums[k] += sqv[k];
          if (g != null) {
            const gv = await g.data();
            for (let k = 0; k < gv.length; k++) s.gram![k] += gv[k];
          }
          s.rows += rows;
        } finally {
          dispose([sq, ...(g ? [g] : [])]);
        }
      }
    } finally {
      dispose(outs);
    }
  }
  return stats;
}

/** The model's outputs on each batch (dispose them with `disposeOutputs`). */
export async function graphOutputs(model: AnyGraphModel, batches: GraphModelInputs[], overrides: NamedTensorMap = {}): Promise<Tensor[][]> {
  const out: Tensor[][] = [];
  try {
    for (const batch of batches) out.push(await run(model, feeds(model, batch, overrides), model.outputNodes));
  } catch (e) {
    disposeOutputs(out);
    throw e;
  }
  return out;
}

export function disposeOutputs(outputs: Tensor[][]): void {
  for (const o of outputs) dispose(o);
}

/** ‖y − ref‖ / ‖ref‖ over all outputs and batches, with `overrides` fed in. */
export async function graphOutputDeviation(
    model: AnyGraphModel, batches: GraphModelInputs[], ref: Tensor[][], overrides: NamedTensorMap): Promise<number> {
  let err = 0, norm = 0;
  for (const [b, batch] of batches.entries()) {
    const ys = await run(model, feeds(model, batch, overrides), model.outputNodes);
    try {
      const parts = tidy(() => ys.flatMap((y, i) => [sum(square(sub(y, ref[b][i]))), sum(square(ref[b][i]))]));
      try {
        const values = await Promise.all(parts.map((t) => t.data()));
        for (let i = 0; i < values.length; i += 2) {
          err += values[i][0];
          norm += values[i + 1][0];
        }
      } finally {
        dispose(parts);
      }
    } finally {
      dispose(ys);
    }
  }
  return norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err);
}
