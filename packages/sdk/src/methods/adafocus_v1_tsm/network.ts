/**
 * AdaFocus V1 as its official Something-Something code builds it (blackfeather-wang/AdaFocus,
 * "Experiments on Something-Something V1&V2": models/gfv_net.py with video_div 1), as a VideoNet
 * of one step. Both backbones are TSM networks (@saccade/backbones' temporal shift, fold 1/8):
 * they see a whole clip at once and mix neighbouring frames inside, so the clip is one step:
 * - the glance (MobileNetV2 with TSM) sees `glanceFrames` of the clip's frames (TSN's test-time
 *   segment sampling), resized to `glanceSize` by nearest neighbour as the official interpolate;
 * - the policy reads their feature maps stacked along the channels ((frame, channel) order: the
 *   official view(B, -1, H, W)) and gives one patch position for the clip: the mean of a Gaussian
 *   (continuous) or a grid cell (discrete), its corner floored to a pixel as the official get_patch;
 * - the focus network (ResNet-50 with TSM) sees that patch of every frame; its head's logits,
 *   averaged over the frames, plus the glance head's averaged over the glance frames, are the
 *   prediction (with_glancer).
 * Training in three stages as AdaFocus V1: the backbones on random positions, the policy by PPO
 * (reward: p(true class) with the policy's patch minus with a random one's, standardised over the
 * batch), and the focus network on the policy's patches. With `patches: 'random'` every position
 * is uniformly random (seeded).
 */
import * as tf from '@tensorflow/tfjs';
import { backboneOutputs, createBackbone, namedBackbone } from '@saccade/backbones';
import { createRlPolicy, discountedReturns, ppoLoss, wrapRlPolicy, type RlAction, type RlPolicy } from '@saccade/policy';
import { cropPatches, deriveSeed, Rng, stopGradient } from '@saccade/tensor';

import type { TrainingStage } from '../../config/base.js';
import { ConfigError } from '../../errors.js';
import type { ForwardResult, VideoNet } from '../../video_net.js';
import { backboneMacs, checkFrames, checkStep, denseMacs, stateVideo } from '../../net_common.js';
import { policyRewards } from '../adafocus_v1/network.js';
import { ppoStage } from '../adafocus_v1/stages.js';
import type { AdaFocusV1TsmConfig } from './schema.js';

/** The frames of a clip of `frames` that the glance sees: TSN's test-time sampling of `glanceFrames` segments. */
export function glanceIndices(frames: number, glanceFrames: number): number[] {
  const tick = frames / glanceFrames;
  return Array.from({ length: glanceFrames }, (_, i) => Math.floor(tick / 2 + tick * i));
}

type StageKind = 'focus' | 'policy' | 'classifier';

export function tsmStages(c: AdaFocusV1TsmConfig): (TrainingStage & { kind: StageKind })[] {
  const random = c.patches === 'random';
  return (
    [
      {
        kind: 'focus' as const,
        name: 'stage 1: backbones, random patches',
        epochs: c.epochs,
        parts: c.pretrained ? ['focus'] : ['glance', 'focus'],
      },
      ppoStage(c),
      {
        kind: 'classifier' as const,
        name: `stage 3: focus network, ${random ? 'random' : "the policy's"} patches`,
        epochs: c.finetuneEpochs,
        parts: ['focus'],
      },
    ] satisfies (TrainingStage & { kind: StageKind })[]
  ).slice(0, c.stages);
}

/** The Something-Something AdaFocus V1's sub-networks. */
export interface AdaFocusV1TsmParts {
  readonly glance: tf.LayersModel;
  readonly focus: tf.LayersModel;
  readonly policy_encoder: tf.LayersModel;
  readonly policy_recurrent: tf.LayersModel;
}

