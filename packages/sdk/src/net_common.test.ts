import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { channelAffine, downscale, downscaleAffine } from './net_common.js';

const affine = { scale: [1 / 58.4, 1 / 57.1, 1 / 57.4], shift: [-2.1, -2.0, -1.8] };
const reference = (x: tf.Tensor4D) => tf.add(tf.mul(x, tf.tensor1d(affine.scale)), tf.tensor1d(affine.shift));

describe('pixel normalisation kernels', () => {
  const rng = new Rng(5);
  const pixels = (size: number) => tf.tensor4d(Array.from({ length: 2 * size * size * 3 }, () => rng.int(0, 256)), [2, size, size, 3]);

  it('channelAffine is x * scale + shift per channel', () => {
    tf.tidy(() => {
      const x = pixels(6);
      expect(tf.max(tf.abs(tf.sub(channelAffine(x, affine), reference(x)))).dataSync()[0]).toBeLessThan(1e-5);
    });
  });

  for (const [from, to] of [
    [12, 3],
    [12, 12],
    [10, 4],
  ] as const) {
    it(`downscaleAffine ${from} -> ${to} equals downscale then the affine map (${from % to === 0 ? 'one depthwise kernel' : 'bilinear'})`, () => {
      tf.tidy(() => {
        const x = pixels(from);
        const got = downscaleAffine(x, from, to, affine);
        expect(got.shape).toEqual([2, to, to, 3]);
        expect(tf.max(tf.abs(tf.sub(got, reference(downscale(x, from, to))))).dataSync()[0]).toBeLessThan(1e-5);
      });
    });
  }
});
