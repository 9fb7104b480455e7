/**
 * Splitting an encoded weight by column strips, for backends whose bindings cannot hold it whole. Tiles
 * are column-strip major, so the strips [nt0, nt1) are one contiguous run of header, offsets and values:
 * a valid encoding of W[:, 32·nt0 : 32·nt1] on its own once its offsets are rebased.
 */
import type {BackendLimits} from '../kernels/backend_limits.js';
import {EncodedSparseMatrix, HEADER_WORDS, TILE_N, tileGrid, valueWords} from './format.js';

/** A range of column strips: columns [32·nt0, min(N, 32·nt1)). */
export interface StripRange {
  nt0: number;
  nt1: number;
}

/** Words of the values array of a part: a zero-length buffer cannot be bound, so at least 4. */
export const MIN_VALUE_WORDS = 4;

/** Bytes of each array of the strips [nt0, nt1). */
function partBytes(e: EncodedSparseMatrix, KT: number, nt0: number, nt1: number): {header: number, offsets: number, values: number} {
  const tiles = (nt1 - nt0) * KT;
  const elements = e.offsets[nt1 * KT] - e.offsets[nt0 * KT];
  return {
    header: 4 * tiles * HEADER_WORDS,
    offsets: 4 * (tiles + 1),
    values: 4 * Math.max(MIN_VALUE_WORDS, valueWords(elements, e.valueType)),
  };
}

/**
 * The fewest strip ranges, in order, whose arrays each fit one binding and whose strips fit one dispatch.
 * Throws, naming the limit and the size, when a single strip does not fit.
 */
export function planColumnParts(e: EncodedSparseMatrix, limits: BackendLimits): StripRange[] {
  const {KT, NT} = tileGrid(e.shape[0], e.shape[1]);
  const fits = (nt0: number, nt1: number) => {
    const b = partBytes(e, KT, nt0, nt1);
    return Math.max(b.header, b.offsets, b.values) <= limits.maxBindingBytes && nt1 - nt0 <= limits.maxColumnStrips;
  };
  const ranges: StripRange[] = [];
  let nt0 = 0;
  while (nt0 < NT) {
    if (!fits(nt0, nt0 + 1)) {
      const b = partBytes(e, KT, nt0, nt0 + 1);
      const [what, bytes] = b.values >= b.header ? ['values', b.values] : ['header', b.header];
      throw new Error(
          `SparseMatrix: column strip ${nt0} (columns ${nt0 * TILE_N} to ${Math.min(e.shape[1], (nt0 + 1) * TILE_N) - 1}) ` +
          `stores ${bytes} bytes of ${what}, over the ${limits.maxBindingBytes}-byte limit of one binding on this backend ` +
          `(maxStorageBufferBindingSize, or TFJS_SPARSE_MAX_BINDING_BYTES); a strip of 32 columns cannot be split further`);
    }
    let nt1 = nt0 + 1;
    while (nt1 < NT && fits(nt0, nt1 + 1)) nt1++;
    ranges.push({nt0, nt1});
    nt0 = nt1;
  }
  return ranges;
}

/** The encoding of the strips [nt0, nt1): views of `e`'s header and values, rebased offsets. */
export function sliceColumns(e: EncodedSparseMatrix, {nt0, nt1}: StripRange): EncodedSparseMatrix {
  const [K, N] = e.shape;
  const {KT, NT} = tileGrid(K, N);
  if (nt0 === 0 && nt1 === NT) return e;
  const first = e.offsets[nt0 * KT];
  const offsets = e.offsets.slice(nt0 * KT, nt1 * KT + 1);
  for (let i = 0; i < offsets.length; i++) offsets[i] -= first;
  const startWord = e.valueType === 'float16' ? first / 2 : first;
  return {
    format: e.format, version: e.version, shape: [K, Math.min(N, nt1 * TILE_N) - nt0 * TILE_N], valueType: e.valueType,
    header: e.header.subarray(nt0 * KT * HEADER_WORDS, nt1 * KT * HEADER_WORDS),
    offsets,
    values: e.values.subarray(startWord, startWord + valueWords(offsets[offsets.length - 1], e.valueType)),
  };
}
