import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, it } from 'vitest';

import { Rng } from '../random.js';
import { expectArraysClose, maxAbs, onBackend, randomData } from '../testing/index.js';
import { registerFastGradients, restoreTfjsGradients } from './register.js';

type Case = [name: string, inputs: () => tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Scalar];

const rng = new Rng(21);
const x4 = randomData(rng, [3, 5, 4, 6], -2, 2);
const channel = (lo: number, hi: number) => randomData(rng, [6], lo, hi);
const mean = channel(-0.5, 0.5);
const variance = channel(0.2, 2);
const scale = channel(0.5, 1.5);
const offset = channel(-1, 1);
const weights = randomData(rng, [3, 5, 4, 6]);
const boundary = Float32Array.from(x4, (v, i) => (i % 7 === 0 ? 0.5 : i % 11 === 0 ? -0.5 : v));

const R = () => tf.tensor4d(weights, [3, 5, 4, 6]);
const X = (data = x4) => tf.tensor4d(data, [3, 5, 4, 6]);
const V = (d: Float32Array, shape: number[] = [6]) => tf.tensor(d, shape);

const CASES: Case[] = [
  [
    'batchNorm with rank-1 statistics',
    () => [X(), V(mean), V(variance), V(scale), V(offset)],
    (x, m, v, s, o) => tf.sum(tf.mul(tf.batchNorm(x as tf.Tensor4D, m!, v!, o, s, 1e-3), R())),
  ],
  [
    'training-mode batch norm (moments of the batch)',
    () => [X(), V(scale), V(offset)],
    (x, s, o) => {
      const { mean: m, variance: v } = tf.moments(x!, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(x as tf.Tensor4D, m, v, o, s, 1e-3), R()));
    },
  ],
  ['mean over leading axes', () => [X()], (x) => tf.sum(tf.mul(tf.mean(x!, [0, 1, 2]), V(scale)))],
  ['mean over a middle axis, keepDims', () => [X()], (x) => tf.sum(tf.mul(tf.mean(x!, 1, true), tf.ones([3, 1, 4, 6])))],
  ['mean of everything', () => [X()], (x) => tf.mul(tf.mean(x!), tf.scalar(3))],
  ['clipByValue with values on the bounds', () => [X(boundary)], (x) => tf.sum(tf.mul(tf.clipByValue(x!, -0.5, 0.5), R()))],
];

describe("Saccade's gradients equal tfjs-core's", () => {
  afterAll(() => registerFastGradients());

  it.each(CASES)('%s', async (_, inputs, f) => {
    const grads = () => tf.grads((...xs: tf.Tensor[]) => f(...xs))(inputs());
    restoreTfjsGradients();
    const reference = await onBackend('cpu', grads);
    registerFastGradients();
    for (const backend of ['cpu', 'wasm']) {
      const ours = await onBackend(backend, grads);
      ours.forEach((g, i) =>
        expectArraysClose(g, reference[i]!, { rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(reference[i]!)), label: `${backend} input ${i}` }),
      );
    }
  });

  // tfjs-core's own gradient fails for statistics of shape [1,1,1,C] (it reshapes the full-size
  // mean gradient without reducing it), so this case is held to the rank-1 reference instead.
  it('batchNorm with [1,1,1,C] statistics gives the rank-1 gradients', async () => {
    const bn = (shape: number[]) => () =>
      tf.grads((x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm(x as tf.Tensor4D, m, v, o, s, 1e-3), R())))(
        [X(), V(mean, shape), V(variance, shape), V(scale, shape), V(offset, shape)],
      );
    restoreTfjsGradients();
    const reference = await onBackend('cpu', bn([6]));
    registerFastGradients();
    for (const backend of ['cpu', 'wasm']) {
      const ours = await onBackend(backend, bn([1, 1, 1, 6]));
      ours.forEach((g, i) =>
        expectArraysClose(g, reference[i]!, { rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(reference[i]!)), label: `${backend} input ${i}` }),
      );
    }
  });
});
