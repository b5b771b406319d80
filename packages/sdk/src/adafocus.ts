/**
 * The networks Saccade trains, behind one interface (`VideoNet`):
 *
 * - AdaFocusV2: a glance backbone sees every frame downscaled, the interp policy reads its feature
 *   maps (gradient stopped) and picks a patch centre per frame, cropPatches cuts the patch from the
 *   full-resolution frame (differentiable in the centre), a focus backbone sees the patch, and the
 *   step classifier combines glance and focus vectors with a cumulative max over time. With
 *   `patches: 'random' | 'centre'` the same network takes random or central patches instead (the
 *   baselines of the paper).
 * - Frame baselines: one backbone on every frame with the logits averaged over the frames seen so
 *   far (TSN): `uniform` (the focus backbone on whole frames) and `glance` (the glance backbone on
 *   the downscaled frames).
 *
 * `forward` runs all T steps at once (training, evaluation); `begin`/`step` run one frame at a time
 * with the same layers, so that stopping after step k costs k steps (early exit).
 */
import * as tf from '@tensorflow/tfjs';
import { createBackbone, countFlops, type Backbone } from '@saccade/backbones';
import { createInterpPolicy, wrapInterpPolicy, type InterpPolicy } from '@saccade/policy';
import { cropPatches } from '@saccade/tensor';

import { createStepClassifier, wrapStepClassifier, type StepClassifier } from './classifier.js';
import { parseConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { InputError } from './errors.js';

export type PatchSource = 'policy' | 'random' | 'centre';

export interface ForwardResult {
  /** [B, T, classes]: the prediction after each step. */
  logits: tf.Tensor3D;
  /** [B, T, 2]: patch centres (y, x) in [0, 1] (AdaFocus only). */
  centres?: tf.Tensor3D;
}

/** Recurrent inference state of a batch of videos. */
export interface StepState {
  batch: number;
  step: number;
  /** Tensors carried between steps (policy state, running max or sum). */
  tensors: tf.Tensor[];
}

export interface StepOutput {
  /** [B, classes] logits after this step. */
  logits: tf.Tensor2D;
  /** [B, 2] patch centre (y, x) of this frame (AdaFocus only). */
  centre?: tf.Tensor2D;
  state: StepState;
}

export interface VideoNet {
  readonly config: TrainConfig;
  readonly classes: number;
  /** frames [B, T, S, S, 3], normalised. */
  forward(frames: tf.Tensor5D, options?: { training?: boolean; seed?: number }): ForwardResult;
  /** The training loss (AdaFocusV2: the one-stage loss; baselines: cross-entropy of the averaged logits). */
  loss(frames: tf.Tensor5D, labels: tf.Tensor1D, seed: number): tf.Scalar;
  /** Incremental inference: an empty state for B videos. */
  begin(batch: number): StepState;
  /** One frame per video [B, S, S, 3] (normalised); disposes the previous state's tensors. */
  step(frame: tf.Tensor4D, state: StepState, seed?: number): StepOutput;
  /** Trainable weights per part, for per-part learning rates. */
  parts(): Record<string, tf.LayerVariable[]>;
  /** The sub-networks (tfjs-layers models) a bundle stores. */
  models(): Record<string, tf.LayersModel>;
  /** GFLOPs (multiply-accumulates / 1e9) of step k, k = 0..T-1. */
  gflopsPerStep(): number[];
  dispose(): void;
}

/** MACs of the Dense and Conv2D layers of a small model (policy, classifier) for one example. */
function denseMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dense') macs += layer.getWeights()[0]!.size;
    else if (cls === 'Conv2D') {
      const out = layer.outputShape as number[];
      macs += layer.getWeights()[0]!.size * out[1]! * out[2]!;
    }
  }
  return macs;
}

