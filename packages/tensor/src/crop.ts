import * as tf from '@tensorflow/tfjs';

import { TensorArgumentError } from './errors.js';
import { CROP_GRAD_KERNEL, CROP_KERNEL, hasCropKernels } from './kernels/crop_kernels.js';

export type PatchSize = number | readonly [height: number, width: number];

/**
 * Cut one patch per frame by bilinear sampling, differentiable in both the frames and the centres
 * (AdaFocusV2's interpolation-based patch selection).
 *
 * - `frames`: [B, H, W, C] float32.
 * - `centres`: [B, 2], (y, x) in [0, 1]: 0 puts the patch against the top/left border, 1 against
 *   the bottom/right one, 0.5 in the middle. The patch's top-left corner is at the continuous pixel
 *   position c * (H - P) (rows) and c * (W - P) (columns), so a patch is always inside the frame.
 * - Returns [B, P, P, C] (or [B, Ph, Pw, C]): pixel (i, j) is the frame bilinearly sampled at
 *   (top + i, left + j). Whole-pixel positions reproduce the frame exactly.
 *
 * Near and beyond the border: centres are clamped to [0, 1]; a clamped coordinate has zero gradient
 * (the policy gets no signal to push further out, as with tf.clipByValue). Exactly at the clamp
 * bounds the gradient is the one-sided interior one. NaN centres give NaN patches.
 *
 * The gradient with respect to the centre is the bilinear one: d(patch)/d(top) is the difference
 * between the two neighbouring rows weighted by the column weights (and likewise for columns).
 * The integer parts (which rows and columns are read) are constants of the gradient.
 */
export interface CropOptions {
  /**
   * Propagate the gradient to the frames (default true). Pass false when the frames are inputs
   * (AdaFocus): the scatter of the frame gradient is skipped and only the centres get one.
   */
  frameGradient?: boolean;
}

export function cropPatches(frames: tf.Tensor4D, centres: tf.Tensor2D, size: PatchSize, options: CropOptions = {}): tf.Tensor4D {
  const [ph, pw] = typeof size === 'number' ? [size, size] : size;
  validate(frames, centres, ph, pw);
  if (hasCropKernels(tf.getBackend())) return cropWithKernels(frames, centres, ph, pw, options.frameGradient ?? true);
  return cropComposed(frames, centres, ph, pw, options.frameGradient ?? true);
}

/**
 * The same crop composed from stock tfjs ops (gather, slice, arithmetic; the backward pass a
 * segment sum). Used on backends without Saccade's crop kernels (tfjs-node, webgl), and by the
 * tests as the reference for the kernels.
 */
export function cropPatchesComposed(frames: tf.Tensor4D, centres: tf.Tensor2D, size: PatchSize, options: CropOptions = {}): tf.Tensor4D {
  const [ph, pw] = typeof size === 'number' ? [size, size] : size;
  validate(frames, centres, ph, pw);
  return cropComposed(frames, centres, ph, pw, options.frameGradient ?? true);
}

function cropWithKernels(frames: tf.Tensor4D, centres: tf.Tensor2D, ph: number, pw: number, withFrames: boolean): tf.Tensor4D {
  const forward = (...args: unknown[]) => {
    const f = (withFrames ? args[0] : frames) as tf.Tensor4D;
    const c = (withFrames ? args[1] : args[0]) as tf.Tensor2D;
    const save = args[withFrames ? 2 : 1] as tf.GradSaveFunc;
    const value = tf.engine().runKernel(CROP_KERNEL, { frames: f, centres: c }, { ph, pw }) as tf.Tensor4D;
    save([f, c]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sf, sc] = saved as [tf.Tensor4D, tf.Tensor2D];
        const grads = tf.engine().runKernel(CROP_GRAD_KERNEL, { dy, frames: sf, centres: sc }, { ph, pw, withFrames }) as unknown as tf.Tensor[];
        return withFrames ? [grads[1] as tf.Tensor, grads[0] as tf.Tensor] : [grads[0] as tf.Tensor];
      },
    };
  };
  const crop = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return (withFrames ? crop(frames, centres) : crop(centres)) as tf.Tensor4D;
}

