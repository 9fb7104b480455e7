/**
 * The skinny (decode) LSCD program: few rows of x against a sparse W, bound by reading W.
 *
 * A workgroup of 8 slices × 32 lanes owns one tile column (32 outputs) and a range of tile rows of K;
 * slice s takes every 8th tile row, lane c is column c. Per tile a lane reads its bitmap word, finds its
 * first value from the stored group prefix plus the popcounts of the columns before it in its group,
 * walks the set bits, and feeds each value to MT FMAs in registers. x is read through L1:
 * all lanes of a slice read rows of the same 32-row window. The slices' sums meet in workgroup memory.
 * In the subgroup form (where a subgroup is a slice: 32 invocations, as on NVIDIA) a lane's first value
 * comes from a subgroup prefix sum of popcounts and its x from the lane that holds that row. The slices'
 * sums still meet in workgroup memory: they are different subgroups, so subgroupAdd cannot add them.
 * Other layouts (a lane per group of 4 columns, values staged in workgroup memory, a lane per tile row)
 * were slower: bench/NOTES.md has their numbers.
 */
import {epilogueWgsl} from './epilogue_wgsl.js';
import {ProductConfig, ProductProgram, productWgsl} from './sparse_mat_mul_product.js';
import {SUBGROUP_DIRECTIVES} from './subgroups.js';

const LANES = 32;
const SLICES = 8;
/** The largest number of x rows one workgroup keeps in registers. */
export const SKINNY_MAX_ROWS = 16;
export const SKINNY_SLICES = SLICES;
/**
 * Bytes of workgroup memory the program declares for `rows` rows per workgroup: the slices' sums and
 * the non-finite flag. 16 rows take 16,388 B, over WebGPU's default limit of 16,384.
 */
export function skinnyWorkgroupBytes(rows: number): number {
  return 4 * LANES * SLICES * rows + 4;
}
/** Output columns one workgroup covers. */
export const SKINNY_COLUMNS = LANES;

export interface SkinnyConfig extends ProductConfig {
  /** x rows per workgroup: 1, 2, 4, 8 or 16. */
  rowsPerGroup: number;
  /** The subgroup form (subgroups.ts, warpSubgroups): each slice is one subgroup of 32 invocations. */
  subgroups: boolean;
  /** Loops with constant bounds, which Tint does not guard (faster at 1-4 rows, slower at 16: the plan's flag). */
  boundedLoops: boolean;
}

export class SparseMatMulSkinnyProgram extends ProductProgram<SkinnyConfig> {
  readonly directives: string;

  constructor(M: number, N: number, cfg: SkinnyConfig) {
    super(M, N, cfg, {columns: SKINNY_COLUMNS, threads: LANES * SLICES,
      head: `sparseSkinny_${cfg.rowsPerGroup}${cfg.subgroups ? '_subgroups' : ''}${cfg.boundedLoops ? '_bounded' : ''}`});
    this.directives = cfg.subgroups ? SUBGROUP_DIRECTIVES : '';
  }

