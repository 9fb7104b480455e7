/**
 * An independent validity check of an encoded matrix, written from docs/format.md for the fuzz specs (it
 * shares no code with src/ops/validate.ts): null when the object is a valid tiled-bitmap encoding, else
 * a short name of the first problem found. The fuzz specs hold fromEncoded to it: it must throw exactly
 * when this finds a problem.
 */
import type {EncodedSparseMatrix} from '../../src/index';

function popcount(v: number): number {
  let n = 0;
  for (let b = 0; b < 32; b++) if ((v >>> b) & 1) n++;
  return n;
}

export function formatProblem(e: EncodedSparseMatrix): string | null {
  if (e === null || typeof e !== 'object') return 'not an object';
  if (e.format !== 'tiled-bitmap') return 'format';
  if (e.version !== 1) return 'version';
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.length !== 2) return 'shape';
  const [K, N] = shape;
  if (![K, N].every((d) => Number.isInteger(d) && d >= 1 && d <= 0x7fffffff)) return 'shape';
  if (e.valueType !== 'float16' && e.valueType !== 'float32') return 'valueType';
  for (const a of [e.header, e.offsets, e.values]) if (!(a instanceof Int32Array)) return 'array type';
  const KT = Math.ceil(K / 32), NT = Math.ceil(N / 32), T = KT * NT;
  if (e.header.length !== 36 * T) return 'header length';
  if (e.offsets.length !== T + 1) return 'offsets length';
  if (e.offsets[0] !== 0) return 'offsets[0]';
  const align = e.valueType === 'float16' ? 8 : 4;
  for (let nt = 0; nt < NT; nt++) {
    for (let kt = 0; kt < KT; kt++) {
      const t = nt * KT + kt;
      const base = 36 * t;
      let count = 0;
      for (let c = 0; c < 32; c++) {
        if (c % 4 === 0) {
          const word = e.header[base + 32 + (c >> 3)] >>> 0;
          const prefix = ((c >> 2) & 1) ? word >>> 16 : word & 0xffff;
          if (prefix !== count) return 'group prefix';
        }
        const bits = e.header[base + c] >>> 0;
        for (let r = 0; r < 32; r++) {
          if (((bits >>> r) & 1) && (kt * 32 + r >= K || nt * 32 + c >= N)) return 'bit outside the matrix';
        }
        count += popcount(bits);
      }
      if (e.offsets[t + 1] - e.offsets[t] !== Math.ceil(count / align) * align) return 'tile span';
    }
  }
  const total = e.offsets[T];
  const words = e.valueType === 'float16' ? Math.ceil(total / 2) : total;
  if (e.values.length !== words) return 'values length';
  return null;
}
