// The `tfjs-sparse convert` command as it ships: builds dist/ (npm run build, as `npm ci` does through
// the prepare script), then runs bin/tfjs-sparse.mjs in child processes on small models written here:
// every bad-input case must exit non-zero with exactly one line on stderr, and good conversions of a
// GraphModel and a LayersModel must write models that load and compute. Writes its counts to
// .tmp/results/cli.json for scripts/test.sh. Run by npm test; alone: node scripts/test-cli.mjs.
import {execFileSync, spawnSync} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, '.tmp', 'cli-test');
const resultFile = join(root, '.tmp', 'results', 'cli.json');
const counts = {passed: 0, failed: 0, skipped: 0};
const t0 = performance.now();

function check(name, ok, detail = '') {
  if (ok) counts.passed++;
  else counts.failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `\n     ${detail.split('\n').join('\n     ')}`}`);
}

function finish() {
  mkdirSync(dirname(resultFile), {recursive: true});
  writeFileSync(resultFile, JSON.stringify({...counts, total: counts.passed + counts.failed + counts.skipped}));
  console.log(`cli: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  process.exit(counts.failed > 0 || counts.passed === 0 ? 1 : 0);
}

try {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {stdio: 'pipe'});
} catch (e) {
  check('npm run build', false, `${e.stdout ?? ''}${e.stderr ?? ''}`);
  finish();
}

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
const tfl = await import('@tensorflow/tfjs-layers');
const {loadGraphModel} = await import('@tensorflow/tfjs-converter');
const {fileSystem} = await import(join(root, 'dist', 'node.js'));
await import(join(root, 'dist', 'graph.js'));
tf.enableProdMode();
await tf.setBackend('cpu');

// Seeded weights.
let seed = 20261121;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
};
const floats = (n) => Float32Array.from({length: n}, random);

rmSync(work, {recursive: true, force: true});
mkdirSync(work, {recursive: true});

// A GraphModel: x [-1, 64] → MatMul 64×96 → _FusedMatMul 96×48 (BiasAdd, Relu).
const b64 = (s) => Buffer.from(s).toString('base64');
const weights = [['w1', [64, 96], floats(64 * 96)], ['w2', [96, 48], floats(96 * 48)], ['b2', [48], floats(48)]];
const constNode = ([name, shape]) => ({name, op: 'Const', attr: {dtype: {type: 'DT_FLOAT'}, value: {tensor: {dtype: 'DT_FLOAT', tensorShape: {dim: shape.map((d) => ({size: String(d)}))}}}}});
const graphJson = {
  format: 'graph-model', generatedBy: 'test-cli', convertedBy: null,
  modelTopology: {node: [
    {name: 'x', op: 'Placeholder', attr: {dtype: {type: 'DT_FLOAT'}, shape: {shape: {dim: [{size: '-1'}, {size: '64'}]}}}},
    ...weights.map(constNode),
    {name: 'mm', op: 'MatMul', input: ['x', 'w1'], attr: {T: {type: 'DT_FLOAT'}, transpose_a: {b: false}, transpose_b: {b: false}}},
    {name: 'out', op: '_FusedMatMul', input: ['mm', 'w2', 'b2'], attr: {T: {type: 'DT_FLOAT'}, fused_ops: {list: {s: [b64('BiasAdd'), b64('Relu')]}}, num_args: {i: '1'}, transpose_a: {b: false}, transpose_b: {b: false}}},
  ], library: {}, versions: {}},
  weightsManifest: [{paths: ['weights.bin'], weights: weights.map(([name, shape]) => ({name, shape, dtype: 'float32'}))}],
};
const graphDir = join(work, 'graph');
mkdirSync(graphDir);
writeFileSync(join(graphDir, 'model.json'), JSON.stringify(graphJson));
writeFileSync(join(graphDir, 'weights.bin'), Buffer.concat(weights.map(([, , d]) => Buffer.from(d.buffer))));
const calibration = {batches: [0, 1].map(() => ({x: {shape: [16, 64], dtype: 'float32', data: Array.from(floats(16 * 64))}}))};
writeFileSync(join(work, 'calibration.json'), JSON.stringify(calibration));

