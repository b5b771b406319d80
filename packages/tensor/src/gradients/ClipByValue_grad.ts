/**
 * Gradient of ClipByValue (ReLU6 in tfjs-layers) as dy where clip(x) == x, else 0: a clip, an
 * equality, a cast and a multiply. tfjs's own evaluates two comparisons, a logical and, zeros and a
 * select, which cost twice as much on wasm. (A non-finite dy outside the range gives NaN here
 * where tfjs gives 0.)
 */
import * as tf from '@tensorflow/tfjs';

export const clipByValueGradConfig: tf.GradConfig = {
  kernelName: tf.ClipByValue,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x] = saved as [tf.Tensor];
    const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
    return {
      x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.equal(tf.clipByValue(x, clipValueMin, clipValueMax), x), 'float32')),
    };
  },
};
