import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { cropBoxes } from './crop_boxes.js';
import { TensorArgumentError } from './errors.js';
import { Rng } from './random.js';
import { expectArraysClose, finiteDifferences, onBackend, randomData } from './testing/index.js';

const N = 3;
const H = 14;
const W = 18;
const C = 2;

/**
 * PyTorch's affine_grid + grid_sample (bilinear, zeros padding, align_corners False) written out
 * from their definitions, in float64: theta maps output coordinates in [-1, 1] onto the box.
 */
function reference(frames: Float32Array, boxes: Float32Array, ph: number, pw: number): Float64Array {
  const N = boxes.length / 4;
  const out = new Float64Array(N * ph * pw * C);
  const at = (n: number, y: number, x: number, c: number) => (y < 0 || y >= H || x < 0 || x >= W ? 0 : (frames[((n * H + y) * W + x) * C + c] as number));
  for (let n = 0; n < N; n++) {
    const [top, left, height, width] = Array.from(boxes.subarray(4 * n, 4 * n + 4));
    // theta = [[width / W, 0, -1 + (2 * left + width) / W], [0, height / H, -1 + (2 * top + height) / H]].
    const [ax, bx] = [width! / W, -1 + (2 * left! + width!) / W];
    const [ay, by] = [height! / H, -1 + (2 * top! + height!) / H];
    for (let i = 0; i < ph; i++)
      for (let j = 0; j < pw; j++) {
        const gx = ax * ((2 * j + 1) / pw - 1) + bx;
        const gy = ay * ((2 * i + 1) / ph - 1) + by;
        const ix = ((gx + 1) * W - 1) / 2;
        const iy = ((gy + 1) * H - 1) / 2;
        const [x0, y0] = [Math.floor(ix), Math.floor(iy)];
        const [fx, fy] = [ix - x0, iy - y0];
        for (let c = 0; c < C; c++)
          out[((n * ph + i) * pw + j) * C + c] =
            (1 - fy) * ((1 - fx) * at(n, y0, x0, c) + fx * at(n, y0, x0 + 1, c)) + fy * ((1 - fx) * at(n, y0 + 1, x0, c) + fx * at(n, y0 + 1, x0 + 1, c));
      }
  }
  return out;
}

