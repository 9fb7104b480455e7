/**
 * SparseDense: a drop-in for tfjs-layers' Dense whose kernel is stored in the tiled-bitmap format
 * (docs/format.md) and multiplied by the SparseMatMul kernel.
 */
import {keep, reshape, serialization, Tensor, Tensor2D, tensor1d, tidy} from '@tensorflow/tfjs-core';
import {initializers, layers} from '@tensorflow/tfjs-layers';
import type {DisposeResult, LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {ActivationIdentifier} from '@tensorflow/tfjs-layers/dist/keras_format/activation_config';
import type {Shape} from '@tensorflow/tfjs-layers/dist/keras_format/common';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';
import type {LayerVariable} from '@tensorflow/tfjs-layers/dist/variables';
import type {Activation} from '../kernels/kernel_names.js';
import {checkShape} from '../ops/encode.js';
import {EMPTY_VALUE_WORDS, EncodedSparseMatrix, FORMAT_NAME, FORMAT_VERSION, HEADER_WORDS, popcount32, storedValueWords, TILE_K, TILE_N, tileGrid, ValueType, valueWords} from '../ops/format.js';
import {SparseMatrix} from '../ops/sparse_matrix.js';
import {sparseMatMulParts, sparseMatMulTrainable, SparseParts, valuePositions} from '../ops/sparse_mat_mul_parts.js';
import {validateEncoded} from '../ops/validate.js';

/** Activations that run fused in the SparseMatMul kernel; the others run after it, as tfjs-layers defines them. */
const FUSED: ReadonlySet<string> = new Set<Activation>(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);

/** Arguments of {@link SparseDense}: Dense's, plus what the encoding needs. */
export interface SparseDenseArgs extends LayerArgs {
  /** Output units N. */
  units: number;
  /** As Dense's. Defaults to 'linear'. linear, relu, relu6, elu and sigmoid run fused in the kernel. */
  activation?: ActivationIdentifier;
  /** Whether the layer adds a bias. Defaults to true. */
  useBias?: boolean;
  /** Input units K, as Dense's `inputDim` (makes the layer an input layer in a Sequential model). */
  inputDim?: number;
  /** How the nonzeros are stored: 'float16' (the default) or 'float32'. Only 'float32' values train. */
  valueType?: ValueType;
  /** Version of the tiled-bitmap format. Only version 1 exists. */
  formatVersion?: number;
  /**
   * Length, in 32-bit words, of the `values` weight. Taken from `kernel` when that is given; a layer
   * built from a saved config gets it from there.
   */
  valueWords?: number;
  /** Fraction of zero weights. Informational; updated whenever weights are set. */
  sparsity?: number;
  /** The initial kernel, [K, N] with N = units (copied: the caller keeps it). Not part of the config. */
  kernel?: SparseMatrix | EncodedSparseMatrix;
  /** The initial bias, N values. Not part of the config. Defaults to zeros. */
  bias?: Float32Array | number[];
}

/** What the layer knows of its header and offsets: host copies, checked, and the data they came from. */
interface IndexState {
  header: Int32Array;
  offsets: Int32Array;
  headerId: object | null;
  offsetsId: object | null;
  /** Set since the last joint check. */
  fresh: {header: boolean, offsets: boolean};
  /** Why the current arrays are not a valid encoding, or null. */
  error: string | null;
  nnz: number;
}

type IndexPart = 'header' | 'offsets';

/**
 * A Dense layer whose kernel W [K, N] is sparse: `activation(x·W + bias)` on the last axis of an input of
 * any rank ≥ 2, as Dense does.
 *
 * Weights (in `layer.weights` order as tfjs-layers sorts them, trainable first):
 * - `header` (int32, [tiles · 36]) and `offsets` (int32, [tiles + 1]): the bitmap and where each tile's
 *   values start. Never trained.
 * - `values`: the nonzeros, as int32 words of packed f16 pairs ('float16'), or as a float32 tensor with
 *   the f32 values ('float32', the same bits as the int32 encoding). Float32 values are trainable:
 *   their gradient is taken at the stored positions only, so training never fills a zero.
 * - `bias` (float32, [N]) when `useBias`.
 *
 * Whenever `header` or `offsets` is written (setWeights, or tf.loadLayersModel), the layer checks the
 * encoding as `SparseMatrix.fromEncoded` does. Once both have been written since the last check (as a
 * setWeights or a load does), an inconsistency throws, naming the layer and the first problem; and
 * `call` refuses to compute on arrays that are not a valid encoding. A corrupt file is an error, never
 * a wrong answer. The check reads the new arrays synchronously, which is free for tensors made from host
 * data (a file being loaded); on WebGPU in Node, a tensor already on the GPU cannot be read so.
 */
export class SparseDense extends layers.Layer {
  /** @nocollapse */
  static className = 'SparseDense';

  readonly units: number;
  readonly useBias: boolean;
  readonly valueType: ValueType;
  private readonly activationId: ActivationIdentifier;
  private readonly activationLayer: ReturnType<typeof layers.activation> | null;
  private configValueWords: number | undefined;
  private configSparsity: number | undefined;
  private initialKernel: EncodedSparseMatrix | undefined;
  private initialBias: Float32Array | undefined;
  private inputUnits: number | undefined;

  private headerVar: LayerVariable | null = null;
  private offsetsVar: LayerVariable | null = null;
  private valuesVar: LayerVariable | null = null;
  private biasVar: LayerVariable | null = null;
  private state: IndexState | null = null;
  private positionsCache: {headerId: object, offsetsId: object, positions: Tensor, mask: Tensor} | null = null;

  constructor(args: SparseDenseArgs) {
    const base: LayerArgs & {inputDim?: number} = {...args};
    if (args.batchInputShape == null && args.inputShape == null && args.inputDim != null) {
      base.batchInputShape = [args.batchSize ?? null, args.inputDim];
    }
    super(base);
    if (!Number.isInteger(args.units) || args.units < 1) {
      throw new Error(`SparseDense: units must be a positive integer, got ${JSON.stringify(args.units)}`);
    }
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    const version = args.formatVersion ?? FORMAT_VERSION;
    if (version !== FORMAT_VERSION) {
      throw new Error(`SparseDense: unknown format version ${JSON.stringify(version)}, this build reads version ${FORMAT_VERSION}`);
    }
    let kernel: EncodedSparseMatrix | undefined;
    if (args.kernel != null) {
      kernel = args.kernel instanceof SparseMatrix ? args.kernel.toEncoded() : args.kernel;
      validateEncoded(kernel);
      if (kernel.shape[1] !== this.units) {
        throw new Error(`SparseDense: the kernel has ${kernel.shape[1]} outputs, but units is ${this.units}`);
      }
      if (args.valueType != null && args.valueType !== kernel.valueType) {
        throw new Error(`SparseDense: valueType is '${args.valueType}' but the kernel holds ${kernel.valueType} values`);
      }
      this.inputUnits = kernel.shape[0];
    }
    const valueType = kernel?.valueType ?? args.valueType ?? 'float16';
    if (valueType !== 'float16' && valueType !== 'float32') {
      throw new Error(`SparseDense: valueType must be 'float16' or 'float32', got ${String(valueType)}`);
    }
    this.valueType = valueType;
    this.initialKernel = kernel;
    this.configValueWords = kernel ? storedValueWords(kernel) : args.valueWords;
    if (this.configValueWords != null && (!Number.isInteger(this.configValueWords) || this.configValueWords < 0)) {
      throw new Error(`SparseDense: valueWords must be a non-negative integer, got ${JSON.stringify(this.configValueWords)}`);
    }
    this.configSparsity = kernel ? 1 - countStored(kernel.header) / (kernel.shape[0] * kernel.shape[1]) : args.sparsity;
    if (args.bias != null) {
      if (!this.useBias) throw new Error('SparseDense: a bias was given but useBias is false');
      if (args.bias.length !== this.units) throw new Error(`SparseDense: the bias has ${args.bias.length} values, expected ${this.units}`);
      this.initialBias = Float32Array.from(args.bias);
    }
    this.activationId = args.activation ?? 'linear';
    // An Activation layer (named, so it takes no uid from the user's layer names) applies the
    // activations the kernel does not fuse, exactly as Dense would; it throws on an unknown name.
    const activation = layers.activation({activation: this.activationId, name: `${this.name}/activation`});
    this.activationLayer = FUSED.has(this.activationId) ? null : activation;
    this.supportsMasking = true;
    this.inputSpec = [{minNDim: 2}];
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    const K = shape[shape.length - 1];
    if (K == null) throw new Error(`SparseDense '${this.name}': the last input dimension must be known`);
    if (!Number.isInteger(K) || K < 1) {
      throw new Error(`SparseDense '${this.name}': the last input dimension must be a positive integer, got ${JSON.stringify(K)}`);
    }
    if (this.inputUnits != null && this.inputUnits !== K) {
      throw new Error(`SparseDense '${this.name}': the kernel has ${this.inputUnits} inputs, but the input has ${K}`);
    }
    this.inputUnits = K;
    const words = this.configValueWords;
    if (words == null) {
      throw new Error(`SparseDense '${this.name}': needs a kernel or valueWords (the length of its values weight) to build`);
    }
    const grid = tileGrid(...checkLayerShape(this.name, K, this.units));
    // A saved config may claim any length: more words than the kernel's tiles can fill is an error
    // before anything is allocated.
    const most = Math.max(EMPTY_VALUE_WORDS, valueWords(grid.tiles * TILE_K * TILE_N, this.valueType));
    if (words > most) {
      throw new Error(`SparseDense '${this.name}': valueWords is ${words}, more than the ${most} a [${K}, ${this.units}] kernel can hold`);
    }
    const zeros = initializers.zeros();
    this.headerVar = this.addWeight('header', [grid.tiles * HEADER_WORDS], 'int32', zeros, undefined, false);
    this.offsetsVar = this.addWeight('offsets', [grid.tiles + 1], 'int32', zeros, undefined, false);
    this.valuesVar = this.valueType === 'float32' ?
      this.addWeight('values', [words], 'float32', zeros, undefined, true) :
      this.addWeight('values', [words], 'int32', zeros, undefined, false);
    if (this.useBias) this.biasVar = this.addWeight('bias', [this.units], 'float32', zeros, undefined, true);
    this.state = {
      header: new Int32Array(grid.tiles * HEADER_WORDS), offsets: new Int32Array(grid.tiles + 1),
      headerId: this.headerVar.read().dataId, offsetsId: this.offsetsVar.read().dataId,
      fresh: {header: false, offsets: false}, error: 'its weights are not set (load a saved model or call setWeights)',
      nnz: 0,
    };
    this.hookWrite(this.headerVar, 'header');
    this.hookWrite(this.offsetsVar, 'offsets');
    this.hookWrite(this.valuesVar, 'values');
    this.inputSpec = [{minNDim: 2, axes: {[-1]: K}}];
    this.built = true;
    const kernel = this.initialKernel;
    if (kernel != null) {
      this.initialKernel = undefined;
      this.writeEncoded(kernel, this.initialBias);
    } else if (this.initialBias != null && this.biasVar != null) {
      tidy(() => {
        this.biasVar!.write(tensor1d(this.initialBias!, 'float32'));
      });
    }
    this.initialBias = undefined;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    const out = shape.slice();
    out[out.length - 1] = this.units;
    return out;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      if (Array.isArray(inputs) && inputs.length !== 1) {
        throw new Error(`SparseDense '${this.name}' takes one input, got ${inputs.length}`);
      }
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const state = this.ensureValid();
      const K = this.inputUnits!;
      if (x.rank < 2 || x.shape[x.rank - 1] !== K) {
        throw new Error(`SparseDense '${this.name}': expected an input [..., ${K}], got [${x.shape.join(', ')}]`);
      }
      if (x.dtype !== 'float32') throw new Error(`SparseDense '${this.name}': the input must be float32, got ${x.dtype}`);
      const parts: SparseParts = {
        header: this.headerVar!.read(), offsets: this.offsetsVar!.read(), values: this.valuesVar!.read(),
        shape: [K, this.units], valueType: this.valueType,
      };
      const fused: Activation = this.activationLayer == null ? this.activationId as Activation : 'linear';
      const x2 = reshape(x, [-1, K]) as Tensor2D;
      const bias = this.biasVar ? this.biasVar.read() : null;
      let y: Tensor = this.valuesTrainable() ?
        sparseMatMulTrainable(x2, parts, ...this.positionTensors(state), bias, fused) :
        sparseMatMulParts(x2, parts, bias, fused);
      y = reshape(y, [...x.shape.slice(0, -1), this.units]);
      if (this.activationLayer != null) y = this.activationLayer.apply(y) as Tensor;
      return y;
    });
  }

  override getConfig(): serialization.ConfigDict {
    const state = this.state;
    const config: serialization.ConfigDict = {
      units: this.units,
      activation: this.activationId,
      useBias: this.useBias,
      valueType: this.valueType,
      formatVersion: FORMAT_VERSION,
      valueWords: this.configValueWords ?? null,
      sparsity: state != null && state.error == null ? this.currentSparsity(state) : (this.configSparsity ?? null),
    };
    return {...config, ...super.getConfig()};
  }

  /** Stored (nonzero) weights, once valid weights are set. */
  get nnz(): number {
    return this.ensureValid().nnz;
  }

  /** Fraction of zero weights, once valid weights are set. */
  get sparsity(): number {
    return this.currentSparsity(this.ensureValid());
  }

  /** The kernel's shape [K, N], once built. */
  get kernelShape(): [number, number] {
    if (this.inputUnits == null) throw new Error(`SparseDense '${this.name}' is not built yet`);
    return [this.inputUnits, this.units];
  }

  /** The encoded kernel (copies), reading the values with `await data()`. */
  async getEncoded(): Promise<EncodedSparseMatrix> {
    const state = this.ensureValid();
    const raw = await this.valuesVar!.read().data();
    const words = raw instanceof Int32Array ? raw.slice() : new Int32Array(Float32Array.from(raw as Float32Array).buffer);
    const total = valueWords(state.offsets[state.offsets.length - 1], this.valueType);
    return {
      format: FORMAT_NAME, version: FORMAT_VERSION, shape: [this.inputUnits!, this.units], valueType: this.valueType,
      header: state.header.slice(), offsets: state.offsets.slice(), values: words.slice(0, total),
    };
  }

  /** The kernel as a new SparseMatrix (the caller disposes it). */
  async getSparseMatrix(): Promise<SparseMatrix> {
    return SparseMatrix.fromEncoded(await this.getEncoded());
  }

  /**
   * Replaces the kernel (and bias) with an encoded matrix of the same shape, value type and length of
   * values. Checked as `SparseMatrix.fromEncoded` does.
   */
  setEncoded(kernel: SparseMatrix | EncodedSparseMatrix, bias?: Float32Array | number[]): void {
    if (!this.built) throw new Error(`SparseDense '${this.name}' is not built yet`);
    const e = kernel instanceof SparseMatrix ? kernel.toEncoded() : kernel;
    validateEncoded(e);
    if (e.shape[0] !== this.inputUnits || e.shape[1] !== this.units) {
      throw new Error(`SparseDense '${this.name}': the kernel is [${e.shape.join(', ')}], expected [${this.inputUnits}, ${this.units}]`);
    }
    if (e.valueType !== this.valueType) {
      throw new Error(`SparseDense '${this.name}': the kernel holds ${e.valueType} values, the layer ${this.valueType}`);
    }
    if (storedValueWords(e) !== this.configValueWords) {
      throw new Error(`SparseDense '${this.name}': the kernel has ${storedValueWords(e)} value words, the layer ${this.configValueWords}`);
    }
    if (bias != null && (this.biasVar == null || bias.length !== this.units)) {
      throw new Error(`SparseDense '${this.name}': ${this.biasVar == null ? 'has no bias' : `the bias must have ${this.units} values`}`);
    }
    this.writeEncoded(e, bias == null ? undefined : Float32Array.from(bias));
  }

  /**
   * Checks the current weights and throws if they are not a valid encoding. Reads them with
   * `await data()`, so it also works where synchronous reads do not (WebGPU in Node).
   */
  async validateWeights(): Promise<void> {
    if (!this.built || this.state == null) throw new Error(`SparseDense '${this.name}' is not built yet`);
    const h = this.headerVar!.read(), o = this.offsetsVar!.read();
    const state = this.state;
    if (h.dataId !== state.headerId || o.dataId !== state.offsetsId) {
      const [header, offsets] = await Promise.all([h.data(), o.data()]);
      this.adopt(Int32Array.from(header as Int32Array), Int32Array.from(offsets as Int32Array), h.dataId, o.dataId);
    }
    this.ensureValid();
  }

  /** The bias, or null without one. */
  async getBias(): Promise<Float32Array | null> {
    return this.biasVar ? Float32Array.from(await this.biasVar.read().data() as Float32Array) : null;
  }

  /**
   * As Layer.dispose. A layer that was only ever applied to concrete tensors (never connected in a
   * model) belongs to its caller alone, so it can be disposed too, which tfjs-layers' Dense refuses.
   */
  override dispose(): DisposeResult {
    if (this.built && this._refCount === null) this._refCount = 1;
    return super.dispose();
  }

  protected override disposeWeights(): number {
    this.disposePositions();
    return super.disposeWeights();
  }

  private valuesTrainable(): boolean {
    return this.valueType === 'float32' && this.trainable && this.valuesVar!.trainable;
  }

  private currentSparsity(state: IndexState): number {
    return 1 - state.nnz / (this.inputUnits! * this.units);
  }

  /** Writes a checked encoding (and bias) into the variables. */
  private writeEncoded(e: EncodedSparseMatrix, bias: Float32Array | undefined): void {
    const values = e.values.length > 0 ? e.values : new Int32Array(EMPTY_VALUE_WORDS);
    tidy(() => {
      this.headerVar!.write(tensor1d(e.header, 'int32'));
      this.offsetsVar!.write(tensor1d(e.offsets, 'int32'));
      this.valuesVar!.write(this.valueType === 'float32' ?
        tensor1d(new Float32Array(values.buffer, values.byteOffset, values.length), 'float32') :
        tensor1d(values, 'int32'));
      if (bias != null) this.biasVar!.write(tensor1d(bias, 'float32'));
    });
  }

  /** Checks every new header and offsets before it is stored; see the class comment. */
  private hookWrite(v: LayerVariable, part: IndexPart | 'values'): void {
    const write = v.write.bind(v);
    v.write = (t: Tensor) => {
      this.checkIncoming(v, part, t);
      if (part === 'values') return write(t);
      const data = Int32Array.from(t.dataSync() as Int32Array);
      const state = this.state!;
      state.fresh[part] = true;
      const header = part === 'header' ? data : state.header;
      const offsets = part === 'offsets' ? data : state.offsets;
      const error = this.check(header, offsets);
      if (state.fresh.header && state.fresh.offsets) {
        // Both arrays are new since the last pair was checked: this write completes a pair, so an
        // inconsistency is an error now (refusing the second array), not only at the next call.
        state.fresh = {header: false, offsets: false};
        if (error != null) {
          state.error = error;
          throw new Error(`SparseDense '${this.name}': ${error}`);
        }
      }
      write(t);
      if (part === 'header') {
        state.header = data;
        state.headerId = v.read().dataId;
      } else {
        state.offsets = data;
        state.offsetsId = v.read().dataId;
      }
      this.setChecked(state, error);
      return v;
    };
  }

  private checkIncoming(v: LayerVariable, part: string, t: Tensor): void {
    if (!(t instanceof Tensor)) throw new Error(`SparseDense '${this.name}': ${part} must be a tensor`);
    if (t.dtype !== v.dtype) {
      throw new Error(`SparseDense '${this.name}': ${part} must be ${v.dtype}, got ${t.dtype}`);
    }
    if (t.rank !== 1 || t.size !== v.shape[0]) {
      throw new Error(`SparseDense '${this.name}': ${part} must have shape [${v.shape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  }

  /** Why header and offsets are not a valid encoding with this layer's values length, or null. */
  private check(header: Int32Array, offsets: Int32Array): string | null {
    const words = this.configValueWords!;
    const used = offsets.length > 0 ? offsets[offsets.length - 1] : 0;
    // The all-zero matrix stores EMPTY_VALUE_WORDS words of nothing; anything else stores exactly its values.
    const length = words === EMPTY_VALUE_WORDS && used === 0 ? 0 : words;
    try {
      validateEncoded({
        format: FORMAT_NAME, version: FORMAT_VERSION, shape: [this.inputUnits!, this.units], valueType: this.valueType,
        header, offsets, values: new Int32Array(length),
      });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private setChecked(state: IndexState, error: string | null): void {
    state.error = error;
    if (error == null) {
      state.nnz = countStored(state.header);
      this.configSparsity = this.currentSparsity(state);
    }
  }

  private adopt(header: Int32Array, offsets: Int32Array, headerId: object, offsetsId: object): void {
    const state = this.state!;
    Object.assign(state, {header, offsets, headerId, offsetsId});
    this.setChecked(state, this.check(header, offsets));
  }

  /** The checked state; re-reads the arrays if a variable was assigned around `write`. Throws if invalid. */
  private ensureValid(): IndexState {
    if (!this.built || this.state == null) throw new Error(`SparseDense '${this.name}' is not built yet`);
    const state = this.state;
    const h = this.headerVar!.read(), o = this.offsetsVar!.read();
    if (h.dataId !== state.headerId || o.dataId !== state.offsetsId) {
      this.adopt(Int32Array.from(h.dataSync() as Int32Array), Int32Array.from(o.dataSync() as Int32Array), h.dataId, o.dataId);
    }
    if (state.error != null) throw new Error(`SparseDense '${this.name}': ${state.error}`);
    return state;
  }

  private positionTensors(state: IndexState): [Tensor, Tensor] {
    const c = this.positionsCache;
    if (c != null && c.headerId === state.headerId && c.offsetsId === state.offsetsId) return [c.positions, c.mask];
    this.disposePositions();
    const {positions, mask} = valuePositions([this.inputUnits!, this.units], state.header, state.offsets);
    // All-zero matrix: the values weight holds EMPTY_VALUE_WORDS words of nothing.
    const pad = this.configValueWords! - positions.length;
    const pos = pad > 0 ? Int32Array.from({length: this.configValueWords!}, (_, i) => i < positions.length ? positions[i] : 0) : positions;
    const msk = pad > 0 ? Float32Array.from({length: this.configValueWords!}, (_, i) => i < mask.length ? mask[i] : 0) : mask;
    const cache = {
      headerId: state.headerId!, offsetsId: state.offsetsId!,
      positions: keep(tensor1d(pos, 'int32')), mask: keep(tensor1d(msk, 'float32')),
    };
    this.positionsCache = cache;
    return [cache.positions, cache.mask];
  }

  private disposePositions(): void {
    if (this.positionsCache != null) {
      this.positionsCache.positions.dispose();
      this.positionsCache.mask.dispose();
      this.positionsCache = null;
    }
  }
}
serialization.registerClass(SparseDense);

/** The kernel's shape, checked as SparseMatrix checks shapes, with the layer's name in the message. */
function checkLayerShape(name: string, K: number, N: number): [number, number] {
  try {
    return checkShape([K, N]);
  } catch (e) {
    throw new Error(`SparseDense '${name}': ${(e as Error).message}`);
  }
}

function countStored(header: Int32Array): number {
  let nnz = 0;
  for (let i = 0; i < header.length; i++) {
    if (i % HEADER_WORDS < TILE_N) nnz += popcount32(header[i]);
  }
  return nnz;
}
