/**
 * What a SparseMatMul on webgpu runs: the skinny or the tiled program (by their costs as measured on the
 * H200), its rows of x per workgroup, and how K is split across workgroups. The bench sweeps the flags.
 */
import {env} from '@tensorflow/tfjs-core';
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {ProductConfig} from './sparse_mat_mul_product.js';
import {SKINNY_COLUMNS, SKINNY_MAX_ROWS, SKINNY_SLICES, skinnyWorkgroupBytes, SparseMatMulSkinnyProgram} from './sparse_mat_mul_skinny_program.js';
import {SparseMatMulTiledProgram, TILED_COLUMNS, TILED_ROWS, tiledWorkgroupBytes, TiledRows} from './sparse_mat_mul_tiled_program.js';

/** Workgroups a dispatch should have before K is split across them; the bench sweeps it. */
export const TARGET_WORKGROUPS_FLAG = 'TFJS_SPARSE_TARGET_WORKGROUPS';
env().registerFlag(TARGET_WORKGROUPS_FLAG, () => 2048);
/** Rows of x from which the tiled program may run instead of the skinny one (see preferTiled). */
export const TILED_MIN_ROWS_FLAG = 'TFJS_SPARSE_TILED_MIN_ROWS';
env().registerFlag(TILED_MIN_ROWS_FLAG, () => 17);
/**
 * Scales the tiled program's estimated cost against the skinny one's: 0 runs it whenever M allows, a
 * large value never; the bench sweeps it.
 */
export const TILED_COST_SCALE_FLAG = 'TFJS_SPARSE_TILED_COST_SCALE';
env().registerFlag(TILED_COST_SCALE_FLAG, () => 1);
/** Workgroups a tiled dispatch should have before K is split across them. */
export const TILED_TARGET_WORKGROUPS_FLAG = 'TFJS_SPARSE_TILED_TARGET_WORKGROUPS';
env().registerFlag(TILED_TARGET_WORKGROUPS_FLAG, () => 512);
/** The most x rows a tiled workgroup owns (64 or 128). */
export const TILED_MAX_ROWS_FLAG = 'TFJS_SPARSE_TILED_MAX_ROWS';
env().registerFlag(TILED_MAX_ROWS_FLAG, () => 128);
/**
 * Rows of x per workgroup from which the skinny program takes its subgroup form, where the device has
 * warp-sized subgroups. On the H200 it was 6-12% slower at 1 row, 0-6% faster at 2, 0-10% at 4 and up to
 * 18% at 16 (bench/NOTES.md). A large value never takes it.
 */
export const SUBGROUP_MIN_ROWS_FLAG = 'TFJS_SPARSE_SUBGROUP_MIN_ROWS';
env().registerFlag(SUBGROUP_MIN_ROWS_FLAG, () => 2);
/**
 * Rows of x per workgroup up to which the skinny program's loops have constant bounds (Tint guards
 * other loops with a 64-bit counter). On the H200 that was 3-6% faster at 1 and 4 rows, and up to 5%
 * slower at 16 rows and 80-90% sparsity (bench/NOTES.md).
 */
export const BOUNDED_LOOP_MAX_ROWS_FLAG = 'TFJS_SPARSE_BOUNDED_LOOP_MAX_ROWS';
env().registerFlag(BOUNDED_LOOP_MAX_ROWS_FLAG, () => 8);
/** The fewest tile rows of K a tiled split walks. */
const TILED_MIN_TILE_ROWS = 8;
/** Workgroups a dispatch may have along y and z. */
export const MAX_DISPATCH = 65535;

/**
 * x rows per workgroup: the fewest that cover M, up to 16, and no more than the device's workgroup
 * memory holds (a device made with WebGPU's default limits takes 8).
 */
export function rowsPerGroup(M: number, workgroupStorageBytes: number): number {
  let rows = 1;
  for (const r of [2, 4, 8, SKINNY_MAX_ROWS]) {
    if (rows >= M || skinnyWorkgroupBytes(r) > workgroupStorageBytes) break;
    rows = r;
  }
  return rows;
}

/**
 * Tiles each slice of a skinny workgroup walks at least, where K is split: a workgroup's start and its
 * slices' reduction cost about as much as a tile (1 tile per slice on 4096² was 10-15% slower than 2).
 */
const MIN_SLICE_TILES = 2;

/**
 * Splits K so that the dispatch has about TARGET_WORKGROUPS workgroups, while each slice keeps
 * MIN_SLICE_TILES tiles and the partial sums written and read back stay under a tenth of the weight's bytes.
 */
export function planSplits(KT: number, otherWorkgroups: number, partialBytes: number, weightBytes: number): {splits: number, tileRowsPerSplit: number} {
  const target = env().getNumber(TARGET_WORKGROUPS_FLAG);
  const byTraffic = Math.max(1, Math.floor(0.1 * weightBytes / (2 * partialBytes)));
  const byTiles = Math.floor(KT / (MIN_SLICE_TILES * SKINNY_SLICES));
  const want = Math.max(1, Math.min(Math.ceil(target / otherWorkgroups), byTiles, byTraffic));
  // Whole slices per split, so every slice of a workgroup has the same number of tiles.
  const tileRowsPerSplit = Math.ceil(Math.ceil(KT / want) / SKINNY_SLICES) * SKINNY_SLICES;
  return {splits: Math.ceil(KT / tileRowsPerSplit), tileRowsPerSplit};
}

