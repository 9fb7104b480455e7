/** Shapes of the decoder-only transformers of the end-to-end benchmark (issue #6). */

/**
 * A GPT-style decoder: token embedding plus learned positions, `layers` pre-norm blocks (multi-head
 * attention with a KV cache, then an MLP), a final norm and the LM head.
 * - 'gpt2': LayerNorm, GELU MLP (up [d, F], down [F, d]), biases on every projection.
 * - 'llama': RMSNorm, SiLU-gated MLP (gate and up fused as one [d, 2F] matrix, down [F, d]), no biases.
 *   The positions are learned as in GPT-2, not rotary: the shapes of the matrices are Llama's.
 */
export interface DecoderConfig {
  name: string;
  family: 'gpt2' | 'llama';
  layers: number;
  /** d. */
  dModel: number;
  heads: number;
  /** F: the MLP's hidden width. */
  mlpHidden: number;
  vocab: number;
  /** Rows of the learned position table: the longest sequence the model takes. */
  maxPositions: number;
}

export const CONFIGS: Readonly<Record<string, DecoderConfig>> = {
  /** For the tests and a local smoke run: edges that are not multiples of the 32×32 tiles. */
  'tiny': {name: 'tiny', family: 'gpt2', layers: 2, dModel: 48, heads: 4, mlpHidden: 80, vocab: 61, maxPositions: 64},
  'tiny-llama': {name: 'tiny-llama', family: 'llama', layers: 2, dModel: 48, heads: 4, mlpHidden: 72, vocab: 61, maxPositions: 64},
  /** GPT-2-medium. */
  'small': {name: 'small', family: 'gpt2', layers: 24, dModel: 1024, heads: 16, mlpHidden: 4096, vocab: 50257, maxPositions: 1024},
  /** Four layers of Llama-7B with its 32000×4096 head. */
  '7b-slice': {name: '7b-slice', family: 'llama', layers: 4, dModel: 4096, heads: 32, mlpHidden: 11008, vocab: 32000, maxPositions: 1024},
};

/** Checks a config's numbers; throws naming the first bad one. */
export function checkConfig(c: DecoderConfig): DecoderConfig {
  for (const k of ['layers', 'dModel', 'heads', 'mlpHidden', 'vocab', 'maxPositions'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`config ${c.name}: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.dModel % c.heads !== 0) throw new Error(`config ${c.name}: dModel ${c.dModel} is not a multiple of heads ${c.heads}`);
  if (c.family !== 'gpt2' && c.family !== 'llama') throw new Error(`config ${c.name}: family must be gpt2 or llama, got ${String(c.family)}`);
  return c;
}
