/**
 * Host-side checks of the SparseMatMul kernel's inputs. The kernel can be run directly (SparseDense does,
 * on its weights), and both kernels index header and offsets by K and N alone, so their lengths are
 * checked on every call; their contents are not (that is validateEncoded's job, and the shaders clamp
 * every index that comes from them).
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import {HEADER_WORDS, tileGrid} from '../ops/format.js';
import type {SparseMatMulAttrs, SparseMatMulInputs} from './kernel_names.js';

function fail(msg: string): never {
  throw new Error(`SparseMatMul: ${msg}`);
}

function shape(t: TensorInfo): string {
  return `[${t.shape.join(', ')}]`;
}

function checkArray(t: TensorInfo | undefined, name: string, length: number | null, dtypes: string[]): void {
  if (t == null) fail(`missing input ${name}`);
  if (!dtypes.includes(t.dtype)) fail(`${name} must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  if (t.shape.length !== 1 || (length != null && t.shape[0] !== length)) {
    fail(`${name} must have shape [${length ?? 'n'}], got ${shape(t)}`);
  }
}

export function checkKernelInputs(inputs: SparseMatMulInputs, attrs: SparseMatMulAttrs): void {
  const {K, N, valueType, transposeX, transposeW} = attrs;
  const grid = tileGrid(K, N);
  checkArray(inputs.header, 'header', grid.tiles * HEADER_WORDS, ['int32']);
  checkArray(inputs.offsets, 'offsets', grid.tiles + 1, ['int32']);
  checkArray(inputs.values, 'values', null, valueType === 'float32' ? ['int32', 'float32'] : ['int32']);
  if (inputs.values.shape[0] < 1) fail('values must not be empty');
  const x = inputs.x;
  if (x == null) fail('missing input x');
  if (x.dtype !== 'float32') fail(`x must be float32, got ${x.dtype}`);
  const inner = transposeW ? N : K;
  if (x.shape.length !== 2 || x.shape[transposeX ? 0 : 1] !== inner) {
    fail(`x must be 2-D with ${inner} inputs on axis ${transposeX ? 0 : 1}, got ${shape(x)}`);
  }
  const outer = transposeW ? K : N;
  if (inputs.bias != null) checkArray(inputs.bias, 'bias', outer, ['float32']);
  const residual = inputs.residual;
  if (residual != null) {
    const M = x.shape[transposeX ? 1 : 0];
    if (transposeW || attrs.activation !== 'linear') fail(`residual needs activation 'linear' and no transposeW`);
    if (residual.dtype !== 'float32' || residual.shape.length !== 2 || residual.shape[0] !== M || residual.shape[1] !== N) {
      fail(`residual must be float32 of shape [${M}, ${N}], got ${residual.dtype} ${shape(residual)}`);
    }
  }
  const mlp = attrs.mlpActivation;
  if (mlp != null) {
    if (mlp !== 'swiglu' && mlp !== 'gelu') fail(`unknown mlpActivation '${String(mlp)}', expected 'swiglu' or 'gelu'`);
    if (transposeW || attrs.activation !== 'linear' || residual != null) {
      fail(`mlpActivation needs activation 'linear', no residual and no transposeW`);
    }
    if (mlp === 'swiglu' && N % 2 !== 0) fail(`mlpActivation 'swiglu' needs gate | up, an even N, got ${N}`);
  }
  const prelu = inputs.preluActivationWeights;
  if (prelu != null) {
    const size = prelu.shape.reduce((a, b) => a * b, 1);
    if (prelu.dtype !== 'float32' || (size !== 1 && size !== outer)) {
      fail(`preluActivationWeights must be float32 of size 1 or ${outer}, got ${prelu.dtype} ${shape(prelu)}`);
    }
  }
}
