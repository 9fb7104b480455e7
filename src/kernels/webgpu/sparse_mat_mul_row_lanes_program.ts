/**
 * The row-lane LSCD program for one row of x (decode at M = 1), where the weight is dense enough.
 *
 * The skinny program gives each lane a column and walks its set bits, so a warp runs as long as its
 * fullest column (22 values at 50% density against a mean of 16) at about 20 issue slots a value. Here
 * each lane is a row of the tile instead, and the 32 columns are walked in turn, the same for every lane:
 * a lane finds its value from the column's start and the popcount of the bits below its row, and adds
 * x·value, or x·0 where the bit is clear. That is a fixed cost per tile position rather than per stored
 * value: cheaper than the skinny program where the weight is dense, dearer where it is sparse.
 * Each lane keeps 32 sums (one per column) in registers, which meet at the end: across the subgroup by
 * a butterfly of shuffles (where subgroups have 32 invocations) or in workgroup memory, then across the
 * slices. A NaN or ±Inf x meets every weight, stored or not (x·0), so no separate pass is needed for it.
 */
import {epilogueWgsl} from './epilogue_wgsl.js';
import {ProductConfig, ProductProgram, productWgsl} from './sparse_mat_mul_product.js';
import {SUBGROUP_DIRECTIVES} from './subgroups.js';

const LANES = 32;
const SLICES = 8;
/** Output columns one workgroup covers: a tile's. */
export const ROW_LANES_COLUMNS = LANES;
/** Columns per round of the workgroup-memory reduction. */
const ROUND = 8;
/** Row stride of the reduction's staging array: one word of padding keeps the reads off shared banks. */
const STAGE_STRIDE = LANES * SLICES + 1;

/**
 * Bytes of workgroup memory the program declares: with subgroups, the slices' column sums; without,
 * the staging array of one round and the sums of every column's 32 parts (padded).
 */
export function rowLanesWorkgroupBytes(subgroups: boolean): number {
  return 4 * (subgroups ? LANES * SLICES : ROUND * STAGE_STRIDE + LANES * (LANES + 1));
}

export interface RowLanesConfig extends ProductConfig {
  /** Sums meet across the subgroup by shuffles: each slice is one subgroup of 32 invocations. */
  subgroups: boolean;
}

export class SparseMatMulRowLanesProgram extends ProductProgram<RowLanesConfig> {
  readonly directives: string;

  constructor(M: number, N: number, cfg: RowLanesConfig) {
    super(M, N, cfg, {columns: ROW_LANES_COLUMNS, threads: LANES * SLICES,
      head: `sparseRowLanes${cfg.subgroups ? '_subgroups' : ''}`});
    this.directives = cfg.subgroups ? SUBGROUP_DIRECTIVES : '';
  }

