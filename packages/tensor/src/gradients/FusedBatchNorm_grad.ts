/**
 * Gradient of FusedBatchNorm with the per-channel algebra done on per-channel vectors:
 *   dx = dy * scale * rstd                         (one broadcast multiply, no Tile)
 *   dOffset = sum(dy),  dScale = rstd * sum(dy * (x - mean))
 *   dMean = -scale * rstd * sum(dy),  dVariance = -0.5 * scale * rstd^3 * sum(dy * (x - mean))
 * tfjs's own gradient tiles rstd to the activation's shape and makes each of the five outputs with
 * its own full-size products: about twelve passes over the activation against five here.
 */
import * as tf from '@tensorflow/tfjs';

export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor) => (axes.length > 0 ? tf.reshape(tf.sum(t, axes, true), broadcastShape(mean.shape, x.rank)) : t);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const scaleValue = scale ?? tf.scalar(1);
    const sumDy = () => reduce(g);
    const sumDyCentred = () => reduce(tf.mul(g, tf.sub(x, mean)));
    const asParam = (t: tf.Tensor, like: tf.Tensor) => tf.reshape(t, like.shape);
    return {
      x: () => tf.mul(g, tf.mul(scaleValue, rstd)),
      mean: () => asParam(tf.mul(tf.neg(tf.mul(scaleValue, rstd)), sumDy()), mean),
      variance: () => asParam(tf.mul(tf.mul(tf.scalar(-0.5), tf.mul(scaleValue, tf.pow(rstd, tf.scalar(3)))), sumDyCentred()), variance),
      scale: () => asParam(tf.mul(rstd, sumDyCentred()), scale ?? mean),
      offset: () => asParam(sumDy(), mean),
    };
  },
};

/** The shape a per-channel parameter broadcasts as against a rank-r activation. */
function broadcastShape(shape: number[], rank: number): number[] {
  return [...Array<number>(Math.max(0, rank - shape.length)).fill(1), ...shape];
}
