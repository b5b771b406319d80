/**
 * AdaFocus V1 (ICCV 2021) as a VideoNet. A glance backbone sees every frame downscaled; the PPO
 * policy (@saccade/policy `rl`) reads its feature map and picks a patch position per frame: a cell
 * of a grid x grid set of positions (or a Gaussian centre, the continuous variant); the patch is
 * cut at whole pixels (the action is not differentiable), the focus backbone sees it, and a GRU
 * classifier over the concatenated glance and focus vectors gives logits after every frame.
 *
 * Training is in three stages (`loss(…, stage)`):
 * 0. the focus network and classifier on uniformly random patches (the glance network frozen
 *    when pretrained, else trained by its own head here);
 * 1. the policy alone by PPO: reward per step = p(true class | policy's patches so far) -
 *    p(true class | random patches so far), discounted returns (gamma 0.7) standardised over the
 *    batch, clipped surrogate + value + entropy terms;
 * 2. the classifier alone on the policy's (sampled) patches.
 * Inference takes the most likely cell (the Gaussian's mean). With `patches: 'random'` every patch
 * is uniformly random (seeded), in training and inference: the paper's ablation of the policy.
 */
import * as tf from '@tensorflow/tfjs';
import { backboneOutputs, namedBackbone } from '@saccade/backbones';
import { createRlPolicy, discountedReturns, ppoLoss, wrapRlPolicy, type RlAction, type RlPolicy } from '@saccade/policy';
import { cropPatches, deriveSeed, Rng, stopGradient } from '@saccade/tensor';

import type { VideoNet } from '../../video_net.js';
import { ConfigError } from '../../errors.js';
import { createGruClassifier, wrapGruClassifier, type GruClassifier } from '../../classifier.js';
import type { AdaFocusV1Config } from './schema.js';
import { v1Stages } from './stages.js';
import { backbone, backboneMacs, checkFrames, checkStep, denseMacs, downscale, focusOn, frameAt, frameTargets, stateVideo } from '../../net_common.js';

/** The policy's action space from the config. */
export function v1Action(c: AdaFocusV1Config): RlAction {
  return c.action === 'discrete' ? { kind: 'discrete', grid: c.grid } : { kind: 'continuous', std: c.actionStd };
}

/**
 * AdaFocus V1's reward for each step of each video (rows of [B*T, classes] logits, video-major):
 * how much more probability the classifier gives the true class with the policy's patches so far
 * than with random patches, p(y | policy) - p(y | random). `targets` are one-hot rows.
 */
export function policyRewards(policyLogits: tf.Tensor2D, randomLogits: tf.Tensor2D, targets: tf.Tensor2D): Float32Array {
  return tf.tidy(() => {
    const trueProb = (logits: tf.Tensor2D) => tf.sum(tf.mul(tf.softmax(logits), targets), 1);
    return tf.sub(trueProb(policyLogits), trueProb(randomLogits)).dataSync() as Float32Array;
  });
}

/** AdaFocus V1's sub-networks. */
export interface AdaFocusV1Parts {
  readonly glance: tf.LayersModel;
  readonly focus: tf.LayersModel;
  readonly policy_encoder: tf.LayersModel;
  readonly policy_recurrent: tf.LayersModel;
  readonly classifier_recurrent: tf.LayersModel;
}