function cropComposed(frames: tf.Tensor4D, centres: tf.Tensor2D, ph: number, pw: number, withFrames: boolean): tf.Tensor4D {
  const [, h, w] = frames.shape;
  const forward = (...args: unknown[]) => {
    const f = (withFrames ? args[0] : frames) as tf.Tensor4D;
    const c = (withFrames ? args[1] : args[0]) as tf.Tensor2D;
    const save = args[withFrames ? 2 : 1] as tf.GradSaveFunc;
    const [b, , , ch] = f.shape;
    const clamped = tf.clipByValue(c, 0, 1);
    const [cy, cx] = tf.split(clamped, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const top = tf.mul(cy, h - ph); // [B, 1]
    const left = tf.mul(cx, w - pw);
    const topFloor = tf.floor(top);
    const leftFloor = tf.floor(left);
    const fy = tf.reshape(tf.sub(top, topFloor), [b, 1, 1, 1]);
    const fx = tf.reshape(tf.sub(left, leftFloor), [b, 1, 1, 1]);
    // Rows y0 .. y0+ph and columns x0 .. x0+pw; the extra one is clamped at the far border, where
    // its bilinear weight is zero.
    const int = (v: number) => tf.scalar(v, 'int32');
    const rows = tf.minimum(tf.add(tf.cast(topFloor, 'int32'), tf.range(0, ph + 1, 1, 'int32').expandDims(0)), int(h - 1)); // [B, ph+1]
    const cols = tf.minimum(tf.add(tf.cast(leftFloor, 'int32'), tf.range(0, pw + 1, 1, 'int32').expandDims(0)), int(w - 1)); // [B, pw+1]
    // Flat frame index of every support pixel: one plain gather reads the support, and the
    // backward pass scatters through the same indices (one UnsortedSegmentSum over all frames).
    const base = tf.mul(tf.range(0, b, 1, 'int32'), int(h)).reshape([b, 1, 1]);
    const flatRows = tf.mul(tf.add(base, rows.expandDims(2)), int(w)); // [B, ph+1, 1]
    const flatIndex = tf.add(flatRows, cols.expandDims(1)); // [B, ph+1, pw+1]
    const pixels = tf.reshape(f, [-1, ch]);
    const support = tf.reshape(tf.gather(pixels, tf.reshape(flatIndex, [-1])), [b, ph + 1, pw + 1, ch]);
    const upper = tf.slice(support, [0, 0, 0, 0], [b, ph, pw + 1, ch]);
    const lower = tf.slice(support, [0, 1, 0, 0], [b, ph, pw + 1, ch]);
    const dRow = tf.sub(lower, upper);
    const alongY = tf.add(upper, tf.mul(fy, dRow)); // [B, ph, pw+1, C]
    const leftCols = tf.slice(alongY, [0, 0, 0, 0], [b, ph, pw, ch]);
    const rightCols = tf.slice(alongY, [0, 0, 1, 0], [b, ph, pw, ch]);
    const dCol = tf.sub(rightCols, leftCols);
    const value = tf.add(leftCols, tf.mul(fx, dCol)) as tf.Tensor4D;
    const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(c, 0), tf.lessEqual(c, 1)), 'float32'); // [B, 2]
    save([fy, fx, dRow, dCol, flatIndex, inside]);
    tf.dispose([clamped, cy, cx, top, left, topFloor, leftFloor, rows, cols, pixels, support, upper, lower, alongY, leftCols, rightCols, base, flatRows]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sfy, sfx, sdRow, sdCol, sFlat, sInside] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor3D, tf.Tensor2D];
        return tf.tidy(() => {
          const bb = dy.shape[0] as number;
          const d = dy as tf.Tensor4D;
          // Through the column interpolation.
          const gfx = tf.sum(tf.mul(d, sdCol), [1, 2, 3]); // [B]
          const toLeft = tf.mul(d, tf.sub(1, sfx));
          const toRight = tf.mul(d, sfx);
          const dAlongY = tf.add(
            tf.pad(toLeft, [
              [0, 0],
              [0, 0],
              [0, 1],
              [0, 0],
            ]),
            tf.pad(toRight, [
              [0, 0],
              [0, 0],
              [1, 0],
              [0, 0],
            ]),
          );
          // Through the row interpolation.
          const gfy = tf.sum(tf.mul(dAlongY, sdRow), [1, 2, 3]);
          const toUpper = tf.mul(dAlongY, tf.sub(1, sfy));
          const toLower = tf.mul(dAlongY, sfy);
          const dSupport = tf.add(
            tf.pad(toUpper, [
              [0, 0],
              [0, 1],
              [0, 0],
              [0, 0],
            ]),
            tf.pad(toLower, [
              [0, 0],
              [1, 0],
              [0, 0],
              [0, 0],
            ]),
          );
          const gTop = tf.stack([tf.mul(gfy, h - ph), tf.mul(gfx, w - pw)], 1); // [B, 2]
          const dCentres = tf.mul(gTop, sInside) as tf.Tensor2D;
          if (!withFrames) return [dCentres];
          const channels = dSupport.shape[3] as number;
          const dFrames = tf
            .unsortedSegmentSum(tf.reshape(dSupport, [-1, channels]), tf.reshape(sFlat, [-1]), bb * h * w)
            .reshape([bb, h, w, channels]) as tf.Tensor4D;
          return [dFrames, dCentres];
        });
      },
    };
  };
  const crop = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return (withFrames ? crop(frames, centres) : crop(centres)) as tf.Tensor4D;
}

function validate(frames: tf.Tensor, centres: tf.Tensor, ph: number, pw: number): void {
  const op = 'cropPatches';
  if (frames.rank !== 4) throw new TensorArgumentError(op, `frames must be [B, H, W, C], got shape [${frames.shape}]`);
  if (centres.rank !== 2 || centres.shape[1] !== 2) {
    throw new TensorArgumentError(op, `centres must be [B, 2] (y, x), got shape [${centres.shape}]`);
  }
  if (centres.shape[0] !== frames.shape[0]) {
    throw new TensorArgumentError(op, `frames have batch ${frames.shape[0]} but centres have ${centres.shape[0]}`);
  }
  if (frames.dtype !== 'float32' || centres.dtype !== 'float32') {
    throw new TensorArgumentError(op, `frames and centres must be float32, got ${frames.dtype} and ${centres.dtype}`);
  }
  const [, h, w] = frames.shape as [number, number, number, number];
  for (const [name, p, limit] of [
    ['height', ph, h],
    ['width', pw, w],
  ] as const) {
    if (!Number.isInteger(p) || p < 1) throw new TensorArgumentError(op, `patch ${name} must be a positive integer, got ${p}`);
    if (p > limit) throw new TensorArgumentError(op, `patch ${name} ${p} is larger than the frame ${name} ${limit}`);
  }
}
