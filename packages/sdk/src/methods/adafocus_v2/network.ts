/**
 * AdaFocusV2 (CVPR 2022) as a VideoNet: a glance backbone sees every frame downscaled, the policy
 * reads its feature maps (gradient stopped) and picks a patch centre per frame, cropPatches cuts the
 * patch from the full-resolution frame (differentiable in the centre), a focus backbone sees the
 * patch, and the step classifier combines glance and focus vectors with a cumulative max over time.
 * With `patches: 'random' | 'centre'` the same network takes random or central patches instead (the
 * baselines of the paper).
 *
 * `forward` runs all T steps at once (training, evaluation); `begin`/`step` run one frame at a time
 * with the same layers, so that stopping after step k costs k steps (early exit).
 */
import * as tf from '@tensorflow/tfjs';
import { backboneOutputs, countFlops, namedBackbone } from '@saccade/backbones';
import { createInterpPolicy, createSpatialPolicy, wrapInterpPolicy, wrapSpatialPolicy, type InterpPolicy, type SpatialPolicy } from '@saccade/policy';
import { cropPatches, type ByteImages } from '@saccade/tensor';

import { createStepClassifier, wrapStepClassifier, type StepClassifier } from '../../classifier.js';
import { normalisationAffine } from '../../dataset.js';
import { deriveModel } from '../../engine.js';
import {
  backbone,
  backboneMacs,
  checkFrames,
  checkPixels,
  checkStep,
  denseMacs,
  downscale,
  focusOn,
  frameTargets,
  glanceWithMap,
  pixelsAt,
  policyMapCells,
  pixelState,
  previousStageShape,
  withStepInputs,
} from '../../net_common.js';
import type { ForwardResult, VideoNet } from '../../video_net.js';
import type { AdaFocusV2Config } from './schema.js';

/** AdaFocusV2's sub-networks (the dense readout's recurrent part only with policyReadout 'dense'). */
export interface AdaFocusV2Parts {
  readonly glance: tf.LayersModel;
  readonly focus: tf.LayersModel;
  readonly policy_encoder: tf.LayersModel;
  readonly policy_recurrent?: tf.LayersModel;
  readonly classifier_mlp: tf.LayersModel;
  readonly classifier_heads: tf.LayersModel;
}

