/**
 * The webgpu SparseMatMul kernel: the skinny LSCD program for few rows of x, the tiled one (W expanded
 * in registers, x in workgroup memory) from TILED_MIN_ROWS rows, each split over K when N and M alone
 * cannot fill the GPU.
 */
import {env, KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {TILE_K, TILE_N} from '../../ops/format.js';
import {backendLimits, checkBindingBytes} from '../backend_limits.js';
import {checkKernelInputs} from '../kernel_inputs.js';
import {SparseMatMul, SparseMatMulAttrs, SparseMatMulInputs} from '../kernel_names.js';
import {SKINNY_COLUMNS, SKINNY_MAX_ROWS, SKINNY_SLICES, skinnyWorkgroupBytes, SparseMatMulSkinnyProgram} from './sparse_mat_mul_skinny_program.js';
import {SparseMatMulTiledProgram, TILED_COLUMNS, TILED_ROWS, tiledWorkgroupBytes, TiledRows} from './sparse_mat_mul_tiled_program.js';
import {SparseMatMulTransposedProgram} from './sparse_mat_mul_transposed_program.js';
import {epilogueActivation} from './epilogue_wgsl.js';
import {SplitKReduceProgram} from './split_k_reduce_program.js';
import {runMLPActivation} from './mlp_activation_webgpu.js';
import {runProgram} from './run_program.js';

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
/** The fewest tile rows of K a tiled split walks. */
const TILED_MIN_TILE_ROWS = 8;
const MAX_DISPATCH = 65535;

type Uniform = {type: 'uint32' | 'float32', data: number[]};

/** One entry per scalar: TF.js aligns a multi-value entry as a vector, but the structs hold scalars. */
function scalars(u32s: number[], f32s: number[] = []): Uniform[] {
  return [...u32s.map((v): Uniform => ({type: 'uint32', data: [v]})), ...f32s.map((v): Uniform => ({type: 'float32', data: [v]}))];
}

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
 * Splits K so that the dispatch has about TARGET_WORKGROUPS workgroups, while the partial sums written and
 * read back stay under a tenth of the weight's bytes.
 */
export function planSplits(KT: number, otherWorkgroups: number, partialBytes: number, weightBytes: number): {splits: number, tileRowsPerSplit: number} {
  const target = env().getNumber(TARGET_WORKGROUPS_FLAG);
  const byTraffic = Math.max(1, Math.floor(0.1 * weightBytes / (2 * partialBytes)));
  const want = Math.max(1, Math.min(Math.ceil(target / otherWorkgroups), KT, byTraffic));
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
  const skinny = Math.ceil(M / 16) * (SKINNY_COST.perBlock + SKINNY_COST.perDensity * density);
  return env().getNumber(TILED_COST_SCALE_FLAG) * Math.ceil(M / rows) * TILED_COST[rows] < skinny;
}

/** Splits K so that a tiled dispatch has about TILED_TARGET_WORKGROUPS workgroups. */
export function planTiledSplits(KT: number, otherWorkgroups: number): {splits: number, tileRowsPerSplit: number} {
  const target = env().getNumber(TILED_TARGET_WORKGROUPS_FLAG);
  const want = Math.max(1, Math.min(Math.ceil(target / otherWorkgroups), Math.floor(KT / TILED_MIN_TILE_ROWS)));
  const tileRowsPerSplit = Math.ceil(KT / want);
  return {splits: Math.ceil(KT / tileRowsPerSplit), tileRowsPerSplit};
}

/** What the product runs: a program per rows of x, the workgroups along M and N, and the K splits. */
interface Plan {
  rows: number;
  splits: number;
  tileRowsPerSplit: number;
  program(rowBlocks: number, partials: boolean): WebGPUProgram;
}

/** Every array the programs bind must fit one binding; a SparseMatrix is split by columns before this. */
function checkBindings(inputs: SparseMatMulInputs, attrs: SparseMatMulAttrs, backend: WebGPUBackend): void {
  const limits = backendLimits(backend);
  const bytes = (t: TensorInfo) => 4 * t.shape.reduce((a, b) => a * b, 1);
  const split = '; sparseMatMul splits a SparseMatrix by column strips to stay under it';
  for (const name of ['header', 'offsets', 'values'] as const) checkBindingBytes(`the weight's ${name}`, bytes(inputs[name]), limits, split);
  checkBindingBytes('x', bytes(inputs.x), limits, '; pass fewer rows of x per call');
  const M = attrs.transposeX ? inputs.x.shape[1] : inputs.x.shape[0];
  checkBindingBytes('the output', 4 * M * (attrs.transposeW ? attrs.K : attrs.N), limits, '; pass fewer rows of x per call');
}

function sparseMatMulWebGPU(args: {inputs: SparseMatMulInputs, backend: WebGPUBackend, attrs: SparseMatMulAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  checkKernelInputs(inputs, attrs);
  const {K, N, valueType, transposeX} = attrs;
  checkBindings(inputs, attrs, backend);
  const KT = Math.ceil(K / TILE_K);
  const NT = Math.ceil(N / TILE_N);
  const {x, header, offsets, values} = inputs;
  if (attrs.transposeW) {
    const M = x.shape[0];
    const program = new SparseMatMulTransposedProgram(M, K, valueType);
    return runProgram(backend, program, [x, header, offsets, values], 'float32',
        scalars([M, K, N, KT, NT]));
  }
  const M = transposeX ? x.shape[1] : x.shape[0];
  // In the programs' variableNames order.
  const epilogueInputs = [inputs.bias, inputs.preluActivationWeights, inputs.residual].filter((t): t is TensorInfo => t != null);
  const hasBias = inputs.bias != null;
  const hasPrelu = inputs.preluActivationWeights != null;
  const hasResidual = inputs.residual != null;
  const swiglu = attrs.mlpActivation === 'swiglu';
  const common = {valueType, transposeX, activation: epilogueActivation(attrs), hasBias, hasPrelu, hasResidual};
  const plan = (): Plan => {
    const workgroupBytes = backend.device.limits.maxComputeWorkgroupStorageSize;
    const tiled = M >= env().getNumber(TILED_MIN_ROWS_FLAG) ?
        tiledRows(M, env().getNumber(TILED_MAX_ROWS_FLAG), workgroupBytes) : null;
    // Stored values per weight element (f16 pairs in words; each tile's block is padded to 16 bytes).
    const density = values.shape[0] * (valueType === 'float16' ? 2 : 1) / (K * N);
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
    const colBlocks = Math.ceil(N / SKINNY_COLUMNS);
    const rowBlocks = Math.ceil(M / rows);
    const split = rowBlocks > MAX_DISPATCH ? {splits: 1, tileRowsPerSplit: KT} :
        planSplits(KT, colBlocks * rowBlocks, 4 * M * N, 4 * (header.shape[0] + values.shape[0]));
    return {rows, ...split, program: (groups, partials) => new SparseMatMulSkinnyProgram(M, N,
        {rowsPerGroup: rows, splits: split.splits, partials, rowBlocks: groups, ...common})};
  };
  const {rows, splits, tileRowsPerSplit, program} = plan();
  const rowBlocks = Math.ceil(M / rows);
  // Beyond one dispatch's reach along M, run chunks of rows into the same output, unsplit.
  const chunkRows = MAX_DISPATCH * rows;
  const uniforms = (mOffset: number) => scalars([M, K, N, KT, NT, tileRowsPerSplit, mOffset], [attrs.leakyreluAlpha]);
  const encoded = [x, header, offsets, values];
  // SwiGLU pairs columns that lie in different workgroups: it always takes the reduce pass, or beyond
  // one dispatch's rows, its own kernel after the product.
  if (swiglu && rowBlocks > MAX_DISPATCH) {
    const z = sparseMatMulWebGPU({inputs, backend, attrs: {...attrs, mlpActivation: undefined}});
    const out = runMLPActivation(backend, z, 'swiglu');
    backend.disposeData(z.dataId);
    return out;
  }
  const twoPass = splits > 1 || swiglu;
  if (!twoPass) {
    let out: TensorInfo | undefined;
    for (let m0 = 0; m0 < M; m0 += chunkRows) {
      out = runProgram(backend, program(Math.ceil(Math.min(chunkRows, M - m0) / rows), false),
          [...encoded, ...epilogueInputs], 'float32', uniforms(m0), out);
    }
    return out!;
  }
  const partials = runProgram(backend, program(rowBlocks, true), encoded, 'float32', uniforms(0));
  const reduce = new SplitKReduceProgram(M, N, {
    activation: swiglu ? 'swiglu' : epilogueActivation(attrs), hasBias, hasPrelu, hasResidual,
  });
  const out = runProgram(backend, reduce, [partials, ...epilogueInputs], 'float32', scalars([splits, M * N, N], [attrs.leakyreluAlpha]));
  backend.disposeData(partials.dataId);
  return out;
}

export const sparseMatMulWebGPUConfig: KernelConfig = {
  kernelName: SparseMatMul,
  backendName: 'webgpu',
  kernelFunc: sparseMatMulWebGPU as unknown as KernelFunc,
};
