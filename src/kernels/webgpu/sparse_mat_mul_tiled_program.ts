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
import {epilogueWgsl} from './epilogue_wgsl.js';
import {ProductConfig, ProductProgram, productWgsl} from './sparse_mat_mul_product.js';

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

export interface TiledConfig extends ProductConfig {
  rows: TiledRows;
}

export class SparseMatMulTiledProgram extends ProductProgram<TiledConfig> {
  constructor(M: number, N: number, cfg: TiledConfig) {
    super(M, N, cfg, {columns: TILED_COLUMNS, threads: THREADS * THREADS, head: `sparseTiled_${cfg.rows}`});
  }

  getUserCode(): string {
    const {rows: ROWS, valueType, transposeX} = this.cfg;
    const fused = !this.cfg.partials;
    const f16 = valueType === 'float16';
    // Row quads per thread: quad q holds rows 64 q + 4 tm .. + 3.
    const quads = ROWS / 64;
    const RU = ROWS / 4;
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
    const xVars = Array.from({length: ROWS / 16}, (_, i) => `xr${i}`);
    // Step s + 1's 8 stored words (f16 pairs or f32), read before step s is multiplied; the value index
    // of row j counts the set bits below it.
    const index = (j: number) => `(hw.y + countOneBits(hw.x & ${(1 << j) - 1}u))`;
    const wLoads = (decl: string) => Array.from({length: 8}, (_, j) =>
      `${decl}wr${j} = fetch(${index(j)}${f16 ? ' / 2u' : ''});`).join('\n          ');
    const wValue = (j: number) => f16 ? `unpack2x16float(wr${j})[${index(j)} & 1u]` : `bitcast<f32>(wr${j})`;
    const wStores = Array.from({length: 8}, (_, j) =>
      `ws[(wRow + ${j}u) * 32u + wc / 4u][wc % 4u] = select(0.0, ${wValue(j)}, ((hw.x >> ${j}u) & 1u) == 1u);`,
    ).join('\n          ');
    const xIndex = transposeX ? 'k * uniforms.M + m' : 'm * uniforms.K + k';

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

      ${productWgsl(this.cfg.partials)}

      // x[m][k], 0 outside x: rows past M and K add nothing.
      fn xAt(m : u32, k : u32) -> f32 {
        if (m >= uniforms.M || k >= uniforms.K) { return 0.0; }
        return x[${xIndex}];
      }

      // This thread's bitmap bits for the 8 rows of step s it expands (k0 = 16 s; thread c % 128 takes
      // column nBase + c % 128, rows 8 (localIndex / 128) ..), and the value index of the first: 0s past
      // the matrix.
      fn wHeader(nBase : u32, s : u32) -> vec2<u32> {
        let c = localIndex % COLUMNS;
        let nt = (nBase + c) / 32u;
        let kt = s / 2u;
        if (nt >= uniforms.NT || kt >= uniforms.KT) { return vec2<u32>(0u); }
        let r0 = (s % 2u) * 16u + (localIndex / COLUMNS) * 8u;
        let t = nt * uniforms.KT + kt;
        let bits = u32(header[t * 36u + c % 32u]);
        return vec2<u32>(((bits & rowsIn(kt * 32u)) >> r0) & 0xffu, firstValue(t, c % 32u) + countOneBits(bits & ((1u << r0) - 1u)));
      }

      fn main() {
        let tm = localIndex / 16u;
        let tn = localIndex % 16u;
        let nBase = workgroupId.x * COLUMNS;
        let mBase = uniforms.mOffset + workgroupId.z * ROWS;
        // What this thread stages: x rows mBase + localIndex / 16 + 16 i at K row k0 + localIndex % 16,
        // and W column nBase + localIndex % 128 at 8 rows.
        let xk = localIndex % 16u;
        let xm = localIndex / 16u;
        let wc = localIndex % COLUMNS;
        let wRow = (localIndex / COLUMNS) * 8u;
        ${accs.map((a) => `var ${a} = vec4<f32>(0.0);`).join(' ')}
        if (localIndex == 0u) {
          let begin = workgroupId.y * uniforms.tileRowsPerSplit;
          steps = 2u * vec2<u32>(begin, min(begin + uniforms.tileRowsPerSplit, uniforms.KT));
        }
        let range = workgroupUniformLoad(&steps);
        // Software pipeline, so that global reads overlap the FMAs: while step s is multiplied, step
        // s + 1's x and W values and step s + 2's bitmap bits are read into registers.
        ${xVars.map((v, i) => `var ${v} = xAt(mBase + xm + ${16 * i}u, range.x * 16u + xk);`).join('\n        ')}
        var hw = wHeader(nBase, range.x);
        ${wLoads('var ')}
        var hwNext = wHeader(nBase, range.x + 1u);
        for (var s = range.x; s < range.y; s = s + 1u) {
          ${xVars.map((v, i) => `xs[xk * ${RU}u + (((xm + ${16 * i}u) / 4u) ^ (xk % 8u))][xm % 4u] = ${v};`).join('\n          ')}
          ${wStores}
          workgroupBarrier();
          let k1 = (s + 1u) * 16u;
          ${xVars.map((v, i) => `${v} = xAt(mBase + xm + ${16 * i}u, k1 + xk);`).join('\n          ')}
          hw = hwNext;
          ${wLoads('')}
          hwNext = wHeader(nBase, s + 2u);
          ${Array.from({length: STEP_K}, (_, k) => kRow(k)).join('\n          ')}
          workgroupBarrier();
        }
        ${stores.join('\n        ')}
      }

      fn store4(m : u32, n : u32, s : vec4<f32>) {
        for (var j = 0u; j < 4u; j = j + 1u) { store(m, n + j, s[j]); }
      }
    `;
  }
}