/** MACs of a backbone without its 'predictions' head (AdaFocus's per-frame heads are training-only). */
function backboneMacs(model: tf.LayersModel, withHead: boolean): number {
  const report = countFlops(model);
  return withHead ? report.macs : report.layers.filter((l) => l.name !== 'predictions').reduce((a, l) => a + l.macs, 0);
}

function checkFrames(frames: tf.Tensor, c: TrainConfig, rank: 4 | 5): void {
  const s = c.frameSize;
  const expected = rank === 5 ? `[B, ${c.frames}, ${s}, ${s}, 3]` : `[B, ${s}, ${s}, 3]`;
  const shape = frames.shape;
  const ok = frames.rank === rank && shape[rank - 1] === 3 && shape[rank - 2] === s && shape[rank - 3] === s && (rank === 4 || shape[1] === c.frames) && shape[0]! > 0;
  if (!ok) throw new InputError('frames', `expected ${expected}, got [${shape}]`);
}

function backbone(name: string, width: number, size: number, classes: number, seed: number, modelName: string, pooling: 'avg' | 'max'): Backbone {
  return createBackbone(name, { inputSize: size, width, numClasses: classes, seed, name: modelName, pooling });
}

/** Frames [N, S, S, 3] to the glance size: average pooling when S is a multiple, else bilinear. */
export function downscale(x: tf.Tensor4D, from: number, to: number): tf.Tensor4D {
  if (from === to) return x;
  return from % to === 0 ? tf.avgPool(x, from / to, from / to, 'valid') : (tf.image.resizeBilinear(x, [to, to], true) as tf.Tensor4D);
}

/** Per-frame one-hot labels [B*T, classes]. */
function frameTargets(labels: tf.Tensor1D, t: number, classes: number): tf.Tensor2D {
  const b = labels.shape[0];
  return tf.oneHot(tf.reshape(tf.tile(tf.reshape(labels, [b, 1]), [1, t]), [b * t]) as tf.Tensor1D, classes) as tf.Tensor2D;
}

export interface AdaFocusParts {
  glance: tf.LayersModel;
  focus: tf.LayersModel;
  policyEncoder: tf.LayersModel;
  policyRecurrent: tf.LayersModel;
  classifierMlp: tf.LayersModel;
  classifierHeads: tf.LayersModel;
}

/** Build a network from a config (fresh weights from config.seed) or around loaded sub-networks. */
export function createVideoNet(configInput: TrainConfigInput | TrainConfig, classes: number, loaded?: Record<string, tf.LayersModel>): VideoNet {
  const config = parseConfig(configInput);
  if (!Number.isInteger(classes) || classes < 2) throw new InputError('classes', `must be an integer >= 2, got ${classes}`);
  return config.method === 'adafocus_v2' ? adaFocusV2(config, classes, loaded) : frameBaseline(config, classes, loaded);
}

