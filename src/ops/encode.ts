/** Encoders into the tiled-bitmap format (docs/format.md): from a dense array or from COO entries. */
import {f32ToF16Bits, F16_MAX} from './f16.js';
import {EncodedSparseMatrix, FORMAT_NAME, FORMAT_VERSION, GROUP_N, GROUPS_PER_TILE, HEADER_WORDS, MAX_HEADER_WORDS, PREFIX_WORD, popcount32, TILE_K, TILE_N, TileGrid, tileGrid, ValueType, valueAlign, valueWords} from './format.js';

export function checkShape(shape: readonly number[]): [number, number] {
  if (!Array.isArray(shape) || shape.length !== 2) {
    throw new Error(`SparseMatrix: shape must be [K, N], got ${JSON.stringify(shape)}`);
  }
  const [K, N] = shape;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1 || d > 0x7fffffff) {
      throw new Error(`SparseMatrix: shape must be two positive integers, got [${shape.map((v) => JSON.stringify(v)).join(', ')}]`);
    }
  }
  const words = tileGrid(K, N).tiles * HEADER_WORDS;
  if (words > MAX_HEADER_WORDS) {
    throw new Error(`SparseMatrix: shape [${K}, ${N}] needs a header of ${words} words, more than the format's ${MAX_HEADER_WORDS}`);
  }
  return [K, N];
}

export function checkValueType(valueType: unknown): ValueType {
  if (valueType !== 'float16' && valueType !== 'float32') {
    throw new Error(`SparseMatrix: valueType must be 'float16' or 'float32', got ${String(valueType)}`);
  }
  return valueType;
}

/** Throws if a finite value cannot be stored as f16, naming how many and the largest magnitude. */
function checkF16Range(values: ArrayLike<number>): void {
  let count = 0;
  let largest = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > F16_MAX && a !== Infinity) {
      count++;
      if (a > largest) largest = a;
    }
  }
  if (count > 0) {
    throw new Error(
        `SparseMatrix: ${count} value(s) exceed the float16 range (largest magnitude ${largest}, ` +
        `float16 max ${F16_MAX}); pass {valueType: 'float32'} to keep them`);
  }
}

/**
 * Fills group prefixes and offsets from the bitmaps already in `header`, lets `gather` write every tile's
 * values as f32 in storage order, then packs them as the value type asks.
 */
function finish(
    grid: TileGrid, valueType: ValueType, header: Int32Array,
    gather: (out: Float32Array, offsets: Int32Array) => void): EncodedSparseMatrix {
  const align = valueAlign(valueType);
  const offsets = new Int32Array(grid.tiles + 1);
  let total = 0;
  for (let t = 0; t < grid.tiles; t++) {
    const base = t * HEADER_WORDS;
    let count = 0;
    for (let g = 0; g < GROUPS_PER_TILE; g++) {
      const w = base + PREFIX_WORD + (g >> 1);
      header[w] = (g & 1) ? (header[w] | (count << 16)) : count;
      for (let c = g * GROUP_N; c < (g + 1) * GROUP_N; c++) count += popcount32(header[base + c]);
    }
    offsets[t] = total;
    total += Math.ceil(count / align) * align;
    if (total > 0x7fffffff) throw new Error('SparseMatrix: more than 2^31 - 1 stored values');
  }
  offsets[grid.tiles] = total;
  const floats = new Float32Array(total);
  gather(floats, offsets);
  let values: Int32Array;
  if (valueType === 'float16') {
    checkF16Range(floats);
    values = new Int32Array(valueWords(total, valueType));
    const halves = new Uint16Array(values.buffer);
    for (let i = 0; i < total; i++) halves[i] = f32ToF16Bits(floats[i]);
  } else {
    values = new Int32Array(floats.buffer);
  }
  return {
    format: FORMAT_NAME, version: FORMAT_VERSION, shape: [grid.K, grid.N], valueType, header, offsets,
    values,
  };
}

