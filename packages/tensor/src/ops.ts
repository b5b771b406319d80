import * as tf from '@tensorflow/tfjs';

/**
 * Identity in the forward pass, zero gradient in the backward pass (tfjs has no stopGradient).
 * AdaFocus's policy reads the glance feature maps through it, so the policy's loss does not train
 * the glance network.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const forward = (input: tf.Tensor) => ({ value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) });
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return (op as unknown as (t: tf.Tensor) => tf.Tensor)(x) as T;
}
