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
}

export function cropBoxes(frames: tf.Tensor4D, boxes: tf.Tensor2D, size: PatchSize, options: CropBoxesOptions = {}): tf.Tensor4D {
  const [ph, pw] = typeof size === 'number' ? [size, size] : size;
  validate(frames, boxes, ph, pw);
  const [n, h, w, c] = frames.shape;
  if (options.gradient === false) {
    const fast = resizeBoxes(frames, boxes.dataSync(), ph, pw);
    if (fast) return fast;
  }
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
 * The crop by tf.image.cropAndResize on the frames padded with one zero pixel: its sample i is at
 * y1 * (H' - 1) + i * (y2 - y1) * (H' - 1) / (P - 1) of the padded frame, set to the box's
 * top + (i + 0.5) * height / P - 0.5 (+ 1 for the padding); a sample between a border pixel and the
 * zero pad mixes them as PyTorch's zeros padding does. Undefined when a sample falls further out.
 */
function resizeBoxes(frames: tf.Tensor4D, b: ArrayLike<number>, ph: number, pw: number): tf.Tensor4D | undefined {
  const [n, h, w] = frames.shape;
  const normalised = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const [top, left, height, width] = [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!];
    const axis = (start: number, extent: number, p: number, size: number): [number, number] | undefined => {
      const first = start + (0.5 * extent) / p - 0.5;
      const last = start + extent - (0.5 * extent) / p - 0.5;
      if (!(first >= -1 && last <= size)) return undefined;
      return [(first + 1) / (size + 1), (last + 1) / (size + 1)];
    };
    const y = axis(top, height, ph, h);
    const x = axis(left, width, pw, w);
    if (!y || !x) return undefined;
    normalised.set([y[0], x[0], y[1], x[1]], 4 * i);
  }
  return tf.tidy(() => {
    const padded = tf.pad(frames, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]) as tf.Tensor4D;
    return tf.image.cropAndResize(padded, tf.tensor2d(normalised, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [ph, pw], 'bilinear', 0);
  });
}

function validate(frames: tf.Tensor, boxes: tf.Tensor, ph: number, pw: number): void {
  const op = 'cropBoxes';
  if (frames.rank !== 4) throw new TensorArgumentError(op, `frames must be [N, H, W, C], got shape [${frames.shape}]`);
  if (boxes.rank !== 2 || boxes.shape[1] !== 4)
    throw new TensorArgumentError(op, `boxes must be [N, 4] (top, left, height, width), got shape [${boxes.shape}]`);
  if (boxes.shape[0] !== frames.shape[0]) throw new TensorArgumentError(op, `frames have batch ${frames.shape[0]} but boxes have ${boxes.shape[0]}`);
  if (frames.dtype !== 'float32' || boxes.dtype !== 'float32')
    throw new TensorArgumentError(op, `frames and boxes must be float32, got ${frames.dtype} and ${boxes.dtype}`);
  for (const [name, p] of [
    ['height', ph],
    ['width', pw],
  ] as const)
    if (!Number.isInteger(p) || p < 1) throw new TensorArgumentError(op, `patch ${name} must be a positive integer, got ${p}`);
}
