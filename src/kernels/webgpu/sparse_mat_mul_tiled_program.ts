/**
 * The tiled (prefill) LSCD program: many rows of x against a sparse W, bound by arithmetic.
 *
 * A workgroup of 16 × 16 threads owns ROWS rows of x and 128 columns (4 tile columns), and walks a range
 * of tile rows of K, half a tile row (16 rows of K) per step. Each step, the workgroup expands the step's
 * W block from the bitmaps into dense form in workgroup memory (an absent weight is 0) and stages the x
 * block beside it; then each thread multiplies them as dense, with ROWS / 16 rows × 8 columns of outputs
 * in registers: per row of K, 3 or 4 vec4 reads feed 32 or 64 FMAs. Absent weights cost FMAs too, so the
 * time does not fall with sparsity; NaN and ±Inf in x propagate as in dense matMul with no extra path.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {ValueType} from '../../ops/format.js';
import {EpilogueActivation, epilogueWgsl} from './epilogue_wgsl.js';

/** Threads along M and along N. */
const THREADS = 16;
/** Output columns one workgroup covers: 8 per thread. */
export const TILED_COLUMNS = 8 * THREADS;
/** Rows of K per step: half a tile row. */
const STEP_K = 16;
/** x rows a workgroup may own: 4 or 8 per thread. */
export const TILED_ROWS = [64, 128] as const;
export type TiledRows = typeof TILED_ROWS[number];

/** Bytes of workgroup memory for `rows` rows: the x block and the W block of one step (f32), and the range. */
export function tiledWorkgroupBytes(rows: number): number {
  return 4 * STEP_K * (rows + TILED_COLUMNS) + 8;
}

export interface TiledConfig {
  rows: TiledRows;
  /** K splits. */
  splits: number;
  /** Write [splits, M, N] partial sums for the reduce pass instead of the result with its epilogue. */
  partials: boolean;
  /** Workgroups along M. */
  rowBlocks: number;
  valueType: ValueType;
  transposeX: boolean;
  activation: EpilogueActivation;
  hasBias: boolean;
  hasPrelu: boolean;
  hasResidual: boolean;
}