// A LayersModel: 32 → 160 relu → 128 → 10 softmax.
const mlp = tfl.sequential({layers: [
  tfl.layers.dense({inputShape: [32], units: 160, activation: 'relu', name: 'h1'}),
  tfl.layers.dense({units: 128, name: 'h2'}),
  tfl.layers.dense({units: 10, activation: 'softmax', name: 'out'}),
]});
const layersDir = join(work, 'layers');
await mlp.save(fileSystem(layersDir));

// Bad inputs.
mkdirSync(join(work, 'notjson'));
writeFileSync(join(work, 'notjson', 'model.json'), '{"modelTopology": {');
mkdirSync(join(work, 'noshard'));
writeFileSync(join(work, 'noshard', 'model.json'), JSON.stringify(graphJson));
mkdirSync(join(work, 'shortshard'));
writeFileSync(join(work, 'shortshard', 'model.json'), JSON.stringify(graphJson));
writeFileSync(join(work, 'shortshard', 'weights.bin'), Buffer.alloc(1000));
mkdirSync(join(work, 'unsupported'));
writeFileSync(join(work, 'unsupported', 'model.json'), JSON.stringify({modelTopology: {something: 'else'}, weightsManifest: []}));
writeFileSync(join(work, 'a-file'), 'not a directory');
mkdirSync(join(work, 'readonly'));
chmodSync(join(work, 'readonly'), 0o500);
writeFileSync(join(work, 'bad-calibration.json'), JSON.stringify([{x: {shape: [2, 64], data: [1, 2, 3]}}]));

const bin = join(root, 'bin', 'tfjs-sparse.mjs');
function run(...args) {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: work, encoding: 'utf8'});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

