/**
 * AdaFocus V3 (ECCV 2022) / Uni-AdaFocus as a VideoNet: the focus network sees a spatio-temporal
 * cube, one patch position (where) in K of the T frames (when). The glance backbone sees all T
 * frames downscaled first; the cube policy (@saccade/policy `cube`) reads the stack of glance maps
 * for the centre and the glance vectors for a distribution over frames, from which K frames are
 * drawn by inverse CDF (stratified in training, stratum midpoints in evaluation). The focus network
 * sees the K patches (cut at the detached centre); AdaFocusV2's step classifier fuses each with the
 * glance vectors max-pooled over all T frames, cumulative max over the K steps, one head per step.
 *
 * The policies learn through feature-level proxies (the focus crops use detached actions): the
 * cube's region cut from every glance map (differentiable in the centre) classified by an auxiliary
 * head (`policy_proxy`), and the glance logits weighted by the frame distribution. Loss: CE of every
 * step + per-frame glance head + focus head on the chosen frames + both proxies.
 *
 * Steps are the K focus frames: step 1 also pays for the glance over all T frames and the policies,
 * so an early exit after step k saves K - k focus passes.
 */
import * as tf from '@tensorflow/tfjs';
import { namedBackbone } from '@saccade/backbones';
import { createCubePolicy, sampleFrames, seededDense, spatialProxy, temporalProxy, wrapCubePolicy, type CubePolicy } from '@saccade/policy';
import { cropPatches, deriveSeed, Rng, stopGradient } from '@saccade/tensor';

import type { VideoNet } from '../../video_net.js';
import { createStepClassifier, wrapStepClassifier, type StepClassifier } from '../../classifier.js';
import type { AdaFocusV3Config } from './schema.js';
import { backbone, backboneMacs, checkFrames, checkStep, denseMacs, downscale, frameTargets, stateVideo } from '../../net_common.js';

/** AdaFocus V3's sub-networks. */
export interface AdaFocusV3Parts {
  readonly glance: tf.LayersModel;
  readonly focus: tf.LayersModel;
  readonly policy_spatial: tf.LayersModel;
  readonly policy_temporal: tf.LayersModel;
  readonly policy_proxy: tf.LayersModel;
  readonly classifier_mlp: tf.LayersModel;
  readonly classifier_heads: tf.LayersModel;
}

