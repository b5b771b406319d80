import * as tf from '@tensorflow/tfjs';

import { TensorArgumentError } from './errors.js';
import type { PatchSize } from './crop.js';

/**
 * Cut a box of any size out of each frame and resample it to a fixed patch size by bilinear
 * interpolation, differentiable in the frames and in the boxes (Uni-AdaFocus's patches, whose size
 * is learnt: a box larger than the patch zooms out, a smaller one zooms in).
 *
 * - `frames`: [N, H, W, C] float32.
 * - `boxes`: [N, 4] float32, (top, left, height, width) in pixels of the frame, continuous.
 * - Returns [N, P, P, C] (or [N, Ph, Pw, C]): output pixel (i, j) is the frame sampled at row
 *   top + (i + 0.5) * height / Ph - 0.5 and column left + (j + 0.5) * width / Pw - 0.5 (pixel centres
 *   at whole numbers), bilinearly, with zeros outside the frame. This is exactly PyTorch's
 *   `F.grid_sample(frames, F.affine_grid(theta, ...))` with its defaults (bilinear, zeros padding,
 *   align_corners False) for the theta that maps the output onto the box, which is how the official
 *   Uni-AdaFocus cuts its patches.
 *
 * Written as two matrix products with "tent" weights max(0, 1 - |position - pixel|) per row and per
 * column, so tfjs differentiates it as it is: with respect to the box through the tent weights (the
 * bilinear gradient; zero at the kinks' far side), with respect to the frames as the adjoint. The cost
 * is N * (Ph * H * W + Pw * W * Ph) * C multiply-adds, small beside a backbone on the patch.
 */
export interface CropBoxesOptions {
  /**
   * Differentiable in the boxes and the frames (default true). false: the patches are constants
   * (boxes and frames both inputs, as a focus network's patches at detached actions): then the same
   * values come from tfjs's CropAndResize kernel on the frames padded by one zero pixel, several
   * times faster, wherever every sample lies within a pixel of the frame (boxes inside it always
   * do); boxes further out take the matrix path.
   */
  gradient?: boolean;
  /**
   * The frame each box is cut from (integers in [0, frames)), one per box; default box i reads frame
   * i (then boxes and frames have the same count). Without a gradient this costs nothing (the crop
   * reads the frames where they are); with one, the frames are gathered first.
   */
  frameIndices?: ArrayLike<number>;
}

export function cropBoxes(frames: tf.Tensor4D, boxes: tf.Tensor2D, size: PatchSize, options: CropBoxesOptions = {}): tf.Tensor4D {
  const [ph, pw] = typeof size === 'number' ? [size, size] : size;
  validate(frames, boxes, ph, pw, options.frameIndices);
  const indices = options.frameIndices ? Int32Array.from(options.frameIndices) : undefined;
  if (options.gradient === false) {
    const fast = resizeBoxes(frames, boxes.dataSync(), ph, pw, indices);
    if (fast) return fast;
  }
  if (indices) return tf.tidy(() => cropBoxes(tf.gather(frames, tf.tensor1d(indices, 'int32')) as tf.Tensor4D, boxes, size));
  const [n, h, w, c] = frames.shape;
  return tf.tidy(() => {
    const [top, left, height, width] = tf.split(boxes, 4, 1) as tf.Tensor2D[];
    // [N, P, L] tent weights of output row (column) i against frame row (column) r.
    const tent = (start: tf.Tensor2D, extent: tf.Tensor2D, p: number, l: number) => {
      const steps = tf.reshape(tf.range(0.5, p, 1, 'float32'), [1, p]);
      const at = tf.sub(tf.add(start, tf.mul(steps, tf.div(extent, p))), 0.5);
      const pixels = tf.reshape(tf.range(0, l, 1, 'float32'), [1, 1, l]);
      return tf.relu(tf.sub(1, tf.abs(tf.sub(tf.expandDims(at, 2), pixels)))) as tf.Tensor3D;
    };
    const rows = tent(top!, height!, ph, h);
    const cols = tent(left!, width!, pw, w);
    // Rows: [N, Ph, H] x [N, H, W*C] -> [N, Ph, W, C]; then columns on [N, W, Ph*C].
    const byRows = tf.reshape(tf.matMul(rows, tf.reshape(frames, [n, h, w * c])), [n, ph, w, c]);
    const byCols = tf.matMul(cols, tf.reshape(tf.transpose(byRows, [0, 2, 1, 3]), [n, w, ph * c]));
    return tf.transpose(tf.reshape(byCols, [n, pw, ph, c]), [0, 2, 1, 3]) as tf.Tensor4D;
  });
}