function expectError(name, args, pattern) {
  const r = run(...args);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  check(`${name}: exit ${r.code}, one line: ${lines[0] ?? '(nothing)'}`,
      r.code !== 0 && lines.length === 1 && pattern.test(lines[0]) && lines[0].startsWith('tfjs-sparse'),
      `exit ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
}

expectError('missing model.json', ['convert', 'nowhere/model.json', 'out'], /nowhere\/model\.json does not exist/);
expectError('unparsable model.json', ['convert', 'notjson/model.json', 'out'], /is not valid JSON/);
expectError('missing weight file', ['convert', 'noshard/model.json', 'out'], /weight file 'weights\.bin' listed in .* is missing/);
expectError('weight file of the wrong size', ['convert', 'shortshard/model.json', 'out'], /do not match its manifest: .*1000/);
expectError('unsupported model', ['convert', 'unsupported/model.json', 'out'], /unsupported model: .* neither a LayersModel nor a GraphModel/);
expectError('sparsity above 1', ['convert', 'graph/model.json', 'out', '--sparsity', '1.5'], /--sparsity must be in \[0, 1\], got 1\.5/);
expectError('sparsity below 0', ['convert', 'graph/model.json', 'out', '--sparsity=-0.1'], /--sparsity must be in \[0, 1\], got -0\.1/);
expectError('sparsity not a number', ['convert', 'graph/model.json', 'out', '--sparsity', 'half'], /--sparsity must be a number, got 'half'/);
expectError('auto without a budget', ['convert', 'graph/model.json', 'out', '--sparsity', 'auto'], /--sparsity auto needs --budget/);
expectError('budget out of range', ['convert', 'graph/model.json', 'out', '--sparsity', 'auto', '--budget', '2', '--calibration', 'calibration.json'], /--budget must be in \[0, 1\]/);
expectError('output under a file', ['convert', 'graph/model.json', 'a-file/out'], /cannot write to a-file\/out: (ENOTDIR|EEXIST)/);
if (process.getuid?.() !== 0) {
  expectError('read-only output', ['convert', 'graph/model.json', 'readonly/out'], /cannot write to readonly\/out: EACCES/);
} else {
  counts.skipped++;  // root writes anywhere
}
expectError('output is the input directory', ['convert', 'graph/model.json', 'graph'], /is the model's own directory/);
expectError('wanda without calibration', ['convert', 'graph/model.json', 'out', '--method', 'wanda'], /--method wanda needs --calibration/);
expectError('unknown method', ['convert', 'graph/model.json', 'out', '--method', 'random'], /--method must be magnitude, wanda or sparsegpt/);
expectError('unknown option', ['convert', 'graph/model.json', 'out', '--fast'], /unknown option --fast/);
expectError('missing out-dir', ['convert', 'graph/model.json'], /needs <model\.json> and <out-dir>/);
expectError('malformed calibration', ['convert', 'graph/model.json', 'out', '--method', 'wanda', '--calibration', 'bad-calibration.json'], /calibration file .*: batch 0 input 'x' has 3 numbers, shape \[2, 64\] needs 128/);
expectError('levels without auto', ['convert', 'graph/model.json', 'out', '--levels', '0.5,0.9'], /--levels goes with --sparsity auto/);
expectError('unknown command', ['shrink'], /unknown command 'shrink'/);

async function denseAndConverted(out, x) {
  const dense = await loadGraphModel(fileSystem(join(graphDir, 'model.json')));
  const sparse = await loadGraphModel(fileSystem(join(work, out, 'model.json')));
  const [a, b] = [dense.execute(x, 'out'), sparse.execute(x, 'out')];
  const [ya, yb] = [await a.data(), await b.data()];
  tf.dispose([a, b]);
  dense.dispose();
  sparse.dispose();
  let e = 0, n = 0;
  for (let i = 0; i < ya.length; i++) {
    e += (ya[i] - yb[i]) ** 2;
    n += ya[i] ** 2;
  }
  return Math.sqrt(e / n);
}

const x = tf.tensor2d(floats(8 * 64), [8, 64]);
{
  const r = run('convert', 'graph/model.json', 'graph-f32', '--sparsity', '0', '--value-type', 'float32', '--min-weights', '0');
  const report = r.code === 0 ? JSON.parse(readFileSync(join(work, 'graph-f32', 'tfjs-sparse-report.json'), 'utf8')) : null;
  check('GraphModel at sparsity 0: exit 0, two sparse nodes, same outputs',
      r.code === 0 && report.layers.filter((l) => l.sparse).length === 2 && await denseAndConverted('graph-f32', x) < 1e-6,
      `exit ${r.code}\n${r.stderr}${r.stdout}`);
}
{
  const r = run('convert', 'graph/model.json', 'graph-wanda', '--method', 'wanda', '--calibration', 'calibration.json', '--min-weights', '0');
  const report = r.code === 0 ? JSON.parse(readFileSync(join(work, 'graph-wanda', 'tfjs-sparse-report.json'), 'utf8')) : null;
  const dev = r.code === 0 ? await denseAndConverted('graph-wanda', x) : NaN;
  check(`GraphModel, wanda at 50%: exit 0, report, per-layer table and totals, model runs (deviation ${dev.toFixed(3)})`,
      r.code === 0 && Math.abs(report.totals.sparsity - 0.5) < 0.01 && report.totals.diskBytesAfter < report.totals.diskBytesBefore &&
      /model on disk: +[\d.]+ MB → [\d.]+ MB/.test(r.stdout) && /weights on GPU/.test(r.stdout) && r.stdout.includes('MatMul') &&
      dev > 0 && dev < 1 && r.stderr === '',
      `exit ${r.code}\n${r.stderr}${r.stdout}`);
}
{
  const r = run('convert', 'layers/model.json', 'layers-out', '--sparsity', '0.8', '--skip', 'h2', '--min-weights', '0');
  const report = r.code === 0 ? JSON.parse(readFileSync(join(work, 'layers-out', 'tfjs-sparse-report.json'), 'utf8')) : null;
  let ok = r.code === 0 && report.layers.find((l) => l.name === 'h1').sparse && report.layers.find((l) => l.name === 'h2').reason === 'skipped';
  if (ok) {
    const model = await tfl.loadLayersModel(fileSystem(join(work, 'layers-out', 'model.json')));
    const y = model.predict(tf.tensor2d(floats(4 * 32), [4, 32]));
    const sums = await tf.sum(y, 1).data();
    ok = model.getLayer('h1').getClassName() === 'SparseDense' && Array.from(sums).every((s) => Math.abs(s - 1) < 1e-5);
    model.dispose();
  }
  check('LayersModel at 80% skipping h2: exit 0, h1 SparseDense, loads and predicts', ok, `exit ${r.code}\n${r.stderr}${r.stdout}`);
}
x.dispose();
chmodSync(join(work, 'readonly'), 0o700);
finish();