/**
 * The tiled program's rows per workgroup: the fewest of 64, 128 that cover M, up to `max` and within the
 * device's workgroup memory; null where the device holds neither (the skinny program runs).
 */
export function tiledRows(M: number, max: number, workgroupStorageBytes: number): TiledRows | null {
  const allowed = TILED_ROWS.filter((r) => r <= max && tiledWorkgroupBytes(r) <= workgroupStorageBytes);
  if (allowed.length === 0) return null;
  return allowed.find((r) => r >= M) ?? allowed[allowed.length - 1];
}

/**
 * GPU time per weight element (ps) fitted to runs 11 and 12 on the H200 (bench/NOTES.md): the skinny
 * program per 16 rows of x, a + b·density (it reads only the stored weights, once per 16 rows); the
 * tiled one per block of rows, whatever the density.
 */
const SKINNY_COST = {perBlock: 1.03, perDensity: 4.0};
const TILED_COST: Record<TiledRows, number> = {64: 5.8, 128: 9.4};

/** Whether the tiled program (`rows` rows per workgroup) should beat the skinny one on M rows at `density`. */
export function preferTiled(M: number, density: number, rows: TiledRows): boolean {
  const skinny = Math.ceil(M / SKINNY_MAX_ROWS) * (SKINNY_COST.perBlock + SKINNY_COST.perDensity * density);
  return env().getNumber(TILED_COST_SCALE_FLAG) * Math.ceil(M / rows) * TILED_COST[rows] < skinny;
}

/** Splits K so that a tiled dispatch has about TILED_TARGET_WORKGROUPS workgroups. */
export function planTiledSplits(KT: number, otherWorkgroups: number): {splits: number, tileRowsPerSplit: number} {
  const target = env().getNumber(TILED_TARGET_WORKGROUPS_FLAG);
  const want = Math.max(1, Math.min(Math.ceil(target / otherWorkgroups), Math.floor(KT / TILED_MIN_TILE_ROWS)));
  const tileRowsPerSplit = Math.ceil(KT / want);
  return {splits: Math.ceil(KT / tileRowsPerSplit), tileRowsPerSplit};
}

/** A product's program (for a number of row blocks, writing partials or the result), rows per workgroup and K splits. */
export interface Plan {
  rows: number;
  splits: number;
  tileRowsPerSplit: number;
  program(rowBlocks: number, partials: boolean): WebGPUProgram;
}

/**
 * The plan for M rows of x against a [K, N] weight of KT tile rows, `density` stored values per element
 * and `weightBytes` bytes of header and values, on a device with `workgroupBytes` of workgroup memory
 * (and subgroups of 32 invocations where `warpSubgroups`).
 */
export function planProduct(M: number, N: number, KT: number, density: number, workgroupBytes: number, weightBytes: number,
    common: Omit<ProductConfig, 'splits' | 'partials' | 'rowBlocks'>, warpSubgroups = false): Plan {
  const tiled = M >= env().getNumber(TILED_MIN_ROWS_FLAG) ?
      tiledRows(M, env().getNumber(TILED_MAX_ROWS_FLAG), workgroupBytes) : null;
  if (tiled != null && preferTiled(M, density, tiled)) {
    const rows = tiled;
    const colBlocks = Math.ceil(N / TILED_COLUMNS);
    const rowBlocks = Math.ceil(M / rows);
    const split = rowBlocks > MAX_DISPATCH ? {splits: 1, tileRowsPerSplit: KT} : planTiledSplits(KT, colBlocks * rowBlocks);
    return {rows, ...split, program: (groups, partials) => new SparseMatMulTiledProgram(M, N,
        {rows, splits: split.splits, partials, rowBlocks: groups, ...common})};
  }
  // Up to 16 rows of x per workgroup; more rows take more workgroups along z, each streaming W again.
  const rows = rowsPerGroup(M, workgroupBytes);
  const subgroups = warpSubgroups && rows >= env().getNumber(SUBGROUP_MIN_ROWS_FLAG);
  const boundedLoops = rows <= env().getNumber(BOUNDED_LOOP_MAX_ROWS_FLAG);
  const colBlocks = Math.ceil(N / SKINNY_COLUMNS);
  const rowBlocks = Math.ceil(M / rows);
  const split = rowBlocks > MAX_DISPATCH ? {splits: 1, tileRowsPerSplit: KT} :
      planSplits(KT, colBlocks * rowBlocks, 4 * M * N, weightBytes);
  return {rows, ...split, program: (groups, partials) => new SparseMatMulSkinnyProgram(M, N,
      {rowsPerGroup: rows, subgroups, boundedLoops, splits: split.splits, partials, rowBlocks: groups, ...common})};
}