export function createAdaFocusV3(config: AdaFocusV3Config, classes: number, loaded?: AdaFocusV3Parts): VideoNet {
  const { frames: t, frameSize: s, glanceSize: g, patchSize: p, focusFrames: k, seed } = config;
  let glance: tf.LayersModel;
  let focus: tf.LayersModel;
  let policy: CubePolicy;
  let proxy: tf.LayersModel;
  let classifier: StepClassifier;
  if (loaded) {
    ({ glance, focus } = loaded);
    const mapShape = namedBackbone(glance).mapShape;
    policy = wrapCubePolicy(loaded.policy_spatial, loaded.policy_temporal, { featureShape: mapShape, frames: t });
    proxy = loaded.policy_proxy;
    classifier = wrapStepClassifier(loaded.classifier_mlp, loaded.classifier_heads);
  } else {
    const gb = backbone(config.glanceBackbone, config.glanceWidth, g, classes, seed + 1, 'glance', config.pooling);
    const fb = backbone(config.focusBackbone, config.focusWidth, p, classes, seed + 2, 'focus', config.pooling);
    glance = gb.model;
    focus = fb.model;
    policy = createCubePolicy({
      featureShape: gb.featureMapShape,
      vectorWidth: gb.featureWidth,
      frames: t,
      hidden: config.policyHidden,
      seed: seed + 3,
      name: 'policy',
    });
    const rng = new Rng(seed + 5);
    const region = tf.input({ shape: [gb.featureMapShape[2]], name: 'region' });
    proxy = tf.model({ inputs: region, outputs: seededDense(classes, rng, 'proxy_head').apply(region) as tf.SymbolicTensor, name: 'policy_proxy' });
    classifier = createStepClassifier({
      inputWidth: gb.featureWidth + fb.featureWidth,
      width: config.classifierWidth,
      steps: k,
      classes,
      dropout: config.dropout,
      seed: seed + 4,
    });
  }
  const mapShape = policy.featureShape;
  const G = namedBackbone(glance);
  const F = namedBackbone(focus);
  const gWidth = G.featureWidth;
  const fWidth = F.featureWidth;

  /** Glance over all frames and both policies' actions: the cube of every video. */
  const plan = (frames: tf.Tensor5D, training: boolean, mode: 'stratified' | 'midpoint', rng?: Rng) => {
    const b = frames.shape[0];
    const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
    const { map: gMap, vector: gVec, logits: gLogits } = G.apply(downscale(x, s, g), training);
    const maps = tf.reshape(gMap!, [b, t, ...mapShape]) as tf.Tensor5D;
    const vectors = tf.reshape(gVec!, [b, t, gWidth]) as tf.Tensor3D;
    const { centres } = policy.where(maps, training);
    const probs = policy.when(vectors, training);
    const indices = sampleFrames(probs.dataSync() as Float32Array, b, t, k, mode, rng);
    return { x, maps, vectors, gLogits: gLogits!, centres, probs, indices, context: tf.max(vectors, 1) as tf.Tensor2D };
  };
  /** The K patches [B*K, P, P, 3] of every video's cube. */
  const cubePatches = (x: tf.Tensor4D, centres: tf.Tensor2D, indices: Int32Array, b: number) => {
    const rows = tf.tensor1d(
      Array.from(indices, (f, i) => Math.floor(i / k) * t + f),
      'int32',
    );
    const perPatch = tf.reshape(tf.tile(tf.expandDims(stopGradient(centres), 1), [1, k, 1]), [b * k, 2]) as tf.Tensor2D;
    return cropPatches(tf.gather(x, rows) as tf.Tensor4D, perPatch, p, { frameGradient: false });
  };
  const fuse = (context: tf.Tensor2D, fVec: tf.Tensor, b: number) =>
    tf.concat([tf.reshape(tf.tile(tf.expandDims(context, 1), [1, k, 1]), [b * k, gWidth]), fVec], 1) as tf.Tensor2D;

  return {
    config,
    classes,
    steps: k,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      const training = opts.training ?? false;
      const out = tf.tidy(() => {
        const c = plan(frames, training, 'midpoint');
        const fVec = F.apply(cubePatches(c.x, c.centres, c.indices, b), training).vector;
        const logits = classifier.sequence(tf.reshape(fuse(c.context, fVec!, b), [b, k, gWidth + fWidth]) as tf.Tensor3D, training);
        return {
          logits,
          centres: tf.tile(tf.expandDims(c.centres, 1), [1, k, 1]) as tf.Tensor3D,
          frameIndices: tf.tensor2d(c.indices, [b, k], 'int32'),
          frameProbs: c.probs as tf.Tensor2D,
        };
      });
      return out;
    },
    loss(frames, labels, stepSeed) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const c = plan(frames, true, 'stratified', new Rng(deriveSeed(stepSeed, 'v3-frames')));
        const { vector: fVec, logits: fLogits } = F.apply(cubePatches(c.x, c.centres, c.indices, b), true);
        const logits = classifier.sequence(tf.reshape(fuse(c.context, fVec!, b), [b, k, gWidth + fWidth]) as tf.Tensor3D, true);
        const perStep = frameTargets(labels, k, classes);
        const perFrame = frameTargets(labels, t, classes);
        const ce = (targets: tf.Tensor, l: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, l);
        const main = ce(perStep, tf.reshape(logits, [b * k, classes]));
        const aux = tf.add(ce(perFrame, c.gLogits), ce(perStep, fLogits!));
        const region = spatialProxy(c.maps, c.centres, p / s);
        const spatial = ce(perFrame, proxy.apply(tf.reshape(region, [b * t, mapShape[2]]), { training: true }) as tf.Tensor);
        const temporal = ce(tf.oneHot(labels, classes), temporalProxy(tf.reshape(c.gLogits, [b, t, classes]) as tf.Tensor3D, c.probs));
        return tf.addN([main, aux, spatial, temporal]) as tf.Scalar;
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      return { batch: video.shape[0], step: 0, video, tensors: [] };
    },
    step(state) {
      checkStep(state, k);
      const j = state.step;
      const b = state.batch;
      const out = tf.tidy(() => {
        let [context, centres] = state.tensors as tf.Tensor2D[];
        let indices = state.frames;
        if (j === 0) {
          const c = plan(stateVideo(state), false, 'midpoint');
          context = c.context;
          centres = c.centres;
          indices = c.indices;
        }
        const rows = tf.tensor1d(
          Array.from({ length: b }, (_, v) => v * t + indices![v * k + j]!),
          'int32',
        );
        const chosen = tf.gather(tf.reshape(stateVideo(state), [b * t, s, s, 3]), rows) as tf.Tensor4D;
        const fVec = F.apply(cropPatches(chosen, centres!, p)).vector;
        const z = classifier.embed(tf.concat([context!, fVec!], 1) as tf.Tensor2D);
        const running: tf.Tensor2D = j === 0 ? z : (tf.maximum(state.tensors[2]! as tf.Tensor2D, z) as tf.Tensor2D);
        return { logits: classifier.head(j, running), centre: tf.clone(centres!), tensors: [context!, centres!, running] as tf.Tensor[], indices: indices! };
      });
      tf.dispose(state.tensors.filter((x) => !out.tensors.includes(x)));
      const frames = Int32Array.from({ length: b }, (_, v) => out.indices[v * k + j]!);
      return { logits: out.logits, centre: out.centre, frames, state: { ...state, step: j + 1, tensors: out.tensors, frames: out.indices } };
    },
    parts() {
      return {
        policy: [...policy.trainableWeights, ...proxy.trainableWeights],
        glance: glance.trainableWeights,
        focus: focus.trainableWeights,
        classifier: classifier.trainableWeights,
      };
    },
    models() {
      return {
        glance,
        focus,
        policy_spatial: policy.spatial,
        policy_temporal: policy.temporal,
        policy_proxy: proxy,
        classifier_mlp: classifier.mlp,
        classifier_heads: classifier.heads,
      };
    },
    gflopsPerStep() {
      const focusStep = backboneMacs(focus, false) + denseMacs(classifier.mlp) + denseMacs(classifier.heads) / k;
      const first = t * backboneMacs(glance, false) + denseMacs(policy.spatial) + denseMacs(policy.temporal);
      return Array.from({ length: k }, (_, j) => ((j === 0 ? first : 0) + focusStep) / 1e9);
    },
    dispose() {
      glance.dispose();
      focus.dispose();
      policy.dispose();
      proxy.dispose();
      classifier.dispose();
    },
  };
}
