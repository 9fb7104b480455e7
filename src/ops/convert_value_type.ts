/**
 * Re-encodes the values of an encoded matrix as another value type, keeping its bitmap exactly: a value
 * that becomes 0 keeps its bit (unlike encoding from dense, which drops zeros).
 */
import {f16BitsToF32, f32ToF16Bits, F16_MAX} from './f16.js';
import {EncodedSparseMatrix, HEADER_WORDS, popcount32, TILE_N, tileGrid, ValueType, valueAlign, valueWords} from './format.js';

export function convertValueType(e: EncodedSparseMatrix, valueType: ValueType): EncodedSparseMatrix {
  const copy = (values: Int32Array, offsets: Int32Array): EncodedSparseMatrix => ({
    format: e.format, version: e.version, shape: [e.shape[0], e.shape[1]], valueType, header: e.header.slice(),
    offsets, values,
  });
  if (e.valueType === valueType) return copy(e.values.slice(), e.offsets.slice());
  const grid = tileGrid(e.shape[0], e.shape[1]);
  const align = valueAlign(valueType);
  const offsets = new Int32Array(grid.tiles + 1);
  // A tile's span includes padding, so its stored count comes from the bitmap.
  const counts = tileCounts(e);
  for (let t = 0; t < grid.tiles; t++) offsets[t + 1] = offsets[t] + Math.ceil(counts[t] / align) * align;
  const values = new Int32Array(valueWords(offsets[grid.tiles], valueType));
  const srcHalves = e.valueType === 'float16' ? new Uint16Array(e.values.buffer, e.values.byteOffset, e.values.length * 2) : null;
  const srcFloats = srcHalves ? null : new Float32Array(e.values.buffer, e.values.byteOffset, e.values.length);
  const read = (i: number) => srcHalves ? f16BitsToF32(srcHalves[i]) : srcFloats![i];
  if (valueType === 'float16') {
    const halves = new Uint16Array(values.buffer);
    let over = 0, largest = 0;
    for (let t = 0; t < grid.tiles; t++) {
      for (let i = 0; i < counts[t]; i++) {
        const v = read(e.offsets[t] + i);
        const a = Math.abs(v);
        if (a > F16_MAX && a !== Infinity) {
          over++;
          largest = Math.max(largest, a);
        }
        halves[offsets[t] + i] = f32ToF16Bits(v);
      }
    }
    if (over > 0) {
      throw new Error(
          `SparseMatrix: ${over} value(s) exceed the float16 range (largest magnitude ${largest}, float16 max ${F16_MAX})`);
    }
  } else {
    const floats = new Float32Array(values.buffer);
    for (let t = 0; t < grid.tiles; t++) {
      for (let i = 0; i < counts[t]; i++) floats[offsets[t] + i] = read(e.offsets[t] + i);
    }
  }
  return copy(values, offsets);
}

/** Stored values per tile, from the bitmaps. */
function tileCounts(e: EncodedSparseMatrix): Int32Array {
  const grid = tileGrid(e.shape[0], e.shape[1]);
  const counts = new Int32Array(grid.tiles);
  for (let t = 0; t < grid.tiles; t++) {
    let n = 0;
    for (let c = 0; c < TILE_N; c++) n += popcount32(e.header[t * HEADER_WORDS + c]);
    counts[t] = n;
  }
  return counts;
}
