/** Full consistency check of an encoded matrix, run before any use of untrusted arrays. */
import {checkShape, checkValueType, describe} from './encode.js';
import {EncodedSparseMatrix, FORMAT_NAME, FORMAT_VERSION, groupPrefix, GROUP_N, GROUPS_PER_TILE, HEADER_WORDS, popcount32, TILE_K, TILE_N, tileGrid, valueAlign, valueWords} from './format.js';

function fail(msg: string): never {
  throw new Error(`SparseMatrix.fromEncoded: ${msg}`);
}

/** Returns the number of stored values; throws an Error naming the first inconsistency. */
export function validateEncoded(e: EncodedSparseMatrix): number {
  if (e === null || typeof e !== 'object') fail(`expected an encoded matrix object, got ${describe(e)}`);
  if (e.format !== FORMAT_NAME) fail(`unknown format ${JSON.stringify(e.format)}, expected '${FORMAT_NAME}'`);
  if (e.version !== FORMAT_VERSION) fail(`unknown format version ${JSON.stringify(e.version)}, this build reads version ${FORMAT_VERSION}`);
  const [K, N] = checkShape(e.shape);
  const valueType = checkValueType(e.valueType);
  for (const name of ['header', 'offsets', 'values'] as const) {
    if (!(e[name] instanceof Int32Array)) fail(`${name} must be an Int32Array, got ${describe(e[name])}`);
  }
  const grid = tileGrid(K, N);
  const {header, offsets, values} = e;
  if (header.length !== grid.tiles * HEADER_WORDS) {
    fail(`header has ${header.length} words, expected ${grid.tiles * HEADER_WORDS} (${grid.tiles} tiles × ${HEADER_WORDS})`);
  }
  if (offsets.length !== grid.tiles + 1) fail(`offsets has ${offsets.length} entries, expected ${grid.tiles + 1}`);
  if (offsets[0] !== 0) fail(`offsets[0] is ${offsets[0]}, expected 0`);
  const align = valueAlign(valueType);
  const capacity = values.length * (valueType === 'float16' ? 2 : 1);
  let nnz = 0;
  for (let t = 0; t < grid.tiles; t++) {
    const start = offsets[t], end = offsets[t + 1];
    if (end < start) fail(`offsets decrease at tile ${t} (${start} then ${end})`);
    if (end > capacity) fail(`offsets[${t + 1}] = ${end} runs past the ${capacity} stored values`);
    const kt = t % grid.KT, nt = Math.floor(t / grid.KT);
    const rowsIn = Math.min(TILE_K, K - kt * TILE_K);
    const colsIn = Math.min(TILE_N, N - nt * TILE_N);
    const rowMask = rowsIn === 32 ? -1 : (1 << rowsIn) - 1;
    let count = 0;
    for (let g = 0; g < GROUPS_PER_TILE; g++) {
      const prefix = groupPrefix(header, t, g);
      if (prefix !== count) fail(`tile ${t} group ${g} prefix is ${prefix}, but the bitmap counts ${count}`);
      for (let c = g * GROUP_N; c < (g + 1) * GROUP_N; c++) {
        const w = header[t * HEADER_WORDS + c];
        if ((c >= colsIn && w !== 0) || (w & ~rowMask) !== 0) fail(`tile ${t} has bits set outside the [${K}, ${N}] matrix`);
        count += popcount32(w);
      }
    }
    const span = Math.ceil(count / align) * align;
    if (end - start !== span) {
      fail(`tile ${t} bitmap popcount is ${count} (${span} with padding), but its offsets span ${end - start}`);
    }
    nnz += count;
  }
  const expectedWords = valueWords(offsets[grid.tiles], valueType);
  if (values.length !== expectedWords) fail(`values has ${values.length} words, expected ${expectedWords}`);
  return nnz;
}
