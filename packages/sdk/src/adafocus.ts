/**
 * The AdaFocusV2 model as a composition of Saccade's packages: a glance backbone sees every frame
 * downscaled, the interp policy reads its feature maps (gradient stopped) and picks a patch centre
 * per frame, cropPatches cuts the patch from the full-resolution frame (differentiable in the
 * centre), a focus backbone sees the patch, and the step classifier combines glance and focus
 * vectors with a cumulative max over time. `forward` runs all T steps at once (training and
 * evaluation); `begin`/`step` run one frame at a time with the same networks, so that stopping
 * after step k costs k steps.
 */
import * as tf from '@tensorflow/tfjs';
import { createBackbone, type Backbone } from '@saccade/backbones';
import { createInterpPolicy, type InterpPolicy } from '@saccade/policy';
import { cropPatches } from '@saccade/tensor';

import { createStepClassifier, type StepClassifier } from './classifier.js';

export interface AdaFocusV2Config {
  classes: number;
  /** Frames per video (T). Default 16. */
  frames?: number;
  /** Full-resolution frame side. Default 128. */
  frameSize?: number;
  /** Glance input side (frames are average-pooled to it). Default 32. */
  glanceSize?: number;
  /** Patch side. Default 48. */
  patchSize?: number;
  /** Glance and focus backbones (createBackbone names). Defaults: the CPU presets. */
  glance?: string;
  focus?: string;
  policyHidden?: number;
  classifierWidth?: number;
  dropout?: number;
  seed?: number;
}

/** Where patches come from: the policy, uniformly random centres, or the frame centre (baselines). */
export type PatchSource = 'policy' | 'random' | 'centre';

export interface ForwardResult {
  /** [B, T, classes]: the classifier's logits after each step. */
  logits: tf.Tensor3D;
  /** [B*T, classes]: the glance head on each frame. */
  glanceLogits: tf.Tensor2D;
  /** [B*T, classes]: the focus head on each patch. */
  focusLogits: tf.Tensor2D;
  /** [B, T, 2]: patch centres (y, x) in [0, 1]. */
  centres: tf.Tensor3D;
}

export interface AdaFocusV2 {
  readonly config: Required<AdaFocusV2Config>;
  readonly glance: Backbone;
  readonly focus: Backbone;
  readonly policy: InterpPolicy;
  readonly classifier: StepClassifier;
  /** frames [B, T, S, S, 3], normalised. */
  forward(frames: tf.Tensor5D, options?: { training?: boolean; patches?: PatchSource; seed?: number }): ForwardResult;
  /** The parts' trainable weights, for per-part learning rates (policy x0.1, glance x0.5, focus x1, classifier x5 in the paper). */
  parts(): Record<'policy' | 'glance' | 'focus' | 'classifier', tf.LayerVariable[]>;
  dispose(): void;
}

export function resolveConfig(c: AdaFocusV2Config): Required<AdaFocusV2Config> {
  return {
    frames: 16,
    frameSize: 128,
    glanceSize: 32,
    patchSize: 48,
    glance: 'mobilenet_v2_glance',
    focus: 'resnet_small',
    policyHidden: 128,
    classifierWidth: 256,
    dropout: 0,
    seed: 0,
    ...c,
  };
}

export function createAdaFocusV2(options: AdaFocusV2Config): AdaFocusV2 {
  const config = resolveConfig(options);
  const glance = createBackbone(config.glance, { inputSize: config.glanceSize, numClasses: config.classes, seed: config.seed + 1 });
  const focus = createBackbone(config.focus, { inputSize: config.patchSize, numClasses: config.classes, seed: config.seed + 2 });
  const policy = createInterpPolicy({ featureShape: glance.featureMapShape, hidden: config.policyHidden, seed: config.seed + 3 });
  const classifier = createStepClassifier({
    inputWidth: glance.featureWidth + focus.featureWidth,
    width: config.classifierWidth,
    steps: config.frames,
    classes: config.classes,
    dropout: config.dropout,
    seed: config.seed + 4,
  });
  const { frames: t, frameSize: s, glanceSize: g, patchSize: p } = config;

  const toGlance = (x: tf.Tensor4D): tf.Tensor4D =>
    s % g === 0 ? tf.avgPool(x, s / g, s / g, 'valid') : (tf.image.resizeBilinear(x, [g, g], true) as tf.Tensor4D);

  return {
    config,
    glance,
    focus,
    policy,
    classifier,
    forward(frames, opts = {}) {
      const training = opts.training ?? false;
      const [b] = frames.shape;
      if (frames.shape[1] !== t || frames.shape[2] !== s || frames.shape[3] !== s || frames.shape[4] !== 3) {
        throw new Error(`AdaFocusV2.forward: frames must be [B, ${t}, ${s}, ${s}, 3], got [${frames.shape}]`);
      }
      const [logits, glanceLogits, focusLogits, centres] = tf.tidy(() => {
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const [gMap, gVec, gLogits] = glance.model.apply(toGlance(x), { training }) as tf.Tensor[];
        let c: tf.Tensor3D;
        const source = opts.patches ?? 'policy';
        if (source === 'policy') c = policy.sequence(tf.reshape(gMap!, [b, t, ...glance.featureMapShape]) as tf.Tensor5D, training);
        else if (source === 'random') c = tf.randomUniform([b, t, 2], 0, 1, 'float32', opts.seed ?? 0) as tf.Tensor3D;
        else c = tf.fill([b, t, 2], 0.5) as tf.Tensor3D;
        const patches = cropPatches(x, tf.reshape(c, [b * t, 2]) as tf.Tensor2D, p);
        const [, fVec, fLogits] = focus.model.apply(patches, { training }) as tf.Tensor[];
        const features = tf.reshape(tf.concat([gVec!, fVec!], 1), [b, t, glance.featureWidth + focus.featureWidth]) as tf.Tensor3D;
        return [classifier.sequence(features, training), gLogits!, fLogits!, c];
      });
      return { logits: logits as tf.Tensor3D, glanceLogits: glanceLogits as tf.Tensor2D, focusLogits: focusLogits as tf.Tensor2D, centres: centres as tf.Tensor3D };
    },
    parts() {
      return {
        policy: policy.trainableWeights,
        glance: glance.model.trainableWeights,
        focus: focus.model.trainableWeights,
        classifier: classifier.trainableWeights,
      };
    },
    dispose() {
      glance.model.dispose();
      focus.model.dispose();
      policy.dispose();
      classifier.dispose();
    },
  };
}

/**
 * AdaFocusV2's one-stage loss: two branches, the policy's patches and uniformly random ones
 * (diversity); each is the cross-entropy of every step's logits plus the glance head's and the
 * focus head's per-frame cross-entropies; the loss is their mean.
 */
export function adaFocusV2Loss(model: AdaFocusV2, frames: tf.Tensor5D, labels: tf.Tensor1D, seed = 0): tf.Scalar {
  return tf.tidy(() => {
    const { frames: t, classes } = model.config;
    const b = frames.shape[0];
    const perStep = tf.oneHot(tf.reshape(tf.tile(tf.reshape(labels, [b, 1]), [1, t]), [b * t]), classes);
    const branch = (patches: PatchSource) => {
      const r = model.forward(frames, { training: true, patches, seed });
      const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(perStep, logits);
      return tf.addN([ce(tf.reshape(r.logits, [b * t, classes])), ce(r.glanceLogits), ce(r.focusLogits)]);
    };
    return tf.div(tf.add(branch('policy'), branch('random')), 2) as tf.Scalar;
  });
}
