/** Constants and types of the `tiled-bitmap` sparse weight format, version 1 (docs/format.md). */

export const FORMAT_NAME = 'tiled-bitmap';
export const FORMAT_VERSION = 1;

/** Rows (K) per tile: one bitmap word per tile column. */
export const TILE_K = 32;
/** Columns (N) per tile. */
export const TILE_N = 32;
/** Columns per group; a group's value start is stored, so a GPU thread never scans. */
export const GROUP_N = 4;
export const GROUPS_PER_TILE = TILE_N / GROUP_N;
/** Header words per tile: TILE_N bitmap words, then GROUPS_PER_TILE uint16 prefixes. */
export const HEADER_WORDS = TILE_N + GROUPS_PER_TILE / 2;
/** First prefix word within a tile header. */
export const PREFIX_WORD = TILE_N;
/** The most header words (and value elements) a matrix may have: indices into them are int32. */
export const MAX_HEADER_WORDS = 0x7fffffff;

/** How values are stored: f16 pairs packed in 32-bit words, or f32. */
export type ValueType = 'float16' | 'float32';

/** Elements per 16 bytes: each tile's value block is padded to this many elements. */
export function valueAlign(valueType: ValueType): number {
  return valueType === 'float16' ? 8 : 4;
}

/** 32-bit words needed for `elements` values. */
export function valueWords(elements: number, valueType: ValueType): number {
  return valueType === 'float16' ? Math.ceil(elements / 2) : elements;
}

/** Words of a stored values array of an all-zero matrix: a zero-length buffer cannot be bound on WebGPU. */
export const EMPTY_VALUE_WORDS = 4;

/** Words of the values array as stored in a model (a layer's weight, a graph's constant) for `e`. */
export function storedValueWords(e: EncodedSparseMatrix): number {
  return e.values.length > 0 ? e.values.length : EMPTY_VALUE_WORDS;
}

/** The encoded form of a sparse weight: plain arrays plus what is needed to read them. */
export interface EncodedSparseMatrix {
  format: typeof FORMAT_NAME;
  version: typeof FORMAT_VERSION;
  /** [K, N]: K inputs (rows), N outputs (columns). */
  shape: [number, number];
  valueType: ValueType;
  /** Per tile: TILE_N bitmap words (word c = column c, bit r = row r), then the group prefixes. */
  header: Int32Array;
  /** tiles + 1 element offsets; each tile's values start on a 16-byte boundary. */
  offsets: Int32Array;
  /** Nonzero values, column-major within each tile: f16 pairs or f32 bit patterns. */
  values: Int32Array;
}

/** Tile grid of a [K, N] matrix. */
export interface TileGrid {
  K: number;
  N: number;
  /** Tile rows: ceil(K / TILE_K). */
  KT: number;
  /** Tile columns: ceil(N / TILE_N). */
  NT: number;
  tiles: number;
}

export function tileGrid(K: number, N: number): TileGrid {
  const KT = Math.ceil(K / TILE_K);
  const NT = Math.ceil(N / TILE_N);
  return {K, N, KT, NT, tiles: KT * NT};
}

/** Tiles are column-strip major, so one strip of N is contiguous down K. */
export function tileIndex(grid: TileGrid, kt: number, nt: number): number {
  return nt * grid.KT + kt;
}

export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Group prefix g of tile t, read from the header. */
export function groupPrefix(header: Int32Array, t: number, g: number): number {
  const word = header[t * HEADER_WORDS + PREFIX_WORD + (g >> 1)];
  return (g & 1) ? (word >>> 16) : (word & 0xffff);
}

/**
 * Calls `visit(k, n, e)` for every stored entry in storage order (tile, column, row): its row, its column
 * and its element index in the values. Bits outside the matrix (only in an encoding that skipped
 * validation) take their element but are not visited, as the kernels do.
 */
export function forEachPosition(
    shape: [number, number], header: Int32Array, offsets: Int32Array,
    visit: (k: number, n: number, e: number) => void): void {
  const [K, N] = shape;
  const grid = tileGrid(K, N);
  for (let nt = 0; nt < grid.NT; nt++) {
    for (let kt = 0; kt < grid.KT; kt++) {
      const t = nt * grid.KT + kt;
      let e = offsets[t];
      for (let c = 0; c < TILE_N; c++) {
        let w = header[t * HEADER_WORDS + c];
        const n = nt * TILE_N + c;
        while (w !== 0) {
          const k = kt * TILE_K + 31 - Math.clz32(w & -w);
          w &= w - 1;
          if (k < K && n < N) visit(k, n, e);
          e++;
        }
      }
    }
  }
}
