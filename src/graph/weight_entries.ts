/**
 * A model's weights as separate entries (manifest spec plus its bytes), so that a rewrite can drop some,
 * add others and carry the rest over byte for byte (quantized or string weights included).
 */
import {io, Tensor} from '@tensorflow/tfjs-core';

/** One weight: its manifest entry and exactly its bytes in the weight data. */
export interface WeightEntry {
  spec: io.WeightsManifestEntry;
  bytes: Uint8Array;
}

const BYTES_PER_VALUE: Record<string, number> = {float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8};

function elementCount(spec: io.WeightsManifestEntry): number {
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`weight '${spec.name}' has a malformed shape ${JSON.stringify(spec.shape)}`);
  }
  return spec.shape.reduce((a, d) => a * d, 1);
}

function byteLength(spec: io.WeightsManifestEntry, data: Uint8Array, offset: number): number {
  const size = elementCount(spec);
  if (spec.dtype === 'string' && spec.quantization == null) {
    // Each string is a uint32 byte count (little-endian) followed by its bytes.
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let bytes = 0;
    for (let i = 0; i < size; i++) {
      // A length that runs past the data: report it as one byte too many.
      if (offset + bytes + 4 > data.byteLength) return data.byteLength - offset + 1;
      bytes += 4 + view.getUint32(offset + bytes, true);
    }
    return bytes;
  }
  const per = BYTES_PER_VALUE[spec.quantization != null ? spec.quantization.dtype : spec.dtype];
  if (per == null) throw new Error(`weight '${spec.name}' has an unsupported dtype '${spec.quantization?.dtype ?? spec.dtype}'`);
  return size * per;
}

/** Splits the weight data along the specs; throws if the data is shorter or longer than they list. */
export function splitWeights(specs: io.WeightsManifestEntry[], data: io.WeightData | undefined): WeightEntry[] {
  const buffer = new Uint8Array(data == null ? new ArrayBuffer(0) : io.CompositeArrayBuffer.join(data));
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const n = byteLength(spec, buffer, offset);
    if (offset + n > buffer.byteLength) {
      throw new Error(`the weight data ends at byte ${buffer.byteLength}, inside weight '${spec.name}' (bytes ${offset} to ${offset + n})`);
    }
    entries.push({spec, bytes: buffer.subarray(offset, offset + n)});
    offset += n;
  }
  if (offset !== buffer.byteLength) {
    throw new Error(`the weight data holds ${buffer.byteLength} bytes, but the manifest lists ${offset}`);
  }
  return entries;
}

/** Concatenates entries into a manifest and one buffer. */
export function joinWeights(entries: WeightEntry[]): {specs: io.WeightsManifestEntry[], data: ArrayBuffer} {
  const total = entries.reduce((a, e) => a + e.bytes.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.byteLength;
  }
  return {specs: entries.map((e) => e.spec), data: out.buffer};
}

/** The weight's values as float32 (dequantized where the file stores it quantized). */
export async function floatValues(entry: WeightEntry): Promise<Float32Array> {
  if (entry.spec.dtype !== 'float32') throw new Error(`weight '${entry.spec.name}' is ${entry.spec.dtype}, not float32`);
  const copy = entry.bytes.slice().buffer;
  const t: Tensor = io.decodeWeights(copy, [entry.spec])[entry.spec.name];
  try {
    return Float32Array.from(await t.data() as Float32Array);
  } finally {
    t.dispose();
  }
}

/** An int32 weight entry holding `values`. */
export function int32Entry(name: string, values: Int32Array): WeightEntry {
  const bytes = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return {spec: {name, shape: [values.length], dtype: 'int32'}, bytes};
}

/** Bytes the weight takes as a tensor on a backend (quantized and float16 weights load as float32). */
export function loadedBytes(spec: io.WeightsManifestEntry, fileBytes: number): number {
  if (spec.dtype === 'string') return fileBytes;
  return elementCount(spec) * (BYTES_PER_VALUE[spec.dtype] ?? 4);
}
