/**
 * The frame baselines: one backbone on every frame with the logits averaged over the frames seen so
 * far (TSN): `uniform` (the focus backbone on whole frames) and `glance` (the glance backbone on
 * the downscaled frames). Stopping after step k costs k frames.
 */
import * as tf from '@tensorflow/tfjs';
import { namedBackbone } from '@saccade/backbones';

import type { TrainConfig } from '../config/base.js';
import { normalisationAffine } from '../dataset.js';
import { backbone, backboneMacs, checkFrames, checkPixels, checkStep, downscale, pixelsAt, pixelState, withStepInputs } from '../net_common.js';
import type { VideoNet } from '../video_net.js';

/**
 * `role` 'focus': the focus backbone on whole frames (uniform); 'glance': the glance backbone on the
 * frames downscaled to glanceSize (glance). The backbone is the bundle's `frames` part.
 */
/** A frame baseline's one sub-network. */
export interface FrameBaselineParts {
  readonly frames: tf.LayersModel;
}

export function createFrameBaseline(config: TrainConfig, classes: number, role: 'focus' | 'glance', loaded?: FrameBaselineParts): VideoNet {
  const { frames: t, frameSize: s, seed } = config;
  const uniform = role === 'focus';
  const size = uniform ? s : config.glanceSize;
  const net = loaded
    ? loaded.frames
    : uniform
      ? backbone(config.focusBackbone, config.focusWidth, s, classes, seed + 2, 'frames', config.pooling).model
      : backbone(config.glanceBackbone, config.glanceWidth, config.glanceSize, classes, seed + 1, 'frames', config.pooling).model;
  const named = namedBackbone(net);
  const logitsOf = (x: tf.Tensor4D, training: boolean) => named.apply(downscale(x, s, size), training).logits;
  const affine = normalisationAffine(config);
  /** Per-frame logits [B * T, classes] -> the average of the frames seen so far after each step (TSN consensus). */
  const consensus = (perFrame: tf.Tensor, b: number) =>
    tf.div(tf.cumsum(tf.reshape(perFrame, [b, t, classes]), 1), tf.range(1, t + 1).reshape([1, t, 1])) as tf.Tensor3D;
  return {
    config,
    classes,
    steps: t,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      const logits = tf.tidy(() => consensus(logitsOf(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D, opts.training ?? false), b));
      return { logits };
    },
    forwardPixels(pixels) {
      const b = checkPixels(pixels, config);
      // The network's input read from the bytes: the glance's block means, or every pixel normalised.
      const logits = tf.tidy(() => consensus(named.apply(pixelsAt(pixels, size, affine)).logits, b));
      return { logits };
    },
    loss(frames, labels) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const perFrame = tf.reshape(logitsOf(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D, true), [b, t, classes]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), tf.mean(perFrame, 1)) as tf.Scalar;
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      return { batch: video.shape[0], step: 0, video, tensors: [] };
    },
    beginPixels(batch, frame) {
      return pixelState(batch, frame);
    },
    step(state) {
      checkStep(state, t);
      const k = state.step;
      // The network's input at its size: the normalised frame downscaled, or read from the bytes.
      const out = withStepInputs(
        state,
        config,
        (x) => downscale(x, s, size),
        (px) => pixelsAt(px, size, affine),
        (input) => {
          const l = named.apply(input).logits as tf.Tensor2D;
          const sum = k === 0 ? l : (tf.add(state.tensors[0]!, l) as tf.Tensor2D);
          return { logits: tf.div(sum, k + 1) as tf.Tensor2D, sum };
        },
      );
      tf.dispose(state.tensors);
      return { logits: out.logits, frames: new Int32Array(state.batch).fill(k), state: { ...state, step: k + 1, tensors: [out.sum] } };
    },
    parts() {
      return { [uniform ? 'focus' : 'glance']: net.trainableWeights };
    },
    models() {
      return { frames: net };
    },
    gflopsPerStep() {
      return new Array<number>(t).fill(backboneMacs(net, true) / 1e9);
    },
    dispose() {
      net.dispose();
    },
  };
}
