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

it('stopGradient(x, fn) returns fn(x), blocks gradients and keeps fn off the gradient tape', async () => {
  const x = tf.tensor2d([
    [1, 5, 2],
    [7, 0, 3],
  ]);
  const fn = (t: tf.Tensor) => tf.max(t, 1);
  const value = stopGradient(x, fn);
  expect(Array.from(value.dataSync())).toEqual([5, 7]);
  expect(value.shape).toEqual([2]);
  const loss = (after: boolean) => (t: tf.Tensor) => tf.add(tf.sum(after ? fn(stopGradient(t)) : stopGradient(t, fn)), tf.sum(t));
  // Both block the gradient; only stopping after the max runs the max's backward (its Equal mask).
  const kernels = async (after: boolean) => {
    let g: number[] = [];
    const info = await tf.profile(() => {
      g = Array.from(tf.tidy(() => tf.grad(loss(after))(x).dataSync()));
    });
    return { g, names: info.kernels.map((k) => k.name) };
  };
  const off = await kernels(false);
  const on = await kernels(true);
  expect(off.g).toEqual([1, 1, 1, 1, 1, 1]);
  expect(on.g).toEqual([1, 1, 1, 1, 1, 1]);
  expect(on.names).toContain('Equal');
  expect(off.names).not.toContain('Equal');
  tf.dispose([x, value]);
});
