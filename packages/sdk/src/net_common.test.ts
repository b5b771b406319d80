import * as tf from '@tensorflow/tfjs';
import { ByteImages, Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { downscale, pixelsAt } from './net_common.js';

const affine = { scale: [1 / 58.4, 1 / 57.1, 1 / 57.4], shift: [-2.1, -2.0, -1.8] };
const reference = (x: tf.Tensor4D) => tf.add(tf.mul(x, tf.tensor1d(affine.scale)), tf.tensor1d(affine.shift));

describe('pixelsAt (decoded frames at a size, normalised)', () => {
  const rng = new Rng(5);
  for (const [from, to] of [
    [12, 3],
    [12, 12],
    [10, 4],
  ] as const) {
    it(`${from} -> ${to} equals downscale then the affine map (${from % to === 0 ? 'block means of the bytes' : 'bilinear'}), packed or not`, () => {
      const bytes = Uint8Array.from({ length: 2 * from * from * 3 }, () => rng.int(0, 256));
      tf.tidy(() => {
        const expected = reference(downscale(tf.tensor4d(Float32Array.from(bytes), [2, from, from, 3]), from, to));
        for (const pack of [true, false]) {
          const got = pixelsAt(ByteImages.from([bytes], [2, from, from, 3], { pack }), to, affine);
          expect(got.shape).toEqual([2, to, to, 3]);
          expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBeLessThan(1e-5);
        }
      });
    });
  }
});
