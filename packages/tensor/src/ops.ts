import * as tf from '@tensorflow/tfjs';

/**
 * Identity in the forward pass, zero gradient in the backward pass (tfjs has no stopGradient).
 * AdaFocus's policy reads the glance feature maps through it, so the policy's loss does not train
 * the glance network.
 *
 * With `fn`, returns fn(x) with no gradient to x, and fn's operations run off the gradient tape:
 * cheaper than stopping the gradient after them (tfjs would still run their backward pass, only to
 * multiply by zero).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T;
export function stopGradient<T extends tf.Tensor, R extends tf.Tensor>(x: T, fn: (x: T) => R): R;
export function stopGradient<T extends tf.Tensor, R extends tf.Tensor>(x: T, fn?: (x: T) => R): R | T {
  const { shape, dtype } = x;
  // Ops inside a custom gradient's forward function are not recorded on the tape.
  const forward = (input: tf.Tensor) => ({ value: fn ? fn(input as T) : tf.clone(input), gradFunc: () => tf.zeros(shape, dtype) });
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (t: tf.Tensor) => tf.Tensor)(x) as R | T;
}