  getUserCode(): string {
    const {valueType, transposeX, subgroups: sg} = this.cfg;
    const fused = !this.cfg.partials;
    const columns = Array.from({length: LANES}, (_, c) => c);
    // Value i: an f16 is the low or high half of word i / 2.
    const value = valueType === 'float16' ?
        'unpack2x16float(fetch(i >> 1u) >> ((i & 1u) << 4u)).x' : 'bitcast<f32>(fetch(i))';
    const column = (c: number) => `{
              let w = u32(header[h + ${c}u]);
              let i = e + countOneBits(w & below);
              a${c} = fma(xk, select(0.0, ${value}, (w & bit) != 0u), a${c});
              e = e + countOneBits(w);
            }`;
    return `
      // x: [M, K] row-major ([K, M] with transposeX). header: 36 words per tile (32 column bitmaps, then
      // 8 u16 group prefixes), tiles column-strip major. offsets: first value of each tile. values: f16
      // pairs or f32 bits, one word each, column-major within a tile. result: [M, N], or [splits, M, N]
      // partial sums.
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias, this.cfg.hasResidual) : ''}
      const LANES = ${LANES}u;
      const SLICES = ${SLICES}u;
      // K < 2^32, so KT < 2^27 and a slice walks fewer than 2^24 tiles: the tile loop's constant bound.
      const MAX_SLICE_TILES = 0x1000000u;
      ${sg ? `// Column c's sum in slice s: [SLICES, LANES].
      var<workgroup> red : array<f32, ${LANES * SLICES}>;` : `// One round of ${ROUND} columns: [${ROUND}, ${STAGE_STRIDE}], a column's sums from every invocation.
      var<workgroup> stage : array<f32, ${ROUND * STAGE_STRIDE}>;
      // Column c's sums of 32 parts: [LANES, LANES + 1].
      var<workgroup> parts : array<f32, ${LANES * (LANES + 1)}>;`}
      ${productWgsl(this.cfg.partials)}

      fn main() {
        let lane = localIndex % LANES;
        let slice = localIndex / LANES;
        let nt = workgroupId.x;
        let m = uniforms.mOffset + workgroupId.z;
        ${transposeX ? 'let xRow = m;\n        let kStride = uniforms.M;' : 'let xRow = m * uniforms.K;\n        let kStride = 1u;'}
        // The bits of the rows before this lane's.
        let below = (1u << lane) - 1u;
        ${columns.map((c) => `var a${c} = 0.0;`).join(' ')}
        let ktBegin = workgroupId.y * uniforms.tileRowsPerSplit;
        let ktEnd = min(ktBegin + uniforms.tileRowsPerSplit, uniforms.KT);
        if (nt < uniforms.NT) {
          for (var j = 0u; j < MAX_SLICE_TILES; j = j + 1u) {
            let kt = ktBegin + slice + j * SLICES;
            if (kt >= ktEnd) { break; }
            let t = nt * uniforms.KT + kt;
            let k = kt * 32u + lane;
            // A row past K adds nothing, even where an encoding that skipped validation set its bits.
            var xk = 0.0;
            var bit = 0u;
            if (k < uniforms.K) {
              xk = x[xRow + k * kStride];
              bit = 1u << lane;
            }
            let h = t * 36u;
            // Column c's first value.
            var e = u32(offsets[t]);
            ${columns.map(column).join('\n            ')}
          }
        }
        let n = nt * 32u + lane;
        ${sg ? this.subgroupReduce() : this.workgroupReduce()}
      }
    `;
  }

  /** Lane c ends with column c's sum over its subgroup (halving the columns it holds five times), then the slices'. */
  private subgroupReduce(): string {
    const steps: string[] = [];
    for (let step = LANES / 2; step >= 1; step /= 2) {
      const lines = [`let up${step} = (lane & ${step}u) != 0u;`];
      for (let j = 0; j < step; j++) {
        lines.push(`a${j} = select(a${j}, a${j + step}, up${step}) + subgroupShuffleXor(select(a${j + step}, a${j}, up${step}), ${step}u);`);
      }
      steps.push(lines.join('\n        '));
    }
    return `// Each step keeps the half of its columns that its lane's bit selects and adds the partner's sums
        // of them: after five, a0 is column lane's.
        ${steps.join('\n        ')}
        red[slice * LANES + lane] = a0;
        workgroupBarrier();
        if (slice == 0u) {
          var s = 0.0;
          for (var i = 0u; i < SLICES; i = i + 1u) { s = s + red[i * LANES + lane]; }
          store(m, n, s);
        }`;
  }

  /**
   * ROUND columns at a time: every invocation stages its sums, then each sums 8 of them for one column
   * (lane l of every slice); the 32 parts of a column are added at the end.
   */
  private workgroupReduce(): string {
    const rounds: string[] = [];
    for (let r = 0; r < LANES / ROUND; r++) {
      rounds.push(`${Array.from({length: ROUND}, (_, j) => `stage[${j * STAGE_STRIDE}u + localIndex] = a${r * ROUND + j};`).join('\n        ')}
        workgroupBarrier();
        {
          let c = localIndex / LANES;
          var s = 0.0;
          for (var i = 0u; i < SLICES; i = i + 1u) { s = s + stage[c * ${STAGE_STRIDE}u + i * LANES + lane]; }
          parts[(${r * ROUND}u + c) * ${LANES + 1}u + lane] = s;
        }
        workgroupBarrier();`);
    }
    return `${rounds.join('\n        ')}
        if (slice == 0u) {
          var s = 0.0;
          for (var i = 0u; i < LANES; i = i + 1u) { s = s + parts[lane * ${LANES + 1}u + i]; }
          store(m, n, s);
        }`;
  }
}
