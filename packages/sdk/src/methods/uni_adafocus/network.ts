/**
 * Uni-AdaFocus (Wang et al., TPAMI 2024; AdaFocus V3's public successor) as a VideoNet.
 *
 * The glance backbone sees Tg of the T frames (one per segment: a random one in training, the
 * official fixed one in evaluation). The spatial policy (@saccade/policy `buildUniModels`: 3-D
 * convolutions over the stack of glance maps, gradient stopped) gives a patch centre and a box size
 * per glance frame, interpolated linearly to all T frames; the temporal policy (temporal
 * convolutions over the glance vectors) a distribution over time, from which K distinct frames are
 * drawn by interpolated inverse CDF. The focus network sees the K boxes (detached actions), each
 * resampled to patchSize (`cropBoxes`). The classifier (official PoolingClassifier) max-pools the
 * glance embeddings over the glance frames (one head per glance step) and the focus embeddings over
 * the focus steps, each focus head reading [its running max, the glance's].
 *
 * Steps: step 0 is the glance-only exit (the last glance head: Tg glance frames, no patch); steps
 * 1..K add one focus frame each (step 1 also runs both policies). Its forward gives K + 1 steps.
 *
 * Training (official main.py): cross-entropy of every glance and focus head of the classifier, the
 * glance backbone's head on each glance frame, the focus backbone's head on each patch; the
 * temporal policy learns through the Monte-Carlo temporal proxy (glance logits under its
 * distribution with frames left out), the spatial policy through the spatial proxy (its box cut out
 * of the glance maps, averaged, an auxiliary head) and the scale-norm loss (box sizes pulled towards
 * the largest). With `randomBranch` the focus network and classifier also see random-centre patches
 * of the patch's own side, and the branch losses are averaged as the official code does.
 *
 * Saccade's additions (off for imported official checkpoints): `spatialPrior` reads the spatial
 * policy's centres as offsets from where each glance map peaks (its last convolution starts at
 * zero), `temporalPrior` adds the glance's confidence per frame to the temporal logits,
 * `spatialGradient: 'crop'` lets the learned branch's losses reach the spatial policy through the
 * crop, and the 'frames' / 'focus' predictions average the backbones' heads instead of the
 * classifier's.
 */
import * as tf from '@tensorflow/tfjs';
import { namedBackbone } from '@saccade/backbones';
import {
  actionBoxes,
  buildUniModels,
  glanceConfidence,
  interpolateFrames,
  inverseCdfFrames,
  mcTemporalProxy,
  priorActions,
  saliencyPositions,
  seededDense,
} from '@saccade/policy';
import { cropBoxes, deriveSeed, Rng, stopGradient } from '@saccade/tensor';

import type { VideoNet } from '../../video_net.js';
import { createStepClassifier, wrapStepClassifier, type StepClassifier } from '../../classifier.js';
import { backbone, backboneMacs, checkFrames, checkStep, denseMacs, downscale, frameTargets, policyMapCells, stateVideo } from '../../net_common.js';
import { boxSides, glanceIndices, type UniAdaFocusConfig } from './schema.js';

/** The focus network's patches: cut at detached actions from input frames, so without a gradient (the fast crop). */
const CONSTANT = { gradient: false } as const;

/** Uni-AdaFocus's sub-networks. */
export interface UniAdaFocusParts {
  readonly glance: tf.LayersModel;
  readonly focus: tf.LayersModel;
  readonly policy_spatial: tf.LayersModel;
  readonly policy_temporal: tf.LayersModel;
  readonly policy_proxy: tf.LayersModel;
  readonly classifier_glance_mlp: tf.LayersModel;
  readonly classifier_glance_heads: tf.LayersModel;
  readonly classifier_focus_mlp: tf.LayersModel;
  readonly classifier_focus_heads: tf.LayersModel;
}

