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
export function cropBoxes(frames: tf.Tensor4D, boxes: tf.Tensor2D, size: PatchSize): tf.Tensor4D {
  const [ph, pw] = typeof size === 'number' ? [size, size] : size;
  validate(frames, boxes, ph, pw);
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
