/**
 * Issue #6: the decoder of bench/e2e on tiny configurations, on every backend.
 * - Incremental decoding through the KV cache (a prefill, then single steps) and a full recompute of
 *   the whole sequence both match a float64 reference that recomputes every position without a cache
 *   (helpers/decoder_reference.ts), for both families (gpt2: LayerNorm, GELU, biases; llama: RMSNorm,
 *   SiLU gate, no biases). This runs the dense model: the cache and attention code is the same in both
 *   modes, and the sparse projections and lookup have their own specs against float64.
 * - The sparse model at 0% sparsity and the dense model, on the same weights, pick the same greedy
 *   tokens for 32 steps.
 * - A decode step copies no cache: every op output as large as a layer's cache is that cache itself.
 *
 * Sizes are kept small for SwiftShader, where compiling a variant of the sparse kernel takes seconds:
 * the sparse models run B·S = 3 rows per forward (one-token prompts), the variant the sparseMatMul
 * specs compile anyway. Prompts of several tokens (S > 1) run in the cache spec.
 */
import * as tf from '@tensorflow/tfjs-core';
import {CONFIGS, DecoderConfig} from '../../bench/e2e/config';
import {Decoder} from '../../bench/e2e/model';
import {buildParams} from '../../bench/e2e/params';
import {drawTensor, pruneBlocks, TensorSpec, weightSpecs} from '../../bench/e2e/weights';
import {SparseMatrix} from '../../src/index';
import {decodeDense} from '../../src/ops/decode';
import {f16BitsToF32, f32ToF16Bits} from '../../src/ops/f16';
import {describeEachBackend} from '../helpers/backends';
import {referenceLogits, WeightMap} from '../helpers/decoder_reference';
import {expectNoLeakedTensors} from '../helpers/leaks';
import {Rng, rng} from '../helpers/random';

/**
 * Logit tolerance against the float64 reference: |err| ≤ LOGIT_TOL · (1 + max |logit| of the row).
 * f32 rounding through two layers of these sizes stays below 2e-7 of that scale on cpu and webgpu (measured);
 * a wrong cache entry, mask position, norm or projection moves logits by more than 1e-2.
 */
const LOGIT_TOL = 2e-5;
/** Top-two logit gap below which f32 summation order may pick either token (a near tie). */
const TIE_TOL = 1e-4;
/**
 * Sequences per batch. With 3, every TF.js matMul of the tiny configs has more than 128 outputs: TF.js
 * runs smaller ones with its MatMulReduceProgram, which takes about 100 ms per dispatch on SwiftShader.
 */
const BATCH = 3;

type Mode = {kind: 'dense'} | {kind: 'sparse', sparsity: number};

interface Built {
  model: Decoder;
  /** The weights the model multiplies by (decoded, for sparse), for the reference. */
  weights: Map<string, Float32Array>;
}

/** Random weights drawn from the run's seed, rounded to f16 so that dense and sparse hold the same values. */
function drawWeights(config: DecoderConfig, r: Rng): Map<string, Float32Array> {
  const seed = r.int(2 ** 31);
  return new Map(weightSpecs(config).map((s) => [s.name, drawTensor(s, seed).map((v) => f16BitsToF32(f32ToF16Bits(v)))]));
}

async function build(config: DecoderConfig, drawn: Map<string, Float32Array>, mode: Mode): Promise<Built> {
  const weights = new Map<string, Float32Array>();
  const params = await buildParams(config, (s: TensorSpec) => {
    const v = drawn.get(s.name)!;
    if (mode.kind === 'dense') {
      weights.set(s.name, v);
      return v.slice();
    }
    const m = SparseMatrix.fromDense(pruneBlocks(v, s, mode.sparsity).values, s.shape as [number, number]);
    weights.set(s.name, decodeDense(m.toEncoded()));
    return m;
  }, (s: TensorSpec) => {
    weights.set(s.name, drawn.get(s.name)!);
    return drawn.get(s.name)!.slice();
  });
  return {model: new Decoder(config, params), weights};
}

function randomTokens(r: Rng, B: number, T: number, V: number): number[][] {
  return Array.from({length: B}, () => Array.from({length: T}, () => r.int(V)));
}