describe('cropBoxes', () => {
  // Zoom out (box larger than the patch), zoom in, a box reaching past the frame's border, and one
  // that is not square, with fractional corners.
  const boxes = new Float32Array([0.3, 1.7, 11.2, 13.9, 5.25, 8.6, 4.5, 3.2, -1.5, 12.4, 9.1, 7.8]);

  it.each([
    ['square', 6, 6],
    ['tall', 7, 4],
  ] as const)('matches PyTorch affine_grid + grid_sample written out (%s patches), on cpu and wasm', async (_, ph, pw) => {
    const frames = randomData(new Rng(1), [N, H, W, C], 0, 1);
    const expected = reference(frames, boxes, ph, pw);
    for (const backend of ['cpu', 'wasm']) {
      const [ours] = await onBackend(backend, () => cropBoxes(tf.tensor4d(frames, [N, H, W, C]), tf.tensor2d(boxes, [N, 4]), [ph, pw]));
      expectArraysClose(ours!, expected as unknown as Float32Array, { rtol: 1e-5, atol: 1e-5, label: backend });
    }
  });

  it('reproduces the frame exactly for a box of the patch size at whole pixels', async () => {
    const frames = randomData(new Rng(2), [N, H, W, C]);
    const whole = new Float32Array([0, 0, 5, 5, 4, 9, 5, 5, H - 5, W - 5, 5, 5]);
    const [ours] = await onBackend('wasm', () => cropBoxes(tf.tensor4d(frames, [N, H, W, C]), tf.tensor2d(whole, [N, 4]), 5));
    const [slices] = await onBackend('cpu', () => {
      const f = tf.tensor4d(frames, [N, H, W, C]);
      return tf.concat([0, 1, 2].map((n) => tf.slice(f, [n, whole[4 * n]!, whole[4 * n + 1]!, 0], [1, 5, 5, C])));
    });
    expectArraysClose(ours!, slices!, { rtol: 0, atol: 1e-6 });
  });

  it('has box and frame gradients that match finite differences and the adjoint', async () => {
    const frames = randomData(new Rng(3), [N, H, W, C]);
    const weights = randomData(new Rng(4), [N, 6, 5, C]);
    const loss = (f: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(cropBoxes(f as tf.Tensor4D, b as tf.Tensor2D, [6, 5]), tf.tensor4d(weights, [N, 6, 5, C]))) as tf.Scalar;
    await tf.setBackend('cpu');
    const numeric = finiteDifferences((b) => loss(tf.tensor4d(frames, [N, H, W, C]), b), boxes, [N, 4], 1e-3);
    await tf.setBackend('wasm');
    for (const backend of ['cpu', 'wasm']) {
      const [boxGrad, frameGrad, cropped] = await onBackend(backend, () => {
        const f = tf.tensor4d(frames, [N, H, W, C]);
        const b = tf.tensor2d(boxes, [N, 4]);
        return [tf.grad((x) => loss(f, x))(b), tf.grad((x) => loss(x, b))(f), cropBoxes(f, b, [6, 5])];
      });
      expectArraysClose(boxGrad!, numeric as unknown as Float32Array, { rtol: 2e-2, atol: 2e-3, label: `${backend} box gradient` });
      expect(Math.max(...Array.from(boxGrad!, Math.abs))).toBeGreaterThan(1e-2);
      // Linear in the frames: <crop(F), R> == <F, dL/dF>.
      let lhs = 0;
      let rhs = 0;
      weights.forEach((r, i) => (lhs += r * cropped![i]!));
      frames.forEach((f, i) => (rhs += f * frameGrad![i]!));
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
    }
  });

  it('without a gradient: the same patches from CropAndResize (inside, at the border, one-pixel patches), the matrix path for boxes far out', async () => {
    const frames = randomData(new Rng(7), [N, H, W, C], 0, 1);
    // Inside the frame (touching both borders), zoomed in and out; and the box reaching 1.5 px past the top.
    for (const [b, size] of [
      [new Float32Array([0, 0, H, W, 2.3, 4.1, 7.7, 5.2, 0.6, 3.3, 12.1, 13.8]), [6, 5]],
      [new Float32Array([0, 0, H, W, 2.3, 4.1, 7.7, 5.2, 0.6, 3.3, 12.1, 13.8]), [1, 1]],
      [boxes, [6, 6]],
    ] as const) {
      const expected = reference(frames, b, size[0], size[1]);
      for (const backend of ['cpu', 'wasm']) {
        const [fast] = await onBackend(backend, () =>
          cropBoxes(tf.tensor4d(frames, [N, H, W, C]), tf.tensor2d(b, [N, 4]), [size[0], size[1]], { gradient: false }),
        );
        expectArraysClose(fast!, expected as unknown as Float32Array, { rtol: 1e-5, atol: 1e-5, label: `${backend} ${size}` });
      }
    }
  });

  it('frameIndices: each box reads the frame it names, with and without a gradient, as if the frames were gathered first', async () => {
    const frames = randomData(new Rng(9), [N, H, W, C], 0, 1);
    // Five boxes over the N frames: inside (on the frame, at least the patch's size), zoomed in, and past the border.
    const b = new Float32Array([0, 0, H, W, 2.3, 4.1, 7.7, 5.2, 0.6, 3.3, 12.1, 13.8, -1.2, 0.4, 9, 8, 3, 2, 6, 6]);
    const which = [2, 0, 2, 1, 0];
    const gathered = which.flatMap((f) => Array.from(frames.subarray(f * H * W * C, (f + 1) * H * W * C)));
    const expected = reference(Float32Array.from(gathered), b, 6, 6);
    for (const backend of ['cpu', 'wasm'])
      for (const gradient of [false, true]) {
        const [got] = await onBackend(backend, () =>
          cropBoxes(tf.tensor4d(frames, [N, H, W, C]), tf.tensor2d(b, [5, 4]), 6, { gradient, frameIndices: which }),
        );
        expectArraysClose(got!, expected as unknown as Float32Array, { rtol: 1e-5, atol: 1e-5, label: `${backend} gradient ${gradient}` });
      }
    const f = tf.zeros([N, H, W, C]) as tf.Tensor4D;
    const two = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => cropBoxes(f, two, 2, { frameIndices: [0] })).toThrow(/frameIndices has 1 entries but boxes have 2/);
    expect(() => cropBoxes(f, two, 2, { frameIndices: [0, N] })).toThrow(/frameIndices\[1\] must be an integer/);
    tf.dispose([f, two]);
  });

  it('refuses bad shapes with a typed error', () => {
    const f = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const b = tf.zeros([2, 2]) as tf.Tensor2D;
    const b3 = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => cropBoxes(f, b, 2)).toThrow(TensorArgumentError);
    expect(() => cropBoxes(f, b3, 2)).toThrow(/batch 2 but boxes have 3/);
    const b4 = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => cropBoxes(f, b4, 0)).toThrow(/positive integer/);
    tf.dispose([f, b, b3, b4]);
  });
});