/** Encodes a dense row-major [K, N] matrix; entries equal to 0 are not stored. */
export function encodeDense(dense: Float32Array, shape: [number, number], valueType: ValueType): EncodedSparseMatrix {
  const [K, N] = shape;
  if (!(dense instanceof Float32Array)) {
    throw new Error(`SparseMatrix.fromDense: values must be a Float32Array, got ${describe(dense)}`);
  }
  if (dense.length !== K * N) {
    throw new Error(`SparseMatrix.fromDense: ${dense.length} values do not fill shape [${K}, ${N}] (${K * N})`);
  }
  const grid = tileGrid(K, N);
  const header = new Int32Array(grid.tiles * HEADER_WORDS);
  for (let k = 0; k < K; k++) {
    const bit = 1 << (k % TILE_K);
    const row = k * N;
    let tileBase = ((k / TILE_K) | 0) * HEADER_WORDS;
    for (let n0 = 0; n0 < N; n0 += TILE_N) {
      const end = Math.min(TILE_N, N - n0);
      for (let c = 0; c < end; c++) {
        if (dense[row + n0 + c] !== 0) header[tileBase + c] |= bit;
      }
      tileBase += grid.KT * HEADER_WORDS;
    }
  }
  // The walk of format.ts's forEachPosition, inlined: a callback per value costs about 30% of the speed.
  return finish(grid, valueType, header, (out, offsets) => {
    for (let nt = 0; nt < grid.NT; nt++) {
      for (let kt = 0; kt < grid.KT; kt++) {
        const t = nt * grid.KT + kt;
        let e = offsets[t];
        for (let c = 0; c < TILE_N; c++) {
          let w = header[t * HEADER_WORDS + c];
          const col = nt * TILE_N + c;
          while (w !== 0) {
            const r = 31 - Math.clz32(w & -w);
            w &= w - 1;
            out[e++] = dense[(kt * TILE_K + r) * N + col];
          }
        }
      }
    }
  });
}

/**
 * Encodes COO entries in the layout of TF's SparseTensor: `indices` is [nnz, 2] of (row, column).
 * Duplicate and out-of-range indices are errors; entries whose value is 0 are not stored.
 */
export function encodeCOO(
    indices: ArrayLike<number>, values: ArrayLike<number>, shape: [number, number],
    valueType: ValueType): EncodedSparseMatrix {
  const [K, N] = shape;
  const nnz = values.length;
  if (indices.length !== 2 * nnz) {
    throw new Error(`SparseMatrix.fromCOO: indices hold ${indices.length} numbers, expected [${nnz}, 2] (${2 * nnz})`);
  }
  const grid = tileGrid(K, N);
  // Position in storage order (tile, column, row): unique per (row, column), so sorting finds duplicates.
  const keys = new Float64Array(nnz);
  for (let i = 0; i < nnz; i++) {
    const r = indices[2 * i], c = indices[2 * i + 1];
    if (!Number.isInteger(r) || !Number.isInteger(c) || r < 0 || r >= K || c < 0 || c >= N) {
      throw new Error(`SparseMatrix.fromCOO: index ${i} is (${r}, ${c}), outside shape [${K}, ${N}]`);
    }
    const t = Math.floor(c / TILE_N) * grid.KT + Math.floor(r / TILE_K);
    keys[i] = (t * TILE_N + (c % TILE_N)) * TILE_K + (r % TILE_K);
  }
  const order = Array.from({length: nnz}, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
  for (let j = 1; j < nnz; j++) {
    if (keys[order[j]] === keys[order[j - 1]]) {
      const i = order[j];
      throw new Error(`SparseMatrix.fromCOO: duplicate index (${indices[2 * i]}, ${indices[2 * i + 1]})`);
    }
  }
  const kept = order.filter((i) => values[i] !== 0);
  // Checked before the f32 gather, where a number beyond f32's range would turn into Infinity.
  if (valueType === 'float16') checkF16Range(kept.map((i) => values[i]));
  const header = new Int32Array(grid.tiles * HEADER_WORDS);
  for (const i of kept) {
    const key = keys[i];
    const r = key % TILE_K;
    header[Math.floor(key / (TILE_K * TILE_N)) * HEADER_WORDS + Math.floor(key / TILE_K) % TILE_N] |= 1 << r;
  }
  return finish(grid, valueType, header, (out, offsets) => {
    let t = -1, e = 0;
    for (const i of kept) {
      const tile = Math.floor(keys[i] / (TILE_K * TILE_N));
      if (tile !== t) {
        t = tile;
        e = offsets[t];
      }
      out[e++] = values[i];
    }
  });
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return Array.isArray(v) ? 'Array' : typeof v;
}
