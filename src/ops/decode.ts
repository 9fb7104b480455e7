/** Decoder of the tiled-bitmap format back to a dense row-major [K, N] array. */
import {f16BitsToF32} from './f16.js';
import {EncodedSparseMatrix, HEADER_WORDS, TILE_K, TILE_N, tileGrid} from './format.js';

/** Calls `visit(row, column, value)` for every stored entry, in storage order. */
export function forEachStored(e: EncodedSparseMatrix, visit: (k: number, n: number, v: number) => void): void {
  const grid = tileGrid(e.shape[0], e.shape[1]);
  const halves = e.valueType === 'float16' ? new Uint16Array(e.values.buffer, e.values.byteOffset, e.values.length * 2) : undefined;
  const floats = halves ? undefined : new Float32Array(e.values.buffer, e.values.byteOffset, e.values.length);
  for (let nt = 0; nt < grid.NT; nt++) {
    for (let kt = 0; kt < grid.KT; kt++) {
      const t = nt * grid.KT + kt;
      let el = e.offsets[t];
      for (let c = 0; c < TILE_N; c++) {
        let w = e.header[t * HEADER_WORDS + c];
        while (w !== 0) {
          const r = 31 - Math.clz32(w & -w);
          w &= w - 1;
          const v = halves ? f16BitsToF32(halves[el]) : floats![el];
          el++;
          visit(kt * TILE_K + r, nt * TILE_N + c, v);
        }
      }
    }
  }
}

export function decodeDense(e: EncodedSparseMatrix): Float32Array {
  const [K, N] = e.shape;
  const out = new Float32Array(K * N);
  forEachStored(e, (k, n, v) => { out[k * N + n] = v; });
  return out;
}
