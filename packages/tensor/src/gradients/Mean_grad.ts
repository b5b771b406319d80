/**
 * Gradient of Mean as one broadcast (Tile, which Saccade runs as a single broadcast multiply on
 * wasm) of dy / n. tfjs's own makes ones of the input's shape, multiplies and divides: three
 * passes over the input against one.
 */
import * as tf from '@tensorflow/tfjs';

export const meanGradConfig: tf.GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x] = saved as [tf.Tensor];
    const { axis } = attrs as unknown as tf.MeanAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reps = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
    const count = axes.reduce((n, a) => n * (x.shape[a] as number), 1);
    return {
      x: () => tf.tile(tf.div(tf.reshape(dy as tf.Tensor, keptShape), tf.scalar(count)), reps),
    };
  },
};