export class SparseMatMulTiledProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  // Not a flat layout, so TF.js calls main() without an index.
  dispatchLayout = {x: [] as number[], y: [0], z: [1]};
  dispatch: [number, number, number];
  variableNames = ['x', 'header', 'offsets', 'values'];
  uniforms = 'M : u32, K : u32, N : u32, KT : u32, NT : u32, tileRowsPerSplit : u32, mOffset : u32, alpha : f32,';
  workgroupSize: [number, number, number] = [THREADS * THREADS, 1, 1];
  private readonly cfg: TiledConfig;

  constructor(M: number, N: number, cfg: TiledConfig) {
    this.cfg = cfg;
    const fused = !cfg.partials;
    this.outputShape = fused ? [M, N] : [cfg.splits, M, N];
    this.dispatch = [Math.ceil(N / TILED_COLUMNS), cfg.splits, cfg.rowBlocks];
    if (fused && cfg.hasBias) this.variableNames.push('bias');
    if (fused && cfg.hasPrelu) this.variableNames.push('preluActivationWeights');
    if (fused && cfg.hasResidual) this.variableNames.push('residual');
    this.shaderKey = `sparseTiled_${cfg.rows}_${cfg.valueType}_${cfg.transposeX}_` +
        (fused ? `${cfg.activation}_${cfg.hasBias}_${cfg.hasPrelu}_${cfg.hasResidual}` : 'partial');
  }

  getUserCode(): string {
    const {rows: ROWS, valueType, transposeX} = this.cfg;
    const fused = !this.cfg.partials;
    const f16 = valueType === 'float16';
    // Row quads per thread: quad q holds rows 64 q + 4 tm .. + 3.
    const quads = ROWS / 64;
    const RU = ROWS / 4;
    const value = f16 ? 'unpack2x16float(fetch(p / 2u))[p & 1u]' : 'bitcast<f32>(fetch(p))';
    const accNames = (q: number, i: number) => [`c${q}_${i}a`, `c${q}_${i}b`];
    const kRow = (k: number) => {
      const xs = Array.from({length: quads}, (_, q) => `let x${q} = xs[${k * RU}u + ((tm + ${16 * q}u) ^ ${k % 8}u)];`);
      const fmas = [];
      for (let q = 0; q < quads; q++) {
        for (let i = 0; i < 4; i++) {
          const [a, b] = accNames(q, i);
          const xi = `vec4<f32>(x${q}.${'xyzw'[i]})`;
          fmas.push(`${a} = fma(${xi}, wa, ${a});`, `${b} = fma(${xi}, wb, ${b});`);
        }
      }
      return `{
            let wa = ws[${k * 32}u + tn];
            let wb = ws[${k * 32 + 16}u + tn];
            ${xs.join('\n            ')}
            ${fmas.join('\n            ')}
          }`;
    };
    const accs = [];
    for (let q = 0; q < quads; q++) for (let i = 0; i < 4; i++) accs.push(...accNames(q, i));
    const stores = [];
    for (let q = 0; q < quads; q++) {
      for (let i = 0; i < 4; i++) {
        const [a, b] = accNames(q, i);
        stores.push(`store4(mBase + ${64 * q + i}u + 4u * tm, nBase + 4u * tn, ${a});`,
            `store4(mBase + ${64 * q + i}u + 4u * tm, nBase + 64u + 4u * tn, ${b});`);
      }
    }
    const xIndex = transposeX ? 'k * uniforms.M + m' : 'm * uniforms.K + k';
    const columnsBefore = [0, 1, 2].map((c) =>
      `e = e + select(0u, countOneBits(u32(header[h + g * 4u + ${c}u])), cc % 4u > ${c}u);`).join('\n            ');

    return `
      // x: [M, K] row-major ([K, M] with transposeX). header: 36 words per tile (32 column bitmaps, then
      // 8 u16 group prefixes), tiles column-strip major. offsets: first value of each tile. values: f16
      // pairs or f32 bits, one word each. result: [M, N], or [splits, M, N] partial sums.
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias, this.cfg.hasResidual) : ''}
      const ROWS = ${ROWS}u;
      const COLUMNS = ${TILED_COLUMNS}u;
      // The step's x block: x(k, m) in vec4 k * ROWS / 4 + ((m / 4) ^ (k % 8)), component m % 4. A
      // thread reads rows 4 tm .. 4 tm + 3 of one k as a vec4; the XOR spreads the staging writes (16
      // rows of K apart) over the banks.
      var<workgroup> xs : array<vec4<f32>, ${STEP_K * RU}>;
      // The step's W block, dense: w(k, c) in vec4 k * 32 + c / 4, component c % 4.
      var<workgroup> ws : array<vec4<f32>, ${STEP_K * 32}>;
      // The workgroup's steps [begin, end). TF.js's workgroupId is a private copy, which WGSL cannot
      // prove uniform; a uniform load of this makes the loop around the barriers uniform.
      var<workgroup> steps : vec2<u32>;

      fn fetch(i : u32) -> u32 {
        return bitcast<u32>(values[min(i, arrayLength(&values) - 1u)]);
      }

      // The bits of the rows of tile row kt that lie inside K.
      fn rowsIn(kt : u32) -> u32 {
        let rows = uniforms.K - kt * 32u;
        return select(0xffffffffu, (1u << rows) - 1u, rows < 32u);
      }

      // x[m][k], 0 outside x: rows past M and K add nothing.
      fn xAt(m : u32, k : u32) -> f32 {
        if (m >= uniforms.M || k >= uniforms.K) { return 0.0; }
        return x[${xIndex}];
      }

      // Stages x rows mBase .. + ROWS, K rows k0 .. k0 + 16: threads along K, so reads of x coalesce.
      fn stageX(mBase : u32, k0 : u32) {
        let k = localIndex % 16u;
        for (var m = localIndex / 16u; m < ROWS; m = m + 16u) {
          xs[k * ${RU}u + ((m / 4u) ^ (k % 8u))][m % 4u] = xAt(mBase + m, k0 + k);
        }
      }

      // Expands W rows k0 .. k0 + 16, columns nBase .. + 128, into ws: thread c % 128 walks its column's
      // bitmap over 8 rows; the value index counts the set bits before each row.
      fn expandW(nBase : u32, k0 : u32) {
        let c = localIndex % COLUMNS;
        let half = localIndex / COLUMNS;
        let nt = (nBase + c) / 32u;
        let kt = k0 / 32u;
        let r0 = k0 % 32u + half * 8u;
        var w = 0u;
        var p = 0u;
        if (nt < uniforms.NT) {
          let t = nt * uniforms.KT + kt;
          let h = t * 36u;
          let cc = c % 32u;
          let g = cc / 4u;
          let prefixes = u32(header[h + 32u + g / 2u]);
          var e = u32(offsets[t]) + ((prefixes >> ((g % 2u) * 16u)) & 0xffffu);
          ${columnsBefore}
          let bits = u32(header[h + cc]);
          w = bits & rowsIn(kt);
          p = e + countOneBits(bits & ((1u << r0) - 1u));
        }
        for (var j = 0u; j < 8u; j = j + 1u) {
          let bit = (w >> (r0 + j)) & 1u;
          ws[(half * 8u + j) * 32u + c / 4u][c % 4u] = select(0.0, ${value}, bit == 1u);
          p = p + bit;
        }
      }

      fn main() {
        let tm = localIndex / 16u;
        let tn = localIndex % 16u;
        let nBase = workgroupId.x * COLUMNS;
        let mBase = uniforms.mOffset + workgroupId.z * ROWS;
        ${accs.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ')}
        if (localIndex == 0u) {
          let begin = workgroupId.y * uniforms.tileRowsPerSplit;
          steps = 2u * vec2<u32>(begin, min(begin + uniforms.tileRowsPerSplit, uniforms.KT));
        }
        let range = workgroupUniformLoad(&steps);
        for (var s = range.x; s < range.y; s = s + 1u) {
          let k0 = s * 16u;
          stageX(mBase, k0);
          expandW(nBase, k0);
          workgroupBarrier();
          ${Array.from({length: STEP_K}, (_, k) => kRow(k)).join('\n          ')}
          workgroupBarrier();
        }
        ${stores.join('\n        ')}
      }

      fn store4(m : u32, n : u32, s : vec4<f32>) {
        for (var j = 0u; j < 4u; j = j + 1u) { store(m, n + j, s[j]); }
      }

      fn store(m : u32, n : u32, s : f32) {
        if (m < uniforms.M && n < uniforms.N) {
          ${fused ? 'result[m * uniforms.N + n] = epilogue(s, m, n);' :
                    'result[(workgroupId.y * uniforms.M + m) * uniforms.N + n] = s;'}
        }
      }
    `;
  }
}
