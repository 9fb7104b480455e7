/** Decoder of the tiled-bitmap format back to a dense row-major [K, N] array. */
import {f16BitsToF32} from './f16.js';
import {EncodedSparseMatrix, forEachPosition} from './format.js';

/**
 * Calls `visit(row, column, value)` for every stored entry, in storage order. The element index is
 * clamped to the values as the kernels clamp it (as a u32), which matters only for an encoding that
 * skipped validation.
 */
export function forEachStored(e: EncodedSparseMatrix, visit: (k: number, n: number, v: number) => void): void {
  if (e.valueType === 'float16') {
    const halves = new Uint16Array(e.values.buffer, e.values.byteOffset, e.values.length * 2);
    const last = halves.length - 1;
    forEachPosition(e.shape, e.header, e.offsets, (k, n, el) => visit(k, n, f16BitsToF32(halves[Math.min(el >>> 0, last)])));
  } else {
    const floats = new Float32Array(e.values.buffer, e.values.byteOffset, e.values.length);
    const last = floats.length - 1;
    forEachPosition(e.shape, e.header, e.offsets, (k, n, el) => visit(k, n, floats[Math.min(el >>> 0, last)]));
  }
}

export function decodeDense(e: EncodedSparseMatrix): Float32Array {
  const [K, N] = e.shape;
  const out = new Float32Array(K * N);
  forEachStored(e, (k, n, v) => { out[k * N + n] = v; });
  return out;
}
