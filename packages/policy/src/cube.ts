/**
 * AdaFocus V3 / Uni-AdaFocus's policies ("cube"): the expensive network sees a spatio-temporal
 * cube, a patch region (where) in a subset of the frames (when).
 *
 * - Spatial policy: reads the whole stack of glance feature maps (gradient stopped): a 1x1 conv
 *   (64) + BN + ReLU on every frame's map, averaged over time, flatten, linear + ReLU, linear +
 *   sigmoid to one patch centre (y, x) in [0, 1] for the cube (and, with `scale`, a third sigmoid
 *   output, the patch size as a fraction between `scaleRange`).
 * - Temporal policy: per-frame glance vectors -> linear + ReLU -> linear -> one logit per frame;
 *   the softmax over the frames is a distribution from which the focus frames are drawn by inverse
 *   CDF: stratified (one uniform draw in each of K equal strata) in training, stratum midpoints in
 *   evaluation (`sampleFrames`).
 * - The actions are detached for the focus network's crop; the policies learn through
 *   feature-level proxies: `spatialProxy` cuts the cube's region out of the glance feature maps
 *   by bilinear interpolation (differentiable in the centre) for an auxiliary classifier, and
 *   `temporalProxy` weights the glance logits of the frames by the temporal distribution (the
 *   expectation that Monte-Carlo frame sampling estimates).
 */
import * as tf from '@tensorflow/tfjs';
import { cropPatches, Rng, stopGradient } from '@saccade/tensor';

import { PolicyOptionError } from './errors.js';
import { dense } from './gru.js';

type Sym = tf.SymbolicTensor;

export interface CubePolicyOptions {
  /** Glance feature-map shape [h, w, channels]. */
  featureShape: readonly [number, number, number];
  /** Width of the glance vectors the temporal policy reads. */
  vectorWidth: number;
  /** Frames per video (T). */
  frames: number;
  /** Hidden width of both policies. Default 128. */
  hidden?: number;
  /** Learn the patch size too (Uni-AdaFocus). Default false. */
  scale?: boolean;
  seed?: number;
  name?: string;
}

export interface CubePolicy {
  readonly kind: 'cube';
  readonly frames: number;
  readonly featureShape: readonly [number, number, number];
  readonly scale: boolean;
  readonly spatial: tf.LayersModel;
  readonly temporal: tf.LayersModel;
  /**
   * maps [B, T, h, w, c] -> centres [B, 2] (and sizes [B] as fractions in [0, 1] of the scale
   * range with `scale`). The maps' gradient is stopped.
   */
  where(maps: tf.Tensor5D, training?: boolean): { centres: tf.Tensor2D; sizes?: tf.Tensor1D };
  /** vectors [B, T, C] -> frame distribution [B, T] (softmax). The vectors' gradient is stopped. */
  when(vectors: tf.Tensor3D, training?: boolean): tf.Tensor2D;
  readonly trainableWeights: tf.LayerVariable[];
  dispose(): void;
}

export function buildCubeModels(o: CubePolicyOptions): { spatial: tf.LayersModel; temporal: tf.LayersModel } {
  const [h, w, c] = o.featureShape;
  const hidden = o.hidden ?? 128;
  const ints: [string, number][] = [
    ['featureShape height', h],
    ['featureShape width', w],
    ['featureShape channels', c],
    ['vectorWidth', o.vectorWidth],
    ['frames', o.frames],
    ['hidden', hidden],
  ];
  for (const [name, v] of ints) if (!Number.isInteger(v) || v < 1) throw new PolicyOptionError(name, `must be a positive integer, got ${v}`);
  const rng = new Rng(o.seed ?? 0);
  const prefix = o.name ?? 'cube';
  const t = o.frames;

  // Spatial: the T maps as a batch of T*B maps inside the model would need a reshape with the batch;
  // instead the input is [T, h, w, c] per video, and a TimeDistributed-free equivalent: 1x1 conv on
  // the [T*h, w, c] image (a 1x1 conv does not mix positions), then the mean over T.
  const stack = tf.input({ shape: [t * h, w, c], name: 'feature_maps' });
  let s = tf.layers
    .conv2d({ filters: 64, kernelSize: 1, useBias: false, name: 'spatial_conv', kernelInitializer: tf.initializers.heNormal({ seed: rng.tensorSeed() }) })
    .apply(stack) as Sym;
  s = tf.layers.batchNormalization({ name: 'spatial_conv_bn', epsilon: 1e-5, momentum: 0.9 }).apply(s) as Sym;
  s = tf.layers.activation({ activation: 'relu', name: 'spatial_conv_relu' }).apply(s) as Sym;
  s = tf.layers.reshape({ targetShape: [t, h * w * 64], name: 'spatial_frames' }).apply(s) as Sym;
  s = tf.layers.globalAveragePooling1d({ name: 'spatial_time_mean' }).apply(s) as Sym;
  s = dense(hidden, rng, 'spatial_fc', 'relu').apply(s) as Sym;
  const out = dense(o.scale ? 3 : 2, rng, 'spatial_head', 'sigmoid').apply(s) as Sym;
  const spatial = tf.model({ inputs: stack, outputs: out, name: `${prefix}_spatial` });

  const vectors = tf.input({ shape: [t, o.vectorWidth], name: 'glance_vectors' });
  let v = tf.layers
    .dense({ units: hidden, activation: 'relu', name: 'temporal_fc', kernelInitializer: tf.initializers.glorotUniform({ seed: rng.tensorSeed() }) })
    .apply(vectors) as Sym;
  v = tf.layers.dense({ units: 1, name: 'temporal_logit', kernelInitializer: tf.initializers.glorotUniform({ seed: rng.tensorSeed() }) }).apply(v) as Sym;
  v = tf.layers.flatten({ name: 'temporal_logits' }).apply(v) as Sym;
  const probs = tf.layers.softmax({ name: 'temporal_softmax' }).apply(v) as Sym;
  const temporal = tf.model({ inputs: vectors, outputs: probs, name: `${prefix}_temporal` });
  return { spatial, temporal };
}