export function createUniAdaFocus(config: UniAdaFocusConfig, classes: number, loaded?: UniAdaFocusParts): VideoNet {
  const { frames: t, frameSize: s, glanceSize: g, patchSize: p, glanceFrames: tg, focusFrames: k, seed } = config;
  const [sideMin, sideMax] = boxSides(config);
  let parts: UniAdaFocusParts;
  if (loaded) parts = loaded;
  else {
    const gb = backbone(config.glanceBackbone, config.glanceWidth, g, classes, seed + 1, 'glance', config.pooling);
    const fb = backbone(config.focusBackbone, config.focusWidth, p, classes, seed + 2, 'focus', config.pooling);
    const { spatial, temporal } = buildUniModels({
      featureShape: gb.featureMapShape,
      vectorWidth: gb.featureWidth,
      glanceFrames: tg,
      spatialHidden: config.spatialHidden,
      temporalHidden: config.temporalHidden,
      seed: seed + 3,
      name: 'policy',
      spatialHeadInit: config.spatialPrior > 0 ? 'zeros' : 'he',
      temporalHeadInit: config.temporalPrior > 0 ? 'zeros' : 'he',
    });
    const region = tf.input({ shape: [gb.featureWidth], name: 'region' });
    const proxy = tf.model({
      inputs: region,
      outputs: seededDense(classes, new Rng(seed + 5), 'proxy_head').apply(region) as tf.SymbolicTensor,
      name: 'policy_proxy',
    });
    const common = { width: config.classifierWidth, classes, dropout: config.dropout };
    const gc = createStepClassifier({ ...common, inputWidth: gb.featureWidth, steps: tg, seed: seed + 4, name: 'classifier_glance' });
    const fc = createStepClassifier({
      ...common,
      inputWidth: fb.featureWidth,
      steps: k,
      seed: seed + 6,
      headInput: 2 * config.classifierWidth,
      name: 'classifier_focus',
    });
    parts = {
      glance: gb.model,
      focus: fb.model,
      policy_spatial: spatial,
      policy_temporal: temporal,
      policy_proxy: proxy,
      classifier_glance_mlp: gc.mlp,
      classifier_glance_heads: gc.heads,
      classifier_focus_mlp: fc.mlp,
      classifier_focus_heads: fc.heads,
    };
  }
  const G = namedBackbone(parts.glance);
  const F = namedBackbone(parts.focus);
  const mapShape = G.mapShape;
  const gWidth = G.featureWidth;
  const width = parts.classifier_glance_mlp.outputs[0]!.shape[1] as number;
  const glanceCls: StepClassifier = wrapStepClassifier(parts.classifier_glance_mlp, parts.classifier_glance_heads);
  const focusCls: StepClassifier = wrapStepClassifier(parts.classifier_focus_mlp, parts.classifier_focus_heads);
  const evalGlance = glanceIndices(t, tg);
  // The spatial proxy's patch on the glance maps: the patch's share of the frame, in map cells (the
  // official patch_size // 32 on 7 x 7 maps of 224-px frames).
  const proxyCells = Math.max(1, Math.floor((p * mapShape[0]) / s));

  /** Row indices into [B * T, ...] of each video's frames `perVideo` ([B][n] or one list for all). */
  const rowsOf = (b: number, perVideo: (v: number) => readonly number[] | Int32Array) =>
    Int32Array.from(Array.from({ length: b }, (_, v) => Array.from(perVideo(v), (f) => v * t + f)).flat());
  /** The glance over Tg frames of every video: maps [B, Tg, h, w, c], vectors [B, Tg, c], logits [B * Tg, classes]. */
  const glancePass = (x: tf.Tensor4D, b: number, training: boolean, rng?: Rng) => {
    const seg = Math.floor(t / tg);
    const which = () => (rng ? Array.from({ length: tg }, (_, i) => i * seg + rng.int(0, seg - 1)) : evalGlance);
    // Downscaled first, then gathered: the per-frame downscale commutes with the gather, and tfjs's
    // wasm Gather of full-size frames is slow (about 0.5 s for 128 frames of 128 px).
    const rows = rowsOf(b, which);
    const out = G.apply(tf.gather(downscale(x, s, g), rows) as tf.Tensor4D, training);
    return {
      maps: tf.reshape(out.map!, [b, tg, ...mapShape]) as tf.Tensor5D,
      vectors: tf.reshape(out.vector!, [b, tg, gWidth]) as tf.Tensor3D,
      logits: out.logits!,
    };
  };
  const cells = config.spatialPrior > 0 ? policyMapCells(parts.glance, mapShape) : undefined;
  /** The spatial policy's actions [B, Tg, 4]: as offsets from the glance's peaks with a prior. */
  const spatialActions = (maps: tf.Tensor5D, training: boolean) => {
    const actions = parts.policy_spatial.apply(stopGradient(maps), { training }) as tf.Tensor3D;
    if (!cells) return actions;
    const b = maps.shape[0];
    const positions = saliencyPositions(tf.reshape(maps, [b * tg, ...mapShape]) as tf.Tensor4D, config.spatialPrior, cells);
    return tf.reshape(priorActions(tf.reshape(actions, [b * tg, 4]) as tf.Tensor2D, positions, s, sideMin, sideMax), [b, tg, 4]) as tf.Tensor3D;
  };
  /** The temporal policy's logits [B, Tg]: plus the glance's confidence (glance logits [B * Tg, classes]) with a prior. */
  const temporalLogits = (vectors: tf.Tensor3D, glanceLogits: tf.Tensor, training: boolean) => {
    const learned = parts.policy_temporal.apply(vectors, { training }) as tf.Tensor2D;
    if (config.temporalPrior <= 0) return learned;
    const b = vectors.shape[0];
    return tf.add(learned, tf.mul(glanceConfidence(tf.reshape(glanceLogits, [b, tg, classes]) as tf.Tensor3D), config.temporalPrior)) as tf.Tensor2D;
  };
  /** Both policies: per-glance-frame actions [B, Tg, 4], the distribution's logits [B, Tg]. */
  const policies = (maps: tf.Tensor5D, vectors: tf.Tensor3D, glanceLogits: tf.Tensor, training: boolean) => ({
    actions: spatialActions(maps, training),
    temporal: temporalLogits(vectors, glanceLogits, training),
  });
  const chooseFrames = (temporalLogits: tf.Tensor2D, b: number, mode: 'stratified' | 'midpoint', rng?: Rng) =>
    inverseCdfFrames(tf.tidy(() => tf.softmax(tf.div(temporalLogits, config.temperature))).dataSync(), b, tg, t, k, mode, rng);
  /** Rows into [B * T, ...] of each video's K chosen frames. */
  const chosenRows = (indices: Int32Array, b: number) => rowsOf(b, (v) => indices.subarray(v * k, (v + 1) * k));
  /** The spatial policy's actions [B * K, 4] at the chosen frames, detached unless `attached`. */
  const chosenActions = (actions: tf.Tensor3D, indices: Int32Array, b: number, attached = false) =>
    tf.gather(tf.reshape(interpolateFrames(attached ? actions : (stopGradient(actions) as tf.Tensor3D), t), [b * t, 4]), chosenRows(indices, b)) as tf.Tensor2D;
  /** Patches [N, P, P, 3] of the frames at `rows` in the boxes of `actions` [N, 4] (the fast crop, which reads the frames in place, unless `gradient`). */
  const cut = (x: tf.Tensor4D, rows: Int32Array, actions: tf.Tensor2D, gradient = false) =>
    cropBoxes(x, actionBoxes(actions, s, sideMin, sideMax), p, { ...(gradient ? { gradient: true } : CONSTANT), frameIndices: rows });
  const throughCrop = config.spatialGradient === 'crop';
  // The random branch's box size action: the patch's own side, clamped to the boxes' range (any
  // action when the range is one side).
  const randomSize = sideMax > sideMin ? Math.min(1, Math.max(0, (p - sideMin) / (sideMax - sideMin))) : 0;
  /** Every classifier's logits [B, Tg + K, classes] from glance vectors [B, Tg, c] and focus vectors [B * K, c']. */
  const classify = (vectors: tf.Tensor3D, fVec: tf.Tensor2D, b: number, training: boolean) => {
    const z1 = tf.reshape(glanceCls.embed(tf.reshape(vectors, [b * tg, gWidth]) as tf.Tensor2D, training), [b, tg, width]);
    const z2 = tf.reshape(focusCls.embed(fVec, training), [b, k, width]);
    const logits: tf.Tensor2D[] = [];
    let run1 = tf.reshape(tf.slice(z1, [0, 0, 0], [b, 1, width]), [b, width]) as tf.Tensor2D;
    for (let i = 0; i < tg; i++) {
      if (i > 0) run1 = tf.maximum(run1, tf.reshape(tf.slice(z1, [0, i, 0], [b, 1, width]), [b, width])) as tf.Tensor2D;
      logits.push(glanceCls.head(i, run1, training));
    }
    let run2 = tf.reshape(tf.slice(z2, [0, 0, 0], [b, 1, width]), [b, width]) as tf.Tensor2D;
    for (let j = 0; j < k; j++) {
      if (j > 0) run2 = tf.maximum(run2, tf.reshape(tf.slice(z2, [0, j, 0], [b, 1, width]), [b, width])) as tf.Tensor2D;
      logits.push(focusCls.head(j, tf.concat([run2, run1], 1) as tf.Tensor2D, training));
    }
    return tf.stack(logits, 1) as tf.Tensor3D;
  };
  const headsPrediction = config.prediction !== 'classifier';
  // 'frames': the glance average counts as glanceWeight focus frames in every focus exit's mean; 'focus': only the focus frames count.
  const glanceWeight = config.prediction === 'frames' ? config.glanceWeight : 0;
  /** The glance head's log-probabilities [B * Tg, classes] averaged over the glance frames: [B, classes]. */
  const glanceAverage = (logits: tf.Tensor, b: number) => tf.mean(tf.reshape(tf.logSoftmax(logits), [b, tg, classes]), 1) as tf.Tensor2D;
  /**
   * Every focus exit's prediction [B, K, classes]: the focus head's log-probabilities [B * K, classes]
   * summed over focus frames 1..j, plus glanceWeight times the glance average, over j + glanceWeight.
   */
  const seenMean = (logits: tf.Tensor, b: number, glance: tf.Tensor2D) =>
    tf.div(
      tf.add(tf.cumsum(tf.reshape(tf.logSoftmax(logits), [b, k, classes]), 1), tf.expandDims(tf.mul(glance, glanceWeight), 1)),
      tf.reshape(tf.add(tf.range(1, k + 1), glanceWeight), [1, k, 1]),
    ) as tf.Tensor3D;
  /** Per step, [B, K + 1, 2] with NaN at the glance-only step 0. */
  const withGlanceStep = (perFocus: tf.Tensor3D, b: number) => tf.concat([tf.fill([b, 1, 2], NaN), perFocus], 1) as tf.Tensor3D;
  /** The boxes' sides (y, x) as fractions of the frame. */
  const sizesOf = (chosen: tf.Tensor2D) => tf.div(tf.slice(actionBoxes(chosen, s, sideMin, sideMax), [0, 2], [-1, 2]), s) as tf.Tensor2D;

  return {
    config,
    classes,
    steps: k + 1,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      const training = opts.training ?? false;
      return tf.tidy(() => {
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const gl = glancePass(x, b, training);
        const pol = policies(gl.maps, gl.vectors, gl.logits, training);
        const indices = chooseFrames(pol.temporal, b, 'midpoint');
        const chosen = chosenActions(pol.actions, indices, b);
        const f = F.apply(cut(x, chosenRows(indices, b), chosen), training);
        const average = glanceAverage(gl.logits, b);
        const logits = headsPrediction
          ? (tf.concat([tf.expandDims(average, 1), seenMean(f.logits!, b, average)], 1) as tf.Tensor3D)
          : (tf.slice(classify(gl.vectors, f.vector as tf.Tensor2D, b, training), [0, tg - 1, 0], [b, k + 1, classes]) as tf.Tensor3D);
        const perStep = (v: tf.Tensor2D) => withGlanceStep(tf.reshape(v, [b, k, 2]) as tf.Tensor3D, b);
        const frameIndices = tf.tensor2d(
          Array.from({ length: b }, (_, v) => [evalGlance[tg - 1]!, ...indices.subarray(v * k, (v + 1) * k)]).flat(),
          [b, k + 1],
          'int32',
        );
        return {
          logits,
          centres: perStep(tf.slice(chosen, [0, 0], [-1, 2]) as tf.Tensor2D),
          sizes: perStep(sizesOf(chosen)),
          frameIndices,
        };
      });
    },
    loss(frames, labels, stepSeed) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const rng = new Rng(deriveSeed(stepSeed, 'uni-adafocus'));
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const gl = glancePass(x, b, true, rng);
        const pol = policies(gl.maps, gl.vectors, gl.logits, true);
        const weights = tf.softmax(pol.temporal) as tf.Tensor2D;
        const indices = chooseFrames(pol.temporal, b, 'stratified', rng);
        const ce = (targets: tf.Tensor, l: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, l);
        const oneHot = tf.oneHot(labels, classes);
        // The proxies (policies) and the glance's own head.
        const temporal = ce(
          oneHot,
          mcTemporalProxy(tf.reshape(gl.logits, [b, tg, classes]) as tf.Tensor3D, weights, Math.max(1, Math.floor(tg / 3)), config.mcSamples, rng),
        );
        const flatActions = tf.reshape(pol.actions, [b * tg, 4]) as tf.Tensor2D;
        // The box on the map: frame pixels scaled by map / frame (the official (P // 32) / P on 7 x 7
        // maps of 224-px frames is the same 1/32).
        const toMap = mapShape[0] / s;
        const mapBoxes = actionBoxes(flatActions, mapShape[0], sideMin * toMap, sideMax * toMap);
        const region = cropBoxes(tf.reshape(stopGradient(gl.maps), [b * tg, ...mapShape]) as tf.Tensor4D, mapBoxes, proxyCells);
        const pooled = tf.mean(tf.reshape(region, [b, tg * proxyCells * proxyCells, mapShape[2]]), 1);
        const spatial = ce(oneHot, parts.policy_proxy.apply(pooled, { training: true }) as tf.Tensor);
        const norm = tf.mean(tf.square(tf.sub(tf.slice(flatActions, [0, 2], [-1, 2]), 1)));
        const glanceHead = ce(frameTargets(labels, tg, classes), gl.logits);
        // A branch: the classifier's every step and the focus head on the patches of `actions`.
        const rows = chosenRows(indices, b);
        const branch = (chosen: tf.Tensor2D, gradient = false) => {
          const f = F.apply(cut(x, rows, chosen, gradient), true);
          const all = classify(gl.vectors, f.vector as tf.Tensor2D, b, true);
          return tf.add(ce(frameTargets(labels, tg + k, classes), tf.reshape(all, [b * (tg + k), classes])), ce(frameTargets(labels, k, classes), f.logits!));
        };
        // 'crop': the spatial policy also learns from this branch's losses, through the crop.
        const learned = branch(chosenActions(pol.actions, indices, b, throughCrop), throughCrop);
        const branches = config.randomBranch
          ? tf.div(
              tf.add(learned, branch(tf.concat([tf.tensor2d(rng.uniformArray(b * k * 2), [b * k, 2]), tf.fill([b * k, 2], randomSize)], 1) as tf.Tensor2D)),
              2,
            )
          : learned;
        return tf.addN([branches, glanceHead, temporal, spatial, tf.mul(norm, config.normWeight)]) as tf.Scalar;
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      return { batch: video.shape[0], step: 0, video, tensors: [] };
    },
    step(state) {
      checkStep(state, k + 1);
      const j = state.step;
      const b = state.batch;
      const x = () => tf.reshape(stateVideo(state), [b * t, s, s, 3]) as tf.Tensor4D;
      if (j === 0) {
        // The glance-only exit: the glance over its Tg frames and the last glance head.
        const out = tf.tidy(() => {
          const gl = glancePass(x(), b, false);
          // The heads' predictions carry the glance average where the classifier carries its running max.
          if (headsPrediction) {
            const average = glanceAverage(gl.logits, b);
            return { logits: tf.clone(average), tensors: [gl.maps, gl.vectors, average, gl.logits] as tf.Tensor[] };
          }
          const z1 = tf.reshape(glanceCls.embed(tf.reshape(gl.vectors, [b * tg, gWidth]) as tf.Tensor2D), [b, tg, width]);
          const run1 = tf.max(z1, 1) as tf.Tensor2D;
          return { logits: glanceCls.head(tg - 1, run1), tensors: [gl.maps, gl.vectors, run1, gl.logits] as tf.Tensor[] };
        });
        return {
          logits: out.logits,
          centre: tf.fill([b, 2], NaN) as tf.Tensor2D,
          size: tf.fill([b, 2], NaN) as tf.Tensor2D,
          frames: new Int32Array(b).fill(evalGlance[tg - 1]!),
          state: { ...state, step: 1, tensors: out.tensors },
        };
      }
      const out = tf.tidy(() => {
        const [maps, vectors, run1, glanceLogits, carried, run2] = state.tensors as [
          tf.Tensor5D,
          tf.Tensor3D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D?,
          tf.Tensor2D?,
        ];
        let chosenAll = carried;
        let indices = state.frames;
        if (j === 1) {
          const pol = policies(maps, vectors, glanceLogits, false);
          indices = chooseFrames(pol.temporal, b, 'midpoint');
          chosenAll = chosenActions(pol.actions, indices, b);
        }
        const at = tf.tensor1d(
          Array.from({ length: b }, (_, v) => v * k + j - 1),
          'int32',
        );
        const chosen = tf.gather(chosenAll!, at) as tf.Tensor2D;
        const f = F.apply(
          cut(
            x(),
            rowsOf(b, (v) => [indices![v * k + j - 1]!]),
            chosen,
          ),
        );
        // 'classifier': the running max of the focus embeddings; the heads' predictions: the running
        // sum of the focus head's log-probabilities (the prediction is its mean, with the glance's).
        let running: tf.Tensor2D;
        let logits: tf.Tensor2D;
        if (headsPrediction) {
          const lp = tf.logSoftmax(f.logits!) as tf.Tensor2D;
          running = j === 1 ? lp : (tf.add(run2!, lp) as tf.Tensor2D);
          logits = tf.div(tf.add(running, tf.mul(run1, glanceWeight)), j + glanceWeight) as tf.Tensor2D;
        } else {
          const z = focusCls.embed(f.vector as tf.Tensor2D);
          running = j === 1 ? z : (tf.maximum(run2!, z) as tf.Tensor2D);
          logits = focusCls.head(j - 1, tf.concat([running, run1], 1) as tf.Tensor2D);
        }
        return {
          logits,
          centre: tf.slice(chosen, [0, 0], [-1, 2]) as tf.Tensor2D,
          size: sizesOf(chosen),
          tensors: [maps, vectors, run1, glanceLogits, chosenAll!, running] as tf.Tensor[],
          indices: indices!,
        };
      });
      tf.dispose(state.tensors.filter((x) => !out.tensors.includes(x)));
      const frames = Int32Array.from({ length: b }, (_, v) => out.indices[v * k + j - 1]!);
      return { logits: out.logits, centre: out.centre, size: out.size, frames, state: { ...state, step: j + 1, tensors: out.tensors, frames: out.indices } };
    },
    parts() {
      return {
        policy: [...parts.policy_spatial.trainableWeights, ...parts.policy_temporal.trainableWeights, ...parts.policy_proxy.trainableWeights],
        glance: parts.glance.trainableWeights,
        focus: parts.focus.trainableWeights,
        classifier: [...glanceCls.trainableWeights, ...focusCls.trainableWeights],
      };
    },
    models() {
      return { ...parts };
    },
    gflopsPerStep() {
      const glanceStep = tg * (backboneMacs(parts.glance, false) + denseMacs(parts.classifier_glance_mlp)) + denseMacs(parts.classifier_glance_heads) / tg;
      const policies = denseMacs(parts.policy_spatial) + denseMacs(parts.policy_temporal);
      const focusStep = backboneMacs(parts.focus, false) + denseMacs(parts.classifier_focus_mlp) + denseMacs(parts.classifier_focus_heads) / k;
      return [glanceStep / 1e9, ...Array.from({ length: k }, (_, j) => ((j === 0 ? policies : 0) + focusStep) / 1e9)];
    },
    dispose() {
      for (const m of Object.values(parts)) m.dispose();
    },
  };
}