export function createAdaFocusV1(config: AdaFocusV1Config, classes: number, loaded?: AdaFocusV1Parts): VideoNet {
  const { frames: t, frameSize: s, glanceSize: g, patchSize: p, seed } = config;
  const action = v1Action(config);
  let glance: tf.LayersModel;
  let focus: tf.LayersModel;
  let policy: RlPolicy;
  let classifier: GruClassifier;
  if (loaded) {
    ({ glance, focus } = loaded);
    const mapShape = namedBackbone(glance).mapShape;
    policy = wrapRlPolicy(loaded.policy_encoder, loaded.policy_recurrent, config.policyHidden, action, mapShape);
    classifier = wrapGruClassifier(loaded.classifier_recurrent);
  } else {
    const gb = backbone(config.glanceBackbone, config.glanceWidth, g, classes, seed + 1, 'glance', config.pooling);
    const fb = backbone(config.focusBackbone, config.focusWidth, p, classes, seed + 2, 'focus', config.pooling);
    glance = gb.model;
    focus = fb.model;
    policy = createRlPolicy({
      featureShape: gb.featureMapShape,
      action,
      hidden: config.policyHidden,
      encoderChannels: config.policyChannels,
      encoderNorm: config.policyNorm,
      seed: seed + 3,
      name: 'policy',
    });
    classifier = createGruClassifier({ inputWidth: gb.featureWidth + fb.featureWidth, hidden: config.classifierWidth, classes, seed: seed + 4 });
  }
  const mapShape = policy.featureShape;
  const gWidth = namedBackbone(glance).featureWidth;
  const fWidth = namedBackbone(focus).featureWidth;
  const span = s - p;
  /** Whole-pixel patch positions: the top-left corner (position x (frame - patch)) rounded to a pixel, or down as the official get_patch. */
  const toPixel = config.patchSnap === 'floor' ? tf.floor : tf.round;
  const snap = (c: tf.Tensor2D): tf.Tensor2D => (span > 0 ? (tf.div(toPixel(tf.mul(c, span)), span) as tf.Tensor2D) : c);
  const stageKinds = v1Stages(config).map((st) => st.kind);
  const glanceAll = (x: tf.Tensor4D, training: boolean) => backboneOutputs(glance.apply(downscale(x, s, g), { training }) as tf.Tensor[]);
  const mapsOf = (maps: tf.Tensor, b: number) => tf.reshape(maps, [b, t, ...mapShape]) as tf.Tensor5D;

  /** Centres [B, T, 2] (and the actions and their log-probabilities) chosen frame by frame. */
  const rollout = (maps: tf.Tensor5D, mode: 'best' | 'sample', rng: Rng) => {
    const b = maps.shape[0];
    let state = policy.initialState(b);
    const centres: tf.Tensor2D[] = [];
    const actions: tf.Tensor[] = [];
    const logProbs: tf.Tensor1D[] = [];
    for (let k = 0; k < t; k++) {
      const r = policy.act(tf.reshape(tf.slice(maps, [0, k, 0, 0, 0], [b, 1, ...mapShape]), [b, ...mapShape]) as tf.Tensor4D, state, {
        rng,
        deterministic: mode === 'best',
      });
      centres.push(snap(r.centres));
      actions.push(r.actions);
      logProbs.push(r.logProbs);
      state = r.state;
    }
    return { centres: tf.stack(centres, 1) as tf.Tensor3D, actions: tf.stack(actions, 1), logProbs: tf.stack(logProbs, 1) as tf.Tensor2D };
  };
  const randomCentres = (b: number, rng: Rng, steps = t) => snap(tf.tensor2d(rng.uniformArray(b * steps * 2), [b * steps, 2]));
  const random = config.patches === 'random';
  /** Inference with random patches: the centres [B, 2] of step k, from their own seed (forward and step agree). */
  const randomStep = (b: number, k: number, seedArg: number) => randomCentres(b, new Rng(deriveSeed(seedArg, `v1-random-${k}`)), 1);
  /** The classifier's inputs [B, T, glance + focus width] and the focus head's per-frame logits for centres [B*T, 2]. */
  const featuresAt = (x: tf.Tensor4D, gVec: tf.Tensor, centres: tf.Tensor2D, b: number, trainFocus: boolean) => {
    // The frames are inputs: their gradient is skipped.
    const f = focusOn(focus, cropPatches(x, centres, p, { frameGradient: false }), trainFocus);
    const features = tf.reshape(tf.concat([gVec, trainFocus ? f.vectors : stopGradient(f.vectors)], 1), [b, t, gWidth + fWidth]) as tf.Tensor3D;
    return { features, focusLogits: f.logits };
  };
  /** Logits [B, T, classes] and the focus head's per-frame logits for centres [B*T, 2]. */
  const classify = (x: tf.Tensor4D, gVec: tf.Tensor, centres: tf.Tensor2D, b: number, trainFocus: boolean, trainClassifier: boolean) => {
    const f = featuresAt(x, gVec, centres, b, trainFocus);
    return { logits: classifier.sequence(f.features, trainClassifier), focusLogits: f.focusLogits };
  };
  /**
   * The official reward's two sides, logits [B*T, classes] each, in one pass over the steps: the
   * policy's patches, and the baseline: at step k the classifier's state after the policy's
   * patches 0..k-1, stepped with a random patch at k.
   */
  const stepwiseLogits = (policyFeatures: tf.Tensor3D, randomFeatures: tf.Tensor3D) => {
    const [b, , d] = policyFeatures.shape;
    const at = (f: tf.Tensor3D, k: number) => tf.reshape(tf.slice(f, [0, k, 0], [b, 1, d]), [b, d]) as tf.Tensor2D;
    let state = classifier.initialState(b);
    const policyOut: tf.Tensor2D[] = [];
    const baselineOut: tf.Tensor2D[] = [];
    for (let k = 0; k < t; k++) {
      baselineOut.push(classifier.step(at(randomFeatures, k), state).logits);
      const next = classifier.step(at(policyFeatures, k), state);
      policyOut.push(next.logits);
      state = next.state;
    }
    const rows = (out: tf.Tensor2D[]) => tf.reshape(tf.stack(out, 1), [b * t, classes]) as tf.Tensor2D;
    return { policy: rows(policyOut), baseline: rows(baselineOut) };
  };

  return {
    config,
    classes,
    steps: t,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      const [logits, centres] = tf.tidy(() => {
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const { map: gMap, vector: gVec } = glanceAll(x, false);
        // Random patches: step k's centres from their own seed, as `step` draws them.
        const c = random
          ? (tf.stack(
              Array.from({ length: t }, (_, k) => randomStep(b, k, opts.seed ?? seed)),
              1,
            ) as tf.Tensor3D)
          : rollout(mapsOf(gMap!, b), 'best', new Rng(0)).centres;
        return [classify(x, gVec!, tf.reshape(c, [b * t, 2]) as tf.Tensor2D, b, false, opts.training ?? false).logits, c];
      });
      return { logits: logits as tf.Tensor3D, centres: centres as tf.Tensor3D };
    },
    loss(frames, labels, stepSeed, stage = 0) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const rng = new Rng(deriveSeed(stepSeed, 'v1'));
        const targets = frameTargets(labels, t, classes);
        const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, tf.reshape(logits, [b * t, classes]));
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const kind = stageKinds[stage] ?? 'focus';
        if (kind === 'backbones') {
          // The paper's stage 0: each backbone a frame classifier on whole frames, on the mean of its
          // per-frame logits. Saccade's backbones take one input size: the focus network sees the
          // frames resized to its patch size (the official ResNet-50 sees them at 224 px).
          const videoCe = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), tf.mean(tf.reshape(logits, [b, t, classes]), 1));
          const gl = glanceAll(x, true).logits!;
          const fl = backboneOutputs(focus.apply(downscale(x, s, p), { training: true }) as tf.Tensor[]).logits!;
          return tf.add(videoCe(gl), videoCe(fl)) as tf.Scalar;
        }
        const trainGlance = kind === 'focus' && !config.pretrained && config.backboneEpochs === 0;
        const { map: gMap, vector: gVecRaw, logits: gLogits } = glanceAll(x, trainGlance);
        const gVec = trainGlance ? gVecRaw! : stopGradient(gVecRaw!);
        if (kind === 'focus') {
          const r = classify(x, gVec, randomCentres(b, rng), b, true, true);
          const loss = config.focusHeadLoss ? tf.add(ce(r.logits), ce(r.focusLogits)) : ce(r.logits);
          return (trainGlance ? tf.add(loss, ce(gLogits!)) : loss) as tf.Scalar;
        }
        if (random) {
          if (kind === 'policy') throw new ConfigError('patches', 'random: AdaFocus V1 with random patches has no policy to train (stage 2)');
          return ce(classify(x, gVec, randomCentres(b, rng), b, false, true).logits) as tf.Scalar;
        }
        const maps = mapsOf(stopGradient(gMap!), b);
        if (kind === 'classifier') {
          // Stage 3: the policy's sampled patches, or (the paper) its most likely ones.
          const roll = rollout(maps, config.finetunePatches === 'best' ? 'best' : 'sample', rng);
          return ce(classify(x, gVec, tf.reshape(roll.centres, [b * t, 2]) as tf.Tensor2D, b, false, true).logits) as tf.Scalar;
        }
        // Stage 2: PPO on the policy.
        const roll = rollout(maps, 'sample', rng);
        const policyFeatures = featuresAt(x, gVec, tf.reshape(roll.centres, [b * t, 2]) as tf.Tensor2D, b, false).features;
        const randomFeatures = featuresAt(x, gVec, randomCentres(b, rng), b, false).features;
        const sequence = (f: tf.Tensor3D) => tf.reshape(classifier.sequence(f, false), [b * t, classes]) as tf.Tensor2D;
        const sides =
          config.reward === 'random-patch'
            ? stepwiseLogits(policyFeatures, randomFeatures)
            : { policy: sequence(policyFeatures), baseline: sequence(randomFeatures) };
        const rewards = policyRewards(sides.policy, sides.baseline, targets);
        const returns = tf.tensor2d(discountedReturns(rewards, b, t, config.gamma, true), [b, t]);
        // Scored in the mode the rollout sampled in (batch norm on its running statistics), so that the
        // first PPO ratio is exactly 1.
        const e = policy.evaluate(maps, roll.actions, false);
        return ppoLoss(
          { logProbs: e.logProbs, oldLogProbs: roll.logProbs, values: e.values, returns, entropy: e.entropy },
          { clip: config.ppoClip, valueCoef: config.valueCoef, entropyCoef: config.entropyCoef },
        );
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      const b = video.shape[0];
      return { batch: b, step: 0, video, tensors: [policy.initialState(b), classifier.initialState(b)] };
    },
    step(state, stepSeed, stepOptions = {}) {
      checkStep(state, t);
      const k = state.step;
      const out = tf.tidy(() => {
        const frame = frameAt(stateVideo(state), k);
        const { map: gMap, vector: gVec } = glanceAll(frame, false);
        let policyState = state.tensors[0] as tf.Tensor2D;
        let centre: tf.Tensor2D;
        let map: tf.Tensor3D | undefined;
        if (random) centre = randomStep(state.batch, k, stepSeed ?? seed);
        else {
          if (stepOptions.map) map = policy.distribution(gMap as tf.Tensor4D, policyState);
          const r = policy.act(gMap as tf.Tensor4D, policyState, { rng: new Rng(0), deterministic: true });
          centre = snap(r.centres);
          policyState = r.state;
        }
        const fVec = namedBackbone(focus).apply(cropPatches(frame, centre, p)).vector;
        const c = classifier.step(tf.concat([gVec!, fVec!], 1) as tf.Tensor2D, state.tensors[1] as tf.Tensor2D);
        return { logits: c.logits, centre, map, tensors: [policyState, c.state] };
      });
      tf.dispose(state.tensors.filter((x) => !(out.tensors as tf.Tensor[]).includes(x)));
      return {
        logits: out.logits,
        centre: out.centre,
        ...(out.map ? { map: out.map } : {}),
        frames: new Int32Array(state.batch).fill(k),
        state: { ...state, step: k + 1, tensors: out.tensors },
      };
    },
    parts() {
      return { policy: policy.trainableWeights, glance: glance.trainableWeights, focus: focus.trainableWeights, classifier: classifier.trainableWeights };
    },
    models() {
      return { glance, focus, policy_encoder: policy.encoder, policy_recurrent: policy.recurrent, classifier_recurrent: classifier.recurrent };
    },
    gflopsPerStep() {
      const macs =
        backboneMacs(glance, false) +
        backboneMacs(focus, false) +
        (random ? 0 : denseMacs(policy.encoder) + denseMacs(policy.recurrent)) +
        denseMacs(classifier.recurrent);
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
