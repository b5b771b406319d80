/**
 * The contract every method's network keeps (AdaFocus V1, V2, V3 and the baselines): the whole
 * forward pass, the training loss, step-by-step inference and what a bundle stores. Types only, so
 * that every module that speaks of a network imports this and not a method's implementation.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ByteImages } from '@saccade/tensor';

import type { TrainConfig } from './config/base.js';

export type PatchSource = 'policy' | 'random' | 'centre';

export interface ForwardResult {
  /** [B, steps, classes]: the prediction after each step. */
  logits: tf.Tensor3D;
  /**
   * [B, steps, 2]: patch centres (y, x) in [0, 1] (AdaFocus only); NaN at a step that cut no patch
   * (Uni-AdaFocus's glance-only first exit).
   */
  centres?: tf.Tensor3D;
  /**
   * [B, steps, 2]: the side (y, x) of the box each patch was cut from, as a fraction of the frame,
   * for methods that choose it (Uni-AdaFocus); absent: the patch size. NaN where `centres` is.
   */
  sizes?: tf.Tensor3D;
  /**
   * [B, steps] int32: the frame each step's patch was cut from (AdaFocus V3 picks them; from
   * forwardVideos, the frame order's frames). Absent: step k is the k-th frame given.
   */
  frameIndices?: tf.Tensor2D;
  /** [B, frames]: the temporal policy's distribution over frames that frameIndices were drawn from (AdaFocus V3). */
  frameProbs?: tf.Tensor2D;
}

/** Recurrent inference state of a batch of videos. */
export interface StepState {
  batch: number;
  /** Steps done. */
  step: number;
  /** The videos [B, T, S, S, 3] (normalised) being classified (`begin`): owned by the caller, not the state. */
  video?: tf.Tensor5D;
  /**
   * Or (`beginPixels`): frame k of every video as decoded bytes [B, S, S, 3], asked for when step k
   * runs; the step owns (disposes) what it gets.
   */
  pixels?: (k: number) => ByteImages;
  /** Tensors carried between steps (policy state, running max or sum): owned by the state. */
  tensors: tf.Tensor[];
  /** Frame index per video and step, [B][steps] (AdaFocus V3, once chosen). */
  frames?: Int32Array;
}

export interface StepOutput {
  /** [B, classes] logits after this step. */
  logits: tf.Tensor2D;
  /** [B, 2] patch centre (y, x) of this step's patch (AdaFocus only; NaN where the step cut none). */
  centre?: tf.Tensor2D;
  /** [B, 2] the side (y, x) of the box the patch was cut from, as a fraction of the frame (Uni-AdaFocus). */
  size?: tf.Tensor2D;
  /** The frame of each video this step looked at. */
  frames: Int32Array;
  /**
   * [B, h, w] where the policy looks, over the frame (`step(..., { map: true })`, methods with a
   * policy): AdaFocus V1 the probability of each grid cell; AdaFocusV2 the glance's feature map
   * that its policy reads, as mean absolute activation per position (the policy regresses one
   * point; this is what it sees). Owned by the caller.
   */
  map?: tf.Tensor3D;
  state: StepState;
}

export interface VideoNet {
  readonly config: TrainConfig;
  readonly classes: number;
  /**
   * The frame each step sees when Saccade feeds the network (config.frameOrder; createVideoNet sets
   * it): undefined when steps see frames in time order or pick their own (V3). `forward`, `begin`
   * and `step` take frames in the order given; train, evaluate and classify give them in this one.
   */
  readonly frameOrder?: readonly number[];
  /** Inference steps (the exit points): T, or AdaFocus V3's focus frames K. */
  readonly steps: number;
  /** frames [B, T, S, S, 3], normalised. */
  forward(frames: tf.Tensor5D, options?: { training?: boolean; seed?: number }): ForwardResult;
  /**
   * Inference on the frames as decoded (`rawPixels`: [B * T, S, S, 3] bytes, not normalised), for
   * networks that read the pixels through a downscale or a crop (AdaFocusV2 and its random and
   * centre baselines: the glance input and the patches; the glance and uniform baselines), which
   * read and normalise just those (the normalisation is affine and both the block average and the
   * bilinear crop are convex combinations, so the result is forward's up to float rounding).
   * Absent: normalise and call forward.
   */
  forwardPixels?(pixels: ByteImages, options?: { seed?: number }): ForwardResult;
  /**
   * The training loss of a training stage (0-based; AdaFocus V1 trains in three, the others in one):
   * AdaFocusV2's one-stage loss, V1's stage losses, V3's loss with its proxies, the baselines'
   * cross-entropy of the averaged logits.
   */
  loss(frames: tf.Tensor5D, labels: tf.Tensor1D, seed: number, stage?: number): tf.Scalar;
  /** Incremental inference over videos [B, T, S, S, 3] (normalised, kept by the caller): an empty state. */
  begin(video: tf.Tensor5D): StepState;
  /**
   * Incremental inference on decoded frames (networks with `forwardPixels`): `frame(k)` gives frame
   * k of each of the `batch` videos as bytes [B, S, S, 3] when step k runs, so that a stop after
   * step k has read, packed and normalised only what k steps look at.
   */
  beginPixels?(batch: number, frame: (k: number) => ByteImages): StepState;
  /** The next step; disposes the previous state's tensors. `map`: also return the policy's map (where the method has one). */
  step(state: StepState, seed?: number, options?: { map?: boolean }): StepOutput;
  /** Trainable weights per part, for per-part learning rates. */
  parts(): Record<string, tf.LayerVariable[]>;
  /** The sub-networks (tfjs-layers models) a bundle stores. */
  models(): Record<string, tf.LayersModel>;
  /** GFLOPs (multiply-accumulates / 1e9) of step k, k = 0..T-1. */
  gflopsPerStep(): number[];
  dispose(): void;
}