export function createAdaFocusV2(config: AdaFocusV2Config, classes: number, loaded?: AdaFocusV2Parts): VideoNet {
  const { frames: t, frameSize: s, glanceSize: g, patchSize: p, seed } = config;
  const cellsOf = (glance: tf.LayersModel, shape: readonly number[]) => (config.policyCells === 'receptive' ? policyMapCells(glance, shape) : undefined);
  let glance: tf.LayersModel;
  let focus: tf.LayersModel;
  let policy: InterpPolicy | SpatialPolicy;
  let classifier: StepClassifier;
  if (loaded) {
    ({ glance, focus } = loaded);
    // The map the policy reads is the one its encoder was built for (bundles from before
    // policyMap hold the last map).
    const mapShape = loaded.policy_encoder.inputs[0]!.shape.slice(1) as number[] as [number, number, number];
    const spatialMap = [mapShape[0], mapShape[1], mapShape[2] - 1] as [number, number, number];
    policy =
      config.policyReadout === 'spatial'
        ? wrapSpatialPolicy(loaded.policy_encoder, spatialMap, p / s, cellsOf(glance, spatialMap))
        : wrapInterpPolicy(loaded.policy_encoder, loaded.policy_recurrent!, config.policyHidden, mapShape);
    classifier = wrapStepClassifier(loaded.classifier_mlp, loaded.classifier_heads);
  } else {
    const gb = backbone(config.glanceBackbone, config.glanceWidth, g, classes, seed + 1, 'glance', config.pooling);
    const fb = backbone(config.focusBackbone, config.focusWidth, p, classes, seed + 2, 'focus', config.pooling);
    glance = gb.model;
    focus = fb.model;
    const mapShape = config.policyMap === 'previous' ? previousStageShape(glance) : gb.featureMapShape;
    policy =
      config.policyReadout === 'spatial'
        ? createSpatialPolicy({ featureShape: mapShape, patchFraction: p / s, seed: seed + 3, cells: cellsOf(glance, mapShape) })
        : createInterpPolicy({ featureShape: mapShape, hidden: config.policyHidden, seed: seed + 3 });
    classifier = createStepClassifier({
      inputWidth: gb.featureWidth + fb.featureWidth,
      width: config.classifierWidth,
      steps: t,
      classes,
      dropout: config.dropout,
      seed: seed + 4,
    });
  }
  const mapShape = policy.featureShape;
  // The glance as [policy map, vector, logits] (shares the glance's layers).
  const glanceView = glanceWithMap(glance, mapShape);
  const gWidth = namedBackbone(glance).featureWidth;
  const fWidth = namedBackbone(focus).featureWidth;
  const source = config.patches;

  /**
   * Random patches at inference: step k of every video draws its centre from its own seed, so that
   * the all-steps forward and step-by-step inference (classify) cut the same patches for the same
   * seed. (Training draws all steps at once from the step's seed.)
   */
  const randomStep = (b: number, k: number, seedArg: number): tf.Tensor2D => tf.randomUniform([b, 2], 0, 1, 'float32', seedArg * 1000 + k) as tf.Tensor2D;
  const centresFor = (maps: tf.Tensor, b: number, training: boolean, seedArg: number): tf.Tensor3D => {
    if (source === 'policy') return policy.sequence(tf.reshape(maps, [b, t, ...mapShape]) as tf.Tensor5D, training);
    if (source === 'random') {
      if (training) return tf.randomUniform([b, t, 2], 0, 1, 'float32', seedArg) as tf.Tensor3D;
      return tf.stack(
        Array.from({ length: t }, (_, k) => randomStep(b, k, seedArg)),
        1,
      ) as tf.Tensor3D;
    }
    return tf.fill([b, t, 2], 0.5) as tf.Tensor3D;
  };
  /**
   * What the two networks read from full-resolution frames: the glance input (downscaled) and the
   * patches at centres [B * T, 2]. From frames normalised already, or (forwardPixels) from the
   * decoded bytes, of which only these are read and normalised.
   */
  type Inputs = { glance: () => tf.Tensor4D; patches: (centres: tf.Tensor2D) => tf.Tensor4D };
  const normalised = (x: tf.Tensor4D): Inputs => ({ glance: () => downscale(x, s, g), patches: (c) => cropPatches(x, c, p, { frameGradient: false }) });
  const affine = normalisationAffine(config);
  const fromPixels = (px: ByteImages): Inputs => ({ glance: () => pixelsAt(px, g, affine), patches: (c) => px.crop(c, p, affine) });
  /** Glance on all frames: the policy's maps, the vectors and the head's logits. */
  const glanceAll = (inputs: Inputs, training: boolean) => backboneOutputs(glanceView.apply(inputs.glance(), { training }) as tf.Tensor[]);
  /** The focus network on the patches at centres [B, T, 2]: [vectors, per-frame head logits]. */
  const focusAt = (inputs: Inputs, centres: tf.Tensor3D, b: number, training: boolean) =>
    focusOn(focus, inputs.patches(tf.reshape(centres, [b * t, 2]) as tf.Tensor2D), training);
  const focusBranch = (inputs: Inputs, gVec: tf.Tensor, centres: tf.Tensor3D, b: number, training: boolean) => {
    const f = focusAt(inputs, centres, b, training);
    const features = tf.reshape(tf.concat([gVec, f.vectors], 1), [b, t, gWidth + fWidth]) as tf.Tensor3D;
    return { logits: classifier.sequence(features, training), focusLogits: f.logits };
  };
  const ensemble = config.prediction === 'ensemble';
  const focusOnly = config.prediction === 'focus';
  /**
   * The glance as far as the policy's map (the 'focus' prediction needs neither its vector nor its
   * head at inference; a model of the one output runs only the layers that lead to it).
   */
  const glanceMap = deriveModel(
    tf.model({ inputs: glanceView.inputs, outputs: backboneOutputs(glanceView.outputs).map, name: `${glance.name}_map_only` }),
    glance,
  );
  /** Per-frame values [B * T, classes] averaged over frames 1..k for every k, [B, T, classes]. */
  const seenMean = (perFrame: tf.Tensor, b: number): tf.Tensor3D =>
    tf.div(tf.cumsum(tf.reshape(perFrame, [b, t, classes]), 1), tf.range(1, t + 1).reshape([1, t, 1]));
  /** The focus head's log-probabilities averaged over frames 1..k (the 'focus' prediction). */
  const focusAverage = (focusLogits: tf.Tensor2D, b: number): tf.Tensor3D => seenMean(tf.logSoftmax(focusLogits), b);
  /** The prediction after every step [B, T, classes] (config.prediction) from the branch and the glance head's logits. */
  const predict = (r: { logits: tf.Tensor3D; focusLogits: tf.Tensor2D }, gLogits: tf.Tensor, b: number): tf.Tensor3D => {
    if (focusOnly) return focusAverage(r.focusLogits, b);
    if (!ensemble) return r.logits;
    // The same operations in the same order as `step` (running sums of the heads), so that both
    // paths give the same scores and early exit decides the same on either.
    const average = seenMean(tf.add(tf.logSoftmax(gLogits as tf.Tensor2D), tf.logSoftmax(r.focusLogits)), b);
    return tf.div(tf.add(tf.logSoftmax(r.logits), average), 3) as tf.Tensor3D;
  };

  /** All steps of B videos from their inputs (made inside the tidy): the prediction and the centres. */
  const forwardOn = (inputsOf: () => Inputs, b: number, training: boolean, runSeed: number): ForwardResult => {
    const [logits, centres] = tf.tidy(() => {
      const inputs = inputsOf();
      if (focusOnly && !training) {
        // Only what the prediction reads: the glance up to the policy's map, the focus network.
        const c = centresFor(glanceMap.apply(inputs.glance(), { training: false }) as tf.Tensor, b, false, runSeed);
        return [focusAverage(focusAt(inputs, c, b, false).logits, b), c];
      }
      const { map: gMap, vector: gVec, logits: gLogits } = glanceAll(inputs, training);
      const c = centresFor(gMap!, b, training, runSeed);
      return [predict(focusBranch(inputs, gVec!, c, b, training), gLogits!, b), c];
    });
    return { logits: logits as tf.Tensor3D, centres: centres as tf.Tensor3D };
  };

  return {
    config,
    classes,
    steps: t,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      return forwardOn(() => normalised(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D), b, opts.training ?? false, opts.seed ?? seed);
    },
    forwardPixels(pixels, opts = {}) {
      const b = checkPixels(pixels, config);
      return forwardOn(() => fromPixels(pixels), b, false, opts.seed ?? seed);
    },
    loss(frames, labels, stepSeed) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const targets = frameTargets(labels, t, classes);
        const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, logits);
        const inputs = normalised(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D);
        const { map: gMap, vector: gVec, logits: gLogits } = glanceAll(inputs, true);
        const branchLoss = (centres: tf.Tensor3D, withClassifier = true) => {
          if (!withClassifier) return ce(focusAt(inputs, centres, b, true).logits);
          const r = focusBranch(inputs, gVec!, centres, b, true);
          return tf.add(ce(tf.reshape(r.logits, [b * t, classes])), ce(r.focusLogits));
        };
        // The glance head's loss is the same in both branches, so it is counted once.
        const glanceLoss = ce(gLogits!);
        if (source !== 'policy') return tf.add(glanceLoss, branchLoss(centresFor(gMap!, b, true, stepSeed))) as tf.Scalar;
        const learned = branchLoss(centresFor(gMap!, b, true, stepSeed));
        if (config.randomBranch === 'none') return tf.add(glanceLoss, learned) as tf.Scalar;
        const random = branchLoss(tf.randomUniform([b, t, 2], 0, 1, 'float32', stepSeed) as tf.Tensor3D, config.randomBranch === 'all');
        return tf.add(glanceLoss, tf.div(tf.add(learned, random), 2)) as tf.Scalar;
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      return { batch: video.shape[0], step: 0, video, tensors: [policy.initialState(video.shape[0])] };
    },
    beginPixels(batch, frame) {
      return pixelState(batch, frame, (n) => [policy.initialState(n)]);
    },
    step(state, stepSeed, stepOptions = {}) {
      checkStep(state, t);
      const k = state.step;
      const b = state.batch;
      const out = withStepInputs(state, config, normalised, fromPixels, (inputs) => {
        const glanced = focusOnly ? { map: glanceMap.apply(inputs.glance(), { training: false }) as tf.Tensor } : glanceAll(inputs, false);
        const { map: gMap, vector: gVec, logits: gLogits } = glanced as Partial<ReturnType<typeof glanceAll>> & { map: tf.Tensor };
        let centre: tf.Tensor2D;
        let policyState = state.tensors[0] as tf.Tensor2D;
        if (source === 'policy') {
          const r = policy.step(gMap as tf.Tensor4D, policyState, false);
          centre = r.centres;
          policyState = r.state;
        } else if (source === 'random') centre = randomStep(b, k, stepSeed ?? seed);
        else centre = tf.fill([b, 2], 0.5) as tf.Tensor2D;
        const { vectors: fVec, logits: fLogits } = focusOn(focus, inputs.patches(centre), false);
        // What the policy reads, per position (only for a policy that reads it).
        const map = stepOptions.map && source === 'policy' ? (tf.mean(tf.abs(gMap), 3) as tf.Tensor3D) : undefined;
        if (focusOnly) {
          // The running sum of the focus head's log-probabilities; the prediction is its mean.
          const sum = k === 0 ? tf.logSoftmax(fLogits) : tf.add(state.tensors[1]!, tf.logSoftmax(fLogits));
          return { logits: tf.div(sum, k + 1) as tf.Tensor2D, centre, map, tensors: [policyState, sum] };
        }
        const z = classifier.embed(tf.concat([gVec!, fVec], 1) as tf.Tensor2D);
        const running: tf.Tensor2D = k === 0 ? z : (tf.maximum(state.tensors[1]!, z) as tf.Tensor2D);
        const logits = classifier.head(k, running);
        if (!ensemble) return { logits, centre, map, tensors: [policyState, running] };
        // Running sums of the heads' log-probabilities (the ensemble averages them over the frames seen).
        const heads = tf.add(tf.logSoftmax(gLogits as tf.Tensor2D), tf.logSoftmax(fLogits));
        const sum = k === 0 ? heads : tf.add(state.tensors[2]!, heads);
        return { logits: tf.div(tf.add(tf.logSoftmax(logits), tf.div(sum, k + 1)), 3) as tf.Tensor2D, centre, map, tensors: [policyState, running, sum] };
      });
      tf.dispose(state.tensors.filter((x) => !(out.tensors as tf.Tensor[]).includes(x)));
      return {
        logits: out.logits,
        centre: out.centre,
        ...(out.map ? { map: out.map } : {}),
        frames: new Int32Array(b).fill(k),
        state: { ...state, step: k + 1, tensors: out.tensors },
      };
    },
    parts() {
      return { policy: policy.trainableWeights, glance: glance.trainableWeights, focus: focus.trainableWeights, classifier: classifier.trainableWeights };
    },
    models() {
      return {
        glance,
        focus,
        policy_encoder: policy.encoder,
        ...(policy.kind === 'interp' ? { policy_recurrent: policy.recurrent } : {}),
        classifier_mlp: classifier.mlp,
        classifier_heads: classifier.heads,
      };
    },
    gflopsPerStep() {
      const policyMacs = source === 'policy' ? denseMacs(policy.encoder) + (policy.kind === 'interp' ? denseMacs(policy.recurrent) : 0) : 0;
      const macs = focusOnly
        ? // The glance up to the policy's map, the focus network with its head, the policy.
          countFlops(glanceMap).macs + backboneMacs(focus, true) + policyMacs
        : // The heads of the glance and focus networks run at inference only in the ensemble.
          backboneMacs(glance, ensemble) + backboneMacs(focus, ensemble) + policyMacs + denseMacs(classifier.mlp) + denseMacs(classifier.heads) / t;
      return new Array<number>(t).fill(macs / 1e9);
    },
    dispose() {
      glance.dispose();
      focus.dispose();
      policy.dispose();
      classifier.dispose();
    },
  };
}