/**
 * The crop by tf.image.cropAndResize: its sample i is at y1 * (H - 1) + i * (y2 - y1) * (H - 1) / (P - 1)
 * of the frame, set to the box's top + (i + 0.5) * height / P - 0.5. When every sample lies on the
 * frame (boxes inside it, at least as large as the patch) the frames are read as they are; otherwise
 * they are padded with one zero pixel (+ 1 to every position), so that a sample between a border
 * pixel and the pad mixes them as PyTorch's zeros padding does. Undefined when a sample falls
 * further out. `indices`: the frame of each box (default box i, frame i).
 */
function resizeBoxes(frames: tf.Tensor4D, b: ArrayLike<number>, ph: number, pw: number, indices?: Int32Array): tf.Tensor4D | undefined {
  const [, h, w] = frames.shape;
  const n = b.length / 4;
  const samples = new Float64Array(n * 4);
  let onFrame = h > 1 && w > 1;
  for (let i = 0; i < n; i++) {
    const [top, left, height, width] = [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!];
    // The first and last sample of each axis, in frame pixels.
    const [y0, x0] = [top + (0.5 * height) / ph - 0.5, left + (0.5 * width) / pw - 0.5];
    const [y1, x1] = [top + height - (0.5 * height) / ph - 0.5, left + width - (0.5 * width) / pw - 0.5];
    if (!(y0 >= -1 && x0 >= -1 && y1 <= h && x1 <= w)) return undefined;
    if (!(y0 >= 0 && x0 >= 0 && y1 <= h - 1 && x1 <= w - 1)) onFrame = false;
    samples.set([y0, x0, y1, x1], 4 * i);
  }
  const normalised = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const [y0, x0, y1, x1] = samples.subarray(4 * i, 4 * i + 4);
    if (onFrame) normalised.set([y0! / (h - 1), x0! / (w - 1), y1! / (h - 1), x1! / (w - 1)], 4 * i);
    else normalised.set([(y0! + 1) / (h + 1), (x0! + 1) / (w + 1), (y1! + 1) / (h + 1), (x1! + 1) / (w + 1)], 4 * i);
  }
  return tf.tidy(() => {
    const source = onFrame
      ? frames
      : (tf.pad(frames, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]) as tf.Tensor4D);
    const which = indices ? tf.tensor1d(indices, 'int32') : (tf.range(0, n, 1, 'int32') as tf.Tensor1D);
    return tf.image.cropAndResize(source, tf.tensor2d(normalised, [n, 4]), which, [ph, pw], 'bilinear', 0);
  });
}

function validate(frames: tf.Tensor, boxes: tf.Tensor, ph: number, pw: number, frameIndices?: ArrayLike<number>): void {
  const op = 'cropBoxes';
  if (frames.rank !== 4) throw new TensorArgumentError(op, `frames must be [N, H, W, C], got shape [${frames.shape}]`);
  if (boxes.rank !== 2 || boxes.shape[1] !== 4)
    throw new TensorArgumentError(op, `boxes must be [N, 4] (top, left, height, width), got shape [${boxes.shape}]`);
  if (frameIndices) {
    if (frameIndices.length !== boxes.shape[0])
      throw new TensorArgumentError(op, `frameIndices has ${frameIndices.length} entries but boxes have ${boxes.shape[0]}`);
    for (let i = 0; i < frameIndices.length; i++) {
      const f = frameIndices[i]!;
      if (!Number.isInteger(f) || f < 0 || f >= frames.shape[0]!)
        throw new TensorArgumentError(op, `frameIndices[${i}] must be an integer in [0, ${frames.shape[0]}), got ${f}`);
    }
  } else if (boxes.shape[0] !== frames.shape[0]) throw new TensorArgumentError(op, `frames have batch ${frames.shape[0]} but boxes have ${boxes.shape[0]}`);
  if (frames.dtype !== 'float32' || boxes.dtype !== 'float32')
    throw new TensorArgumentError(op, `frames and boxes must be float32, got ${frames.dtype} and ${boxes.dtype}`);
  for (const [name, p] of [
    ['height', ph],
    ['width', pw],
  ] as const)
    if (!Number.isInteger(p) || p < 1) throw new TensorArgumentError(op, `patch ${name} must be a positive integer, got ${p}`);
}