  getUserCode(): string {
    const {rowsPerGroup: MT, valueType, transposeX, subgroups: sg} = this.cfg;
    const fused = !this.cfg.partials;
    const rows = Array.from({length: MT}, (_, m) => m);
    const f16 = valueType === 'float16';
    const fma = (k: string, v: string) =>
      rows.map((m) => `acc[${m}] = fma(x[xRow${m} + (${k}) * kStride], ${v}, acc[${m}]);`).join('\n            ');
    // The subgroup form: lane i holds row k0 + i of x, and each value takes its x from the lane of its bit
    // through subgroupShuffle, instead of an address, a bounds clamp and a load. A shuffle must not read
    // from a lane that has left the loop, so every lane runs the slice's most iterations (as a warp does
    // anyway) and masks those past its own bits.
    const shuffled = (i: string, v: string, on: string) => rows.map((m) =>
      `acc[${m}] = select(acc[${m}], fma(subgroupShuffle(xl${m}, ${i}), ${v}, acc[${m}]), ${on});`).join('\n            ');
    // A value's row: k0 + its bit index, or in the subgroup form the lane that holds that row (a lane past
    // its bits has b = 0, whose index 32 is wrapped to a real lane).
    const row = (b: string) => sg ? `countOneBits(${b} - 1u) & 31u` : `k0 + countOneBits(${b} - 1u)`;
    const take = (k: string, v: string, b: string) => sg ? shuffled(k, v, `${b} != 0u`) : fma(k, v);
    // The bit index as the popcount of the bits below the lowest set bit: WGSL's firstTrailingBit
    // compiles to a 25-instruction binary search in Tint's SPIR-V.
    const lowest = (b: string, k: string) =>
      `let ${b} = w & (0u - w);\n            w = w ^ ${b};\n            let ${k} = ${row(b)};`;
    const value = (e: string) => f16 ? `unpack2x16float(fetch(${e} >> 1u))` : `bitcast<f32>(fetch(${e}))`;
    // Two values per iteration, which halves the loop's own cost per value. f16 values are first brought
    // to an even index so that each iteration reads one whole pair.
    const peel = !f16 ? '' : sg ? `
          let odd = (e & 1u) == 1u && w != 0u;
          if (subgroupAny(odd)) {
            let b = select(0u, w & (0u - w), odd);
            w = w ^ b;
            let k = ${row('b')};
            ${shuffled('k', `${value('e')}.y`, 'odd')}
            e = e + select(0u, 1u, odd);
          }` : `
          if ((e & 1u) == 1u && w != 0u) {
            ${lowest('b', 'k')}
            ${fma('k', `${value('e')}.y`)}
            e = e + 1u;
          }`;
    const pairValues = f16 ? `let v = ${value('e')};` : `let v = vec2<f32>(${value('e')}, ${value('e + 1u')});`;
    // The subgroup form takes the last odd value in the loop, masked; the workgroup form after it.
    const pairCount = sg ? '(subgroupMax(countOneBits(w)) + 1u) >> 1u' : 'countOneBits(w) >> 1u';
    // With boundedLoops the loops have a constant bound (a tile column holds at most 16 pairs), and Tint
    // does not guard them with the 64-bit iteration counter it gives every other loop.
    const bounded = this.cfg.boundedLoops;
    const bitLoop = `${peel}
          ${bounded ? `let pairs = ${pairCount};
          for (var i = 0u; i < 16u; i = i + 1u) {
            if (i >= pairs) { break; }` : `var pairs = ${pairCount};
          loop {
            if (pairs == 0u) { break; }
            pairs = pairs - 1u;`}
            ${lowest('b0', 'ka')}
            ${lowest('b1', 'kb')}
            ${pairValues}
            e = e + 2u;
            ${take('ka', 'v.x', 'b0')}
            ${take('kb', 'v.y', 'b1')}
          }${sg ? '' : `
          if (w != 0u) {
            let k = k0 + countOneBits(w - 1u);
            ${fma('k', f16 ? `${value('e')}.x` : value('e'))}
          }`}`;
    // Row k0 + lane of the tile's window, for every row of x: one coalesced read per row per tile, so that
    // the workgroup sees every x in its K range and knows whether it must take absentNonFinite below. The
    // subgroup form also shuffles them into the products.
    const tileX = `${rows.map((m) => `var xl${m} = 0.0;`).join('\n            ')}
            if (k0 + lane < uniforms.K) {
              ${rows.map((m) => `xl${m} = x[xRow${m} + (k0 + lane) * kStride];
              xExp = max(xExp, bitcast<u32>(xl${m}) & EXP);`).join('\n              ')}
            }`;
    // The column's first value: in the subgroup form the tile's offset plus the popcounts of the columns
    // before it, summed across the lanes.
    const tileBody = `
            let word = u32(header[t * 36u + lane]);
            var e = ${sg ? 'u32(offsets[t]) + subgroupExclusiveAdd(countOneBits(word))' : 'firstValue(t, lane)'};
            ${tileX}
            var w = word & rowsIn(k0);
            ${bitLoop}`;

    return `
      // x: [M, K] row-major ([K, M] with transposeX). header: 36 words per tile (32 column bitmaps, then
      // 8 u16 group prefixes), tiles column-strip major. offsets: first value of each tile. values: f16
      // pairs or f32 bits, one word each. result: [M, N], or [splits, M, N] partial sums.
      ${fused ? epilogueWgsl(this.cfg.activation, this.cfg.hasBias, this.cfg.hasResidual) : ''}
      const LANES = ${LANES}u;
      const SLICES = ${SLICES}u;
      ${bounded ? `// K < 2^32, so KT < 2^27 and a slice walks fewer than 2^24 tiles: the tile loop's constant bound.
      const MAX_SLICE_TILES = 0x1000000u;` : ''}
      // Each slice's sums for every row, then added across slices.
      var<workgroup> red : array<f32, ${LANES * SLICES * MT}>;
      // Set when an x in the workgroup's rows and K range is NaN or ±Inf.
      var<workgroup> nonFinite : atomic<u32>;
      // The f32 exponent bits: all set for NaN and ±Inf only.
      const EXP = 0x7f800000u;
      ${productWgsl(this.cfg.partials)}

      // Dense matMul multiplies every x by every weight, and x·0 is NaN for a NaN or ±Inf x; the main loop
      // skips the weights that are not stored. So where some x of the workgroup is not finite (rare), each
      // output walks its column's absent bits over the workgroup's K range and becomes NaN if one meets such
      // an x. The finite path never comes here.
      fn absentNonFinite(m : u32, n : u32, ktBegin : u32, ktEnd : u32, s : f32) -> f32 {
        if (m >= uniforms.M || n >= uniforms.N) { return s; }
        ${transposeX ? 'let xRow = m;\n        let kStride = uniforms.M;' : 'let xRow = m * uniforms.K;\n        let kStride = 1u;'}
        for (var kt = ktBegin; kt < ktEnd; kt = kt + 1u) {
          let k0 = kt * 32u;
          var absent = ~u32(header[((n / 32u) * uniforms.KT + kt) * 36u + n % 32u]) & rowsIn(k0);
          loop {
            if (absent == 0u) { break; }
            let k = k0 + firstTrailingBit(absent);
            absent = absent & (absent - 1u);
            let bits = bitcast<u32>(x[xRow + k * kStride]);
            // NaN made from x's own bits at run time: a NaN constant is not a valid WGSL expression.
            if ((bits & EXP) == EXP) { return bitcast<f32>(bits | 0x7fc00000u); }
          }
        }
        return s;
      }

      fn main() {
        let lane = localIndex % LANES;
        let slice = localIndex / LANES;
        let nt = workgroupId.x;
        let n = nt * 32u + lane;
        let mBase = uniforms.mOffset + workgroupId.z * ${MT}u;
        // Rows past M read row M - 1; their sums are never written.
        ${transposeX ? 'let kStride = uniforms.M;' : 'let kStride = 1u;'}
        ${rows.map((m) => `let xRow${m} = min(mBase + ${m}u, uniforms.M - 1u)${transposeX ? '' : ' * uniforms.K'};`).join('\n        ')}
        var acc : array<f32, ${MT}>;
        var xExp = 0u;
        let ktBegin = workgroupId.y * uniforms.tileRowsPerSplit;
        let ktEnd = min(ktBegin + uniforms.tileRowsPerSplit, uniforms.KT);
        if (nt < uniforms.NT) {
          ${bounded ? `for (var j = 0u; j < MAX_SLICE_TILES; j = j + 1u) {
            let kt = ktBegin + slice + j * SLICES;
            if (kt >= ktEnd) { break; }` : 'for (var kt = ktBegin + slice; kt < ktEnd; kt = kt + SLICES) {'}
            let t = nt * uniforms.KT + kt;
            let k0 = kt * 32u;
            ${tileBody}
          }
        }
        if (xExp == EXP) { atomicStore(&nonFinite, 1u); }
        ${rows.map((m) => `red[${m}u * ${LANES * SLICES}u + localIndex] = acc[${m}];`).join('\n        ')}
        workgroupBarrier();
        for (var m = slice; m < ${MT}u; m = m + SLICES) {
          var s = red[m * ${LANES * SLICES}u + lane];
          for (var i = 1u; i < SLICES; i = i + 1u) { s = s + red[m * ${LANES * SLICES}u + i * LANES + lane]; }
          if (atomicLoad(&nonFinite) != 0u) { s = absentNonFinite(mBase + m, n, ktBegin, ktEnd, s); }
          store(mBase + m, n, s);
        }
      }
    `;
  }
}