function adaFocusV2(config: TrainConfig, classes: number, loaded?: Record<string, tf.LayersModel>): VideoNet {
  const { frames: t, frameSize: s, glanceSize: g, patchSize: p, seed } = config;
  let glance: tf.LayersModel;
  let focus: tf.LayersModel;
  let policy: InterpPolicy;
  let classifier: StepClassifier;
  if (loaded) {
    glance = loaded['glance']!;
    focus = loaded['focus']!;
    const mapShape = (glance.outputs[0]!.shape.slice(1) as number[]) as [number, number, number];
    policy = wrapInterpPolicy(loaded['policy_encoder']!, loaded['policy_recurrent']!, config.policyHidden, mapShape);
    classifier = wrapStepClassifier(loaded['classifier_mlp']!, loaded['classifier_heads']!);
  } else {
    const gb = backbone(config.glanceBackbone, config.glanceWidth, g, classes, seed + 1, 'glance', config.pooling);
    const fb = backbone(config.focusBackbone, config.focusWidth, p, classes, seed + 2, 'focus', config.pooling);
    glance = gb.model;
    focus = fb.model;
    policy = createInterpPolicy({ featureShape: gb.featureMapShape, hidden: config.policyHidden, seed: seed + 3 });
    classifier = createStepClassifier({ inputWidth: gb.featureWidth + fb.featureWidth, width: config.classifierWidth, steps: t, classes, dropout: config.dropout, seed: seed + 4 });
  }
  const mapShape = policy.featureShape;
  const gWidth = glance.outputs[1]!.shape[1] as number;
  const fWidth = focus.outputs[1]!.shape[1] as number;
  const source = config.patches;

  const centresFor = (maps: tf.Tensor, b: number, training: boolean, seedArg: number): tf.Tensor3D => {
    if (source === 'policy') return policy.sequence(tf.reshape(maps, [b, t, ...mapShape]) as tf.Tensor5D, training);
    if (source === 'random') return tf.randomUniform([b, t, 2], 0, 1, 'float32', seedArg) as tf.Tensor3D;
    return tf.fill([b, t, 2], 0.5) as tf.Tensor3D;
  };
  /** Glance on all frames: [maps, vectors, logits]. */
  const glanceAll = (x: tf.Tensor4D, training: boolean) => glance.apply(downscale(x, s, g), { training }) as tf.Tensor[];
  const focusBranch = (x: tf.Tensor4D, gVec: tf.Tensor, centres: tf.Tensor3D, b: number, training: boolean) => {
    const patches = cropPatches(x, tf.reshape(centres, [b * t, 2]) as tf.Tensor2D, p, { frameGradient: false });
    const [, fVec, fLogits] = focus.apply(patches, { training }) as tf.Tensor[];
    const features = tf.reshape(tf.concat([gVec, fVec!], 1), [b, t, gWidth + fWidth]) as tf.Tensor3D;
    return { logits: classifier.sequence(features, training), focusLogits: fLogits! };
  };

  return {
    config,
    classes,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const training = opts.training ?? false;
      const b = frames.shape[0];
      const [logits, centres] = tf.tidy(() => {
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const [gMap, gVec] = glanceAll(x, training);
        const c = centresFor(gMap!, b, training, opts.seed ?? seed);
        return [focusBranch(x, gVec!, c, b, training).logits, c];
      });
      return { logits: logits as tf.Tensor3D, centres: centres as tf.Tensor3D };
    },
    loss(frames, labels, stepSeed) {
      checkFrames(frames, config, 5);
      return tf.tidy(() => {
        const b = frames.shape[0];
        const targets = frameTargets(labels, t, classes);
        const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, logits);
        const x = tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D;
        const [gMap, gVec, gLogits] = glanceAll(x, true);
        const branchLoss = (centres: tf.Tensor3D) => {
          const r = focusBranch(x, gVec!, centres, b, true);
          return tf.add(ce(tf.reshape(r.logits, [b * t, classes])), ce(r.focusLogits));
        };
        // The glance head's loss is the same in both branches, so it is counted once.
        const glanceLoss = ce(gLogits!);
        if (source !== 'policy') return tf.add(glanceLoss, branchLoss(centresFor(gMap!, b, true, stepSeed))) as tf.Scalar;
        const learned = branchLoss(centresFor(gMap!, b, true, stepSeed));
        const random = branchLoss(tf.randomUniform([b, t, 2], 0, 1, 'float32', stepSeed) as tf.Tensor3D);
        return tf.add(glanceLoss, tf.div(tf.add(learned, random), 2)) as tf.Scalar;
      });
    },
    begin(batch) {
      return { batch, step: 0, tensors: [policy.initialState(batch)] };
    },
    step(frame, state, stepSeed) {
      checkFrames(frame, config, 4);
      const k = state.step;
      if (k >= t) throw new InputError('step', `the model has ${t} steps; step ${k + 1} asked for`);
      const b = frame.shape[0];
      if (b !== state.batch) throw new InputError('frame', `batch ${b} does not match the state's ${state.batch}`);
      const out = tf.tidy(() => {
        const [gMap, gVec] = glanceAll(frame, false);
        let centre: tf.Tensor2D;
        let policyState = state.tensors[0] as tf.Tensor2D;
        if (source === 'policy') {
          const r = policy.step(gMap as tf.Tensor4D, policyState, false);
          centre = r.centres;
          policyState = r.state;
        } else if (source === 'random') centre = tf.randomUniform([b, 2], 0, 1, 'float32', (stepSeed ?? seed) * 1000 + k) as tf.Tensor2D;
        else centre = tf.fill([b, 2], 0.5) as tf.Tensor2D;
        const patch = cropPatches(frame, centre, p);
        const [, fVec] = focus.apply(patch) as tf.Tensor[];
        const z = classifier.embed(tf.concat([gVec!, fVec!], 1) as tf.Tensor2D);
        const running: tf.Tensor2D = k === 0 ? z : (tf.maximum(state.tensors[1]!, z) as tf.Tensor2D);
        return { logits: classifier.head(k, running), centre, tensors: [policyState, running] };
      });
      tf.dispose(state.tensors.filter((x) => !(out.tensors as tf.Tensor[]).includes(x)));
      return { logits: out.logits, centre: out.centre, state: { batch: b, step: k + 1, tensors: out.tensors } };
    },
    parts() {
      return { policy: policy.trainableWeights, glance: glance.trainableWeights, focus: focus.trainableWeights, classifier: classifier.trainableWeights };
    },
    models() {
      return { glance, focus, policy_encoder: policy.encoder, policy_recurrent: policy.recurrent, classifier_mlp: classifier.mlp, classifier_heads: classifier.heads };
    },
    gflopsPerStep() {
      const macs =
        backboneMacs(glance, false) +
        backboneMacs(focus, false) +
        (source === 'policy' ? denseMacs(policy.encoder) + denseMacs(policy.recurrent) : 0) +
        denseMacs(classifier.mlp) +
        denseMacs(classifier.heads) / t;
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

function frameBaseline(config: TrainConfig, classes: number, loaded?: Record<string, tf.LayersModel>): VideoNet {
  const { frames: t, frameSize: s, seed } = config;
  const uniform = config.method === 'uniform';
  const size = uniform ? s : config.glanceSize;
  const net = loaded
    ? loaded['frames']!
    : uniform
      ? backbone(config.focusBackbone, config.focusWidth, s, classes, seed + 2, 'frames', config.pooling).model
      : backbone(config.glanceBackbone, config.glanceWidth, config.glanceSize, classes, seed + 1, 'frames', config.pooling).model;
  const logitsOf = (x: tf.Tensor4D, training: boolean) => (net.apply(downscale(x, s, size), { training }) as tf.Tensor[])[2]!;
  return {
    config,
    classes,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      const logits = tf.tidy(() => {
        const perFrame = tf.reshape(logitsOf(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D, opts.training ?? false), [b, t, classes]);
        // Average of the frames seen so far (TSN consensus after each step).
        const steps = tf.range(1, t + 1).reshape([1, t, 1]);
        return tf.div(tf.cumsum(perFrame, 1), steps) as tf.Tensor3D;
      });
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
    begin(batch) {
      return { batch, step: 0, tensors: [] };
    },
    step(frame, state) {
      checkFrames(frame, config, 4);
      const k = state.step;
      if (k >= t) throw new InputError('step', `the model has ${t} steps; step ${k + 1} asked for`);
      const out = tf.tidy(() => {
        const l = logitsOf(frame, false) as tf.Tensor2D;
        const sum = k === 0 ? l : (tf.add(state.tensors[0]!, l) as tf.Tensor2D);
        return { logits: tf.div(sum, k + 1) as tf.Tensor2D, sum };
      });
      tf.dispose(state.tensors);
      return { logits: out.logits, state: { batch: state.batch, step: k + 1, tensors: [out.sum] } };
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