/** Columns t0..t1 of each sequence, sequence-major, as the model's ids. */
function ids(tokens: number[][], t0: number, t1: number): tf.Tensor1D {
  return tf.tensor1d(tokens.flatMap((seq) => seq.slice(t0, t1)), 'int32');
}

/** Checks logits [rows, V] (row i = sequence b, position t) against the reference. */
function expectLogits(got: Float32Array, want: Float64Array[], rows: Array<[number, number]>, V: number, what: string): void {
  let worst = 0, where = '';
  rows.forEach(([b, t], i) => {
    const ref = want[b].subarray(t * V, (t + 1) * V);
    const scale = 1 + Math.max(...Array.from(ref, Math.abs));
    for (let v = 0; v < V; v++) {
      const ratio = Math.abs(got[i * V + v] - ref[v]) / (LOGIT_TOL * scale);
      if (!(ratio <= worst)) {
        worst = ratio;
        where = `sequence ${b}, position ${t}, token ${v}: got ${got[i * V + v]}, reference ${ref[v]}`;
      }
    }
  });
  expect(worst).withContext(`${what}: worst logit error / tolerance (${where})`).toBeLessThanOrEqual(1);
}

describeEachBackend('decoder (bench/e2e)', (backend) => {
  expectNoLeakedTensors();

  for (const name of ['tiny', 'tiny-llama']) {
    const config = CONFIGS[name];
    const V = config.vocab;

    it(`${name}: incremental decoding with the KV cache and a full recompute match the float64 reference`, async () => {
      const r = rng(`decoder cache ${name} ${backend}`);
      const [B, prompt, steps] = [BATCH, 4, 6];
      const T = prompt + steps;
      const {model, weights} = await build(config, drawWeights(config, r), {kind: 'dense'});
      const tokens = randomTokens(r, B, T, V);
      const want = tokens.map((seq) => referenceLogits(config, weights as WeightMap, seq));

      const cache = model.createCache(B, T);
      const promptIds = ids(tokens, 0, prompt);
      const first = model.forward(promptIds, cache);
      expectLogits(await first.data() as Float32Array, want, tokens.map((_, b): [number, number] => [b, prompt - 1]), V, 'prefill');
      tf.dispose([promptIds, first]);
      for (let t = prompt; t < T; t++) {
        const step = ids(tokens, t, t + 1);
        const logits = model.forward(step, cache);
        expect(logits.shape).toEqual([B, V]);
        expectLogits(await logits.data() as Float32Array, want, tokens.map((_, b): [number, number] => [b, t]), V, `decode step at position ${t}`);
        tf.dispose([step, logits]);
      }
      expect(cache.length).toBe(T);

      const fresh = model.createCache(B, T);
      const all = ids(tokens, 0, T);
      const full = model.forward(all, fresh, {allPositions: true});
      expect(full.shape).toEqual([B * T, V]);
      const rows = tokens.flatMap((_, b) => Array.from({length: T}, (_, t): [number, number] => [b, t]));
      expectLogits(await full.data() as Float32Array, want, rows, V, 'full recompute');
      tf.dispose([all, full]);
      fresh.dispose();
      cache.dispose();
      model.dispose();
    });
  }

  it('tiny: the sparse model at 0% and the dense model pick the same greedy tokens for 32 steps', async () => {
    const config = CONFIGS['tiny'], V = config.vocab;
    const r = rng(`decoder greedy ${backend}`);
    const [B, prompt, steps] = [BATCH, 1, 32];
    const drawn = drawWeights(config, r);
    const tokens = randomTokens(r, B, prompt, V);
    const runs: Array<{tokens: number[][]; logits: Float32Array[]}> = [];
    for (const mode of [{kind: 'dense'}, {kind: 'sparse', sparsity: 0}] as Mode[]) {
      const {model} = await build(config, drawn, mode);
      const cache = model.createCache(B, prompt + steps);
      const out: number[][] = tokens.map(() => []);
      const logitsPerStep: Float32Array[] = [];
      let input = ids(tokens, 0, prompt);
      for (let s = 0; s < steps; s++) {
        const logits = model.forward(input, cache);
        const next = tf.argMax(logits, 1) as tf.Tensor1D;
        logitsPerStep.push(await logits.data() as Float32Array);
        (await next.data()).forEach((tok, b) => out[b].push(tok));
        tf.dispose([input, logits]);
        input = next;
      }
      input.dispose();
      cache.dispose();
      model.dispose();
      runs.push({tokens: out, logits: logitsPerStep});
    }
    const [dense, sparse] = runs;
    for (let b = 0; b < B; b++) {
      const t = dense.tokens[b].findIndex((tok, i) => tok !== sparse.tokens[b][i]);
      if (t < 0) {
        expect(sparse.tokens[b]).toEqual(dense.tokens[b]);
        continue;
      }
      // Identical prefixes up to t: the two picks may differ only where the dense logits nearly tie.
      const row = dense.logits[t].subarray(b * V, (b + 1) * V);
      const gap = Math.abs(row[dense.tokens[b][t]] - row[sparse.tokens[b][t]]);
      expect(gap).withContext(`sequence ${b} diverges at step ${t}: dense ${dense.tokens[b][t]}, sparse ${sparse.tokens[b][t]}, logit gap`)
          .toBeLessThanOrEqual(TIE_TOL);
      console.log(`decoder greedy on ${backend}: sequence ${b} diverges at step ${t} on a near tie (gap ${gap})`);
    }
  });

  it("copies no cache in a decode step: every output as large as a layer's keys is a cache buffer", async () => {
    const config = CONFIGS['tiny'];
    const r = rng(`decoder no copy ${backend}`);
    const {model} = await build(config, drawWeights(config, r), {kind: 'sparse', sparsity: 0.5});
    const [B, L] = [BATCH, 40];
    const cache = model.createCache(B, L);
    const prompt = ids(randomTokens(r, B, 1, config.vocab), 0, 1);
    let tok = model.next(prompt, cache);
    const cacheIds = new Set<object>(cache.kv.map((t) => t.dataId));
    // A layer's keys alone: a copy of either half of its cache would show.
    const layerSize = cache.kv[0].size / 2;
    const engine = tf.engine();
    const run = engine.runKernel;
    const large: string[] = [];
    let kernels = 0;
    engine.runKernel = function(this: typeof engine, ...args: Parameters<typeof run>) {
      const out = run.apply(this, args) as tf.Tensor | tf.Tensor[];
      kernels++;
      for (const t of Array.isArray(out) ? out : [out]) {
        if (t.size >= layerSize && !cacheIds.has(t.dataId)) large.push(`${args[0]} [${t.shape.join(', ')}]`);
      }
      return out;
    } as typeof run;
    let next: tf.Tensor1D;
    try {
      next = model.next(tok, cache);
    } finally {
      engine.runKernel = run;
    }
    // The hook saw the step: at least a layer's 8 ops (2 norms, q|k|v, cache write, attention, o, up, down) per layer.
    expect(kernels).toBeGreaterThanOrEqual(8 * config.layers);
    expect(large).withContext("op outputs as large as a layer's keys that are not a cache").toEqual([]);
    tf.dispose([prompt, tok, next]);
    cache.dispose();
    model.dispose();
  });

  it('names bad arguments', async () => {
    const config = CONFIGS['tiny'];
    const {model} = await build(config, drawWeights(config, rng(`decoder errors ${backend}`)), {kind: 'dense'});
    const cache = model.createCache(BATCH, 4);
    tf.tidy(() => {
      expect(() => model.forward(tf.tensor1d([1, 2, 3], 'float32'), cache)).toThrowError(/ids must be a 1-D int32 tensor, got float32 \[3\]/);
      expect(() => model.forward(tf.tensor1d([1, 2], 'int32'), cache)).toThrowError(/2 ids are not a positive multiple of the batch 3/);
      expect(() => model.forward(tf.zeros([15], 'int32') as tf.Tensor1D, cache)).toThrowError(/5 new positions after 0 exceed the cache length 4/);
    });
    expect(() => model.createCache(1, config.maxPositions + 1)).toThrowError(/maxLen must be an integer in \[1, 64\], got 65/);
    expect(cache.length).toBe(0);
    cache.dispose();
    model.dispose();
  });
});
