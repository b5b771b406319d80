import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';

import { stopGradient } from './ops.js';

it('stopGradient passes values and blocks gradients', () => {
  tf.tidy(() => {
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(stopGradient(x).dataSync())).toEqual([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.add(tf.sum(tf.square(stopGradient(t))), tf.sum(t)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1]);
  });
});