export function createCubePolicy(o: CubePolicyOptions): CubePolicy {
  const { spatial, temporal } = buildCubeModels(o);
  return wrapCubePolicy(spatial, temporal, o);
}

/** A CubePolicy around built or loaded models. */
export function wrapCubePolicy(spatial: tf.LayersModel, temporal: tf.LayersModel, o: Pick<CubePolicyOptions, 'featureShape' | 'frames' | 'scale'>): CubePolicy {
  const [h, w, c] = o.featureShape;
  const t = o.frames;
  return {
    kind: 'cube',
    frames: t,
    featureShape: o.featureShape,
    scale: o.scale ?? false,
    spatial,
    temporal,
    where(maps, training = false) {
      if (maps.rank !== 5 || maps.shape.slice(1).join() !== [t, h, w, c].join())
        throw new PolicyOptionError('where', `expects feature maps [B, ${t}, ${h}, ${w}, ${c}], got [${maps.shape}]`);
      const b = maps.shape[0];
      return tf.tidy(() => {
        const y = spatial.apply(tf.reshape(stopGradient(maps), [b, t * h, w, c]), { training }) as tf.Tensor2D;
        const centres = tf.slice(y, [0, 0], [b, 2]) as tf.Tensor2D;
        return o.scale ? { centres, sizes: tf.reshape(tf.slice(y, [0, 2], [b, 1]), [b]) as tf.Tensor1D } : { centres };
      });
    },
    when(vectors, training = false) {
      if (vectors.rank !== 3 || vectors.shape[1] !== t) throw new PolicyOptionError('when', `expects glance vectors [B, ${t}, C], got [${vectors.shape}]`);
      return tf.tidy(() => temporal.apply(stopGradient(vectors), { training }) as tf.Tensor2D);
    },
    get trainableWeights() {
      return [...spatial.trainableWeights, ...temporal.trainableWeights];
    },
    dispose() {
      spatial.dispose();
      temporal.dispose();
    },
  };
}

/**
 * Draw K frames per video from distributions probs [B, T] by inverse CDF: the k-th of K draws is
 * the first frame whose cumulative probability exceeds u_k, with u_k = (k + U_k) / K ('stratified',
 * U_k uniform from the rng: training) or (k + 1/2) / K ('midpoint': evaluation). Indices are
 * non-decreasing per video and may repeat where one frame holds more than 1/K of the mass.
 */
export function sampleFrames(probs: Float32Array, batch: number, frames: number, k: number, mode: 'stratified' | 'midpoint', rng?: Rng): Int32Array {
  if (probs.length !== batch * frames) throw new PolicyOptionError('probs', `has ${probs.length} values, expected ${batch} x ${frames}`);
  if (!Number.isInteger(k) || k < 1 || k > frames)
    throw new PolicyOptionError('focusFrames', `must be an integer in [1, ${frames}] (the frames per video), got ${k}`);
  if (mode === 'stratified' && !rng) throw new PolicyOptionError('rng', 'stratified sampling needs an rng');
  const out = new Int32Array(batch * k);
  for (let b = 0; b < batch; b++) {
    let total = 0;
    for (let f = 0; f < frames; f++) total += probs[b * frames + f]!;
    let cdf = 0;
    let f = 0;
    for (let j = 0; j < k; j++) {
      const u = ((j + (mode === 'midpoint' ? 0.5 : rng!.uniform())) / k) * total;
      while (f < frames - 1 && cdf + probs[b * frames + f]! <= u) {
        cdf += probs[b * frames + f]!;
        f++;
      }
      out[b * k + j] = f;
    }
  }
  return out;
}

/**
 * The spatial policy's proxy: the cube's region cut out of every frame's glance feature map by
 * bilinear interpolation (differentiable in the centres), max-pooled over space: [B, T, C]. The
 * region covers `fraction` of the map (the patch's share of the frame), at least one cell.
 */
export function spatialProxy(maps: tf.Tensor5D, centres: tf.Tensor2D, fraction: number): tf.Tensor3D {
  const [b, t, h, w, c] = maps.shape;
  if (!(fraction > 0 && fraction <= 1)) throw new PolicyOptionError('fraction', `must be in (0, 1], got ${fraction}`);
  const ph = Math.max(1, Math.round(fraction * h));
  const pw = Math.max(1, Math.round(fraction * w));
  return tf.tidy(() => {
    const flat = tf.reshape(stopGradient(maps), [b * t, h, w, c]) as tf.Tensor4D;
    const perFrame = tf.reshape(tf.tile(tf.expandDims(centres, 1), [1, t, 1]), [b * t, 2]) as tf.Tensor2D;
    const region = cropPatches(flat, perFrame, [ph, pw], { frameGradient: false });
    return tf.reshape(tf.max(region, [1, 2]), [b, t, c]) as tf.Tensor3D;
  });
}

/** The temporal policy's proxy: glance logits [B, T, classes] weighted by the frame distribution [B, T]: [B, classes]. */
export function temporalProxy(logits: tf.Tensor3D, probs: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sum(tf.mul(stopGradient(logits), tf.expandDims(probs, 2)), 1) as tf.Tensor2D);
}
