import * as tf from '@tensorflow/tfjs';

import { cropPatches, type PatchSize } from './crop.js';
import { TensorArgumentError } from './errors.js';
import { BYTES_BLOCK_MEAN_KERNEL, BYTES_CROP_KERNEL, hasByteKernels } from './kernels/byte_kernels.js';

/** A per-channel affine map v * scale[c] + shift[c] (normalisation of 0-255 pixel values). */
export interface ChannelAffine {
  scale: readonly number[];
  shift: readonly number[];
}

/**
 * 8-bit images [N, H, W, C] (decoded video frames) on the backend, read only through what a
 * network takes from them: block means (a downscaled input) and bilinear patches, each mapped by a
 * per-channel affine normalisation. On wasm and cpu the bytes travel packed four to an int32 and
 * Saccade's kernels read them in place (a quarter of the upload, no full-resolution float copy);
 * elsewhere (tfjs-node, webgl) they are held as float32 0-255 values and the same results come from
 * stock ops. Neither path is differentiable: the images are inputs. Inside `tf.tidy` the images'
 * tensor is tidied like any other; otherwise call `dispose()`.
 */
export class ByteImages {
  /** Whether the bytes are packed for Saccade's kernels (wasm, cpu). */
  readonly packed: boolean;

  private constructor(
    readonly shape: [number, number, number, number],
    private readonly data: tf.Tensor,
  ) {
    this.packed = data.dtype === 'int32';
  }

  /**
   * The images whose bytes are `chunks` concatenated (each chunk whole images, e.g. one video's
   * T frames), `shape` [N, H, W, C] in all. `pack`: packed for the kernels (default: where the
   * backend has them) or held as float32 values (false; the path of the other backends).
   */
  static from(chunks: readonly Uint8Array[], shape: readonly [number, number, number, number], options: { pack?: boolean } = {}): ByteImages {
    const op = 'ByteImages.from';
    if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new TensorArgumentError(op, `shape must be [N, H, W, C] of positive integers, got [${shape}]`);
    }
    const total = shape.reduce((a, d) => a * d, 1);
    const given = chunks.reduce((a, c) => a + c.length, 0);
    if (given !== total) throw new TensorArgumentError(op, `${given} bytes given for shape [${shape}] (${total} bytes)`);
    const dims = [...shape] as [number, number, number, number];
    const kernels = hasByteKernels(tf.getBackend());
    if (options.pack && !kernels) throw new TensorArgumentError(op, `backend '${tf.getBackend()}' has no byte kernels to pack for (wasm and cpu have)`);
    if (options.pack ?? kernels) {
      const bytes = new Uint8Array(Math.ceil(total / 4) * 4);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      return new ByteImages(dims, tf.tensor1d(new Int32Array(bytes.buffer), 'int32'));
    }
    const floats = new Float32Array(total);
    let at = 0;
    for (const c of chunks) {
      floats.set(c, at);
      at += c.length;
    }
    return new ByteImages(dims, tf.tensor4d(floats, dims));
  }

  /** The mean of every `factor` x `factor` block, mapped by `affine`: [N, H / factor, W / factor, C]. */
  blockMean(factor: number, affine?: ChannelAffine): tf.Tensor4D {
    const [, h, w, c] = this.shape;
    if (!Number.isInteger(factor) || factor < 1 || h % factor !== 0 || w % factor !== 0) {
      throw new TensorArgumentError('ByteImages.blockMean', `factor must be a positive integer dividing ${h} and ${w}, got ${factor}`);
    }
    const { scale, shift } = this.checkAffine('ByteImages.blockMean', affine);
    if (this.packed) return tf.engine().runKernel(BYTES_BLOCK_MEAN_KERNEL, { bytes: this.data }, { shape: this.shape, factor, scale, shift }) as tf.Tensor4D;
    // One depthwise convolution: the block average times the scale, the shift as its bias.
    return tf.tidy(() => {
      const filter = tf.tensor4d(Array.from({ length: factor * factor }, () => scale.map((v) => v / (factor * factor))).flat(), [factor, factor, c, 1]);
      return tf.fused.depthwiseConv2d({ x: this.data as tf.Tensor4D, filter, strides: factor, pad: 'valid', bias: tf.tensor1d(shift) });
    });
  }

  /** `cropPatches` of the images at `centres` [N, 2], mapped by `affine`: [N, P, P, C]. */
  crop(centres: tf.Tensor2D, size: PatchSize, affine?: ChannelAffine): tf.Tensor4D {
    const op = 'ByteImages.crop';
    const [n, h, w, c] = this.shape;
    const [ph, pw] = typeof size === 'number' ? [size, size] : size;
    if (centres.rank !== 2 || centres.shape[0] !== n || centres.shape[1] !== 2 || centres.dtype !== 'float32') {
      throw new TensorArgumentError(op, `centres must be float32 [${n}, 2], got ${centres.dtype} [${centres.shape}]`);
    }
    for (const [name, p, limit] of [
      ['height', ph, h],
      ['width', pw, w],
    ] as const) {
      if (!Number.isInteger(p) || p < 1 || p > limit) throw new TensorArgumentError(op, `patch ${name} must be an integer in [1, ${limit}], got ${p}`);
    }
    const { scale, shift } = this.checkAffine(op, affine);
    if (this.packed) return tf.engine().runKernel(BYTES_CROP_KERNEL, { bytes: this.data, centres }, { shape: this.shape, ph, pw, scale, shift }) as tf.Tensor4D;
    return tf.tidy(() =>
      tf.fused.depthwiseConv2d({
        x: cropPatches(this.data as tf.Tensor4D, centres, [ph, pw], { frameGradient: false }),
        filter: tf.tensor4d(scale, [1, 1, c, 1]),
        strides: 1,
        pad: 'valid',
        bias: tf.tensor1d(shift),
      }),
    );
  }

  dispose(): void {
    this.data.dispose();
  }

  private checkAffine(op: string, affine: ChannelAffine | undefined): { scale: number[]; shift: number[] } {
    const c = this.shape[3];
    const scale = affine ? [...affine.scale] : new Array<number>(c).fill(1);
    const shift = affine ? [...affine.shift] : new Array<number>(c).fill(0);
    if (scale.length !== c || shift.length !== c) {
      throw new TensorArgumentError(op, `affine scale and shift need ${c} values (one per channel), got ${scale.length} and ${shift.length}`);
    }
    return { scale, shift };
  }
}