export function createAdaFocusV1Tsm(config: AdaFocusV1TsmConfig, classes: number, loaded?: AdaFocusV1TsmParts): VideoNet {
  const { frames: t, glanceFrames: tg, frameSize: s, glanceSize: g, patchSize: p, seed } = config;
  const action: RlAction = config.action === 'discrete' ? { kind: 'discrete', grid: config.grid } : { kind: 'continuous', std: config.actionStd };
  let glance: tf.LayersModel;
  let focus: tf.LayersModel;
  let policy: RlPolicy;
  if (loaded) {
    ({ glance, focus } = loaded);
    const shape = loaded.policy_encoder.inputs[0]!.shape.slice(1) as [number, number, number];
    policy = wrapRlPolicy(loaded.policy_encoder, loaded.policy_recurrent, config.policyHidden, action, shape);
  } else {
    const common = { pooling: config.pooling, numClasses: classes };
    const gb = createBackbone(config.glanceBackbone, {
      ...common,
      inputSize: g,
      width: config.glanceWidth,
      seed: seed + 1,
      name: 'glance',
      temporalShift: { segments: tg, div: config.shiftDiv },
    });
    const fb = createBackbone(config.focusBackbone, {
      ...common,
      inputSize: p,
      width: config.focusWidth,
      dropout: config.dropout,
      seed: seed + 2,
      name: 'focus',
      temporalShift: { segments: t, div: config.shiftDiv },
    });
    glance = gb.model;
    focus = fb.model;
    const [mh, mw, mc] = gb.featureMapShape;
    policy = createRlPolicy({
      featureShape: [mh, mw, tg * mc],
      action,
      hidden: config.policyHidden,
      encoderChannels: config.policyChannels,
      encoderNorm: config.policyNorm,
      encoderFcNorm: config.policyNorm,
      seed: seed + 3,
      name: 'policy',
    });
  }
  const chosen = glanceIndices(t, tg);
  const span = s - p;
  /** Centres [B, 2] with the patch corner floored to a pixel (the official get_patch: floor(position x (frame - patch))). */
  const snap = (c: tf.Tensor2D): tf.Tensor2D => (span > 0 ? (tf.div(tf.floor(tf.mul(c, span)), span) as tf.Tensor2D) : c);
  const random = config.patches === 'random';
  const randomCentres = (b: number, rng: Rng) => snap(tf.tensor2d(rng.uniformArray(b * 2), [b, 2]));
  const stageKinds = tsmStages(config).map((st) => st.kind);

  /** The glance on the clip's glance frames: map [B * tg, h, w, c], logits [B * tg, classes]. */
  const glanceOf = (video: tf.Tensor5D, training: boolean) => {
    const b = video.shape[0];
    const x = tf.reshape(tf.gather(video, tf.tensor1d(chosen, 'int32'), 1), [b * tg, s, s, 3]) as tf.Tensor4D;
    const small = g === s ? x : tf.image.resizeNearestNeighbor(x, [g, g]);
    const o = backboneOutputs(glance.apply(small, { training }) as tf.Tensor[]);
    return { map: o.map!, logits: o.logits! };
  };
  /** The policy's input [B, h, w, tg * c]: the glance frames' maps stacked along the channels, frame-major. */
  const stacked = (map: tf.Tensor, b: number): tf.Tensor4D => {
    const [, h, w, c] = map.shape as number[];
    return tf.reshape(tf.transpose(tf.reshape(map, [b, tg, h!, w!, c!]), [0, 2, 3, 1, 4]), [b, h!, w!, tg * c!]) as tf.Tensor4D;
  };
  const policyCentres = (maps: tf.Tensor4D, rng: Rng, deterministic: boolean) => {
    const r = policy.act(maps, policy.initialState(maps.shape[0]), { rng, deterministic });
    return { ...r, centres: snap(r.centres) };
  };
  /** The clip's logits [B, classes] with one patch position per clip (centres [B, 2]). */
  const clipLogits = (video: tf.Tensor5D, centres: tf.Tensor2D, glanceLogits: tf.Tensor, trainFocus: boolean): tf.Tensor2D => {
    const b = video.shape[0];
    const x = tf.reshape(video, [b * t, s, s, 3]) as tf.Tensor4D;
    const each = tf.reshape(tf.tile(tf.expandDims(centres, 1), [1, t, 1]), [b * t, 2]) as tf.Tensor2D;
    // The frames are inputs: their gradient is skipped.
    const f = namedBackbone(focus).apply(cropPatches(x, each, p, { frameGradient: false }), trainFocus).logits!;
    const focusMean = tf.mean(tf.reshape(f, [b, t, classes]), 1);
    return (config.withGlance ? tf.add(focusMean, tf.mean(tf.reshape(glanceLogits, [b, tg, classes]), 1)) : focusMean) as tf.Tensor2D;
  };
  /** Inference on videos [B, T, S, S, 3]: logits [B, classes], centres [B, 2], and the policy's grid map when asked. */
  const infer = (video: tf.Tensor5D, seedArg: number, withMap: boolean) => {
    const b = video.shape[0];
    const gl = glanceOf(video, false);
    let centres: tf.Tensor2D;
    let map: tf.Tensor3D | undefined;
    if (random) centres = randomCentres(b, new Rng(deriveSeed(seedArg, 'v1-tsm-random')));
    else {
      const maps = stacked(gl.map, b);
      if (withMap) map = policy.distribution(maps, policy.initialState(b));
      centres = policyCentres(maps, new Rng(0), true).centres;
    }
    return { logits: clipLogits(video, centres, gl.logits, false), centres, map };
  };
  const lastFrame = (b: number) => new Int32Array(b).fill(t - 1);

  return {
    config,
    classes,
    steps: 1,
    forward(frames, opts = {}): ForwardResult {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      const [logits, centres, frameIndices] = tf.tidy(() => {
        const r = infer(frames, opts.seed ?? seed, false);
        return [tf.expandDims(r.logits, 1), tf.expandDims(r.centres, 1), tf.tensor2d(lastFrame(b), [b, 1], 'int32')];
      });
      return { logits: logits as tf.Tensor3D, centres: centres as tf.Tensor3D, frameIndices: frameIndices as tf.Tensor2D };
    },
    loss(frames, labels, stepSeed, stage = 0) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const rng = new Rng(deriveSeed(stepSeed, 'v1-tsm'));
        const targets = tf.oneHot(labels, classes) as tf.Tensor2D;
        const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, logits);
        const kind = stageKinds[stage] ?? 'focus';
        if (kind === 'focus') {
          const trainGlance = !config.pretrained;
          const gl = glanceOf(frames, trainGlance);
          const loss = ce(clipLogits(frames, randomCentres(b, rng), trainGlance ? gl.logits : stopGradient(gl.logits), true));
          return (trainGlance ? tf.add(loss, ce(tf.mean(tf.reshape(gl.logits, [b, tg, classes]), 1))) : loss) as tf.Scalar;
        }
        const gl = glanceOf(frames, false);
        const glanceLogits = stopGradient(gl.logits);
        const maps = stacked(stopGradient(gl.map), b);
        if (kind === 'classifier') {
          const centres = random ? randomCentres(b, rng) : policyCentres(maps, rng, true).centres;
          return ce(clipLogits(frames, centres, glanceLogits, true)) as tf.Scalar;
        }
        if (random) throw new ConfigError('patches', 'random: this AdaFocus V1 with random patches has no policy to train (stage 2)');
        // Stage 2: PPO on one step per clip. Scored in the mode the rollout sampled in, so that the first ratio is exactly 1.
        const roll = policyCentres(maps, rng, false);
        const rewards = policyRewards(
          clipLogits(frames, roll.centres, glanceLogits, false),
          clipLogits(frames, randomCentres(b, rng), glanceLogits, false),
          targets,
        );
        const returns = tf.tensor2d(discountedReturns(rewards, b, 1, 0, true), [b, 1]);
        const e = policy.evaluate(tf.expandDims(maps, 1) as tf.Tensor5D, tf.expandDims(roll.actions, 1), false);
        return ppoLoss(
          { logProbs: e.logProbs, oldLogProbs: tf.expandDims(roll.logProbs, 1) as tf.Tensor2D, values: e.values, returns, entropy: e.entropy },
          { clip: config.ppoClip, valueCoef: config.valueCoef, entropyCoef: config.entropyCoef },
        );
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      return { batch: video.shape[0], step: 0, video, tensors: [] };
    },
    step(state, stepSeed, stepOptions = {}) {
      checkStep(state, 1);
      const out = tf.tidy(() => infer(stateVideo(state), stepSeed ?? seed, stepOptions.map ?? false));
      return {
        logits: out.logits,
        centre: out.centres,
        ...(out.map ? { map: out.map } : {}),
        frames: lastFrame(state.batch),
        state: { ...state, step: 1, tensors: [] },
      };
    },
    parts() {
      return { policy: policy.trainableWeights, glance: glance.trainableWeights, focus: focus.trainableWeights };
    },
    models() {
      return { glance, focus, policy_encoder: policy.encoder, policy_recurrent: policy.recurrent };
    },
    gflopsPerStep() {
      // Every backbone's head runs at inference (the prediction is the heads' averages).
      const macs =
        backboneMacs(glance, config.withGlance) * tg + backboneMacs(focus, true) * t + (random ? 0 : denseMacs(policy.encoder) + denseMacs(policy.recurrent));
      return [macs / 1e9];
    },
    dispose() {
      glance.dispose();
      focus.dispose();
      policy.dispose();
    },
  };
}
