/**
 * What a method is to the SDK: its config fields, its training stages, the sub-networks (parts) it
 * is made of, how to build it, and the pretrained backbones it starts from. createVideoNet, bundle
 * loading, checkpoints, pretrained weights, the CLI's `--method` choices and the bench all read a
 * method through its `MethodSpec`, so that a method is one folder and one `registerMethod` line.
 */
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';

import type { TorchTensor } from '@saccade/backbones';

import type { PatchSource, VideoNet } from '../video_net.js';
import type { TrainConfig, TrainConfigInput, TrainingStage } from '../config/base.js';

/** A name users type for a method with one way of choosing patches (`--method v2`, `--method random`). */
export interface MethodVariant {
  /** The name users type. */
  name: string;
  /** Other names that mean the same variant (the method's id for its main variant). */
  aliases?: readonly string[];
  /** What reports call it. */
  label: string;
  /** The config fields that make it: the method, its patch source, and for a preset its other fields. */
  config: TrainConfigInput & { method: string; patches?: PatchSource };
  /** A baseline (set beside the methods in reports), not one of the papers' methods. */
  baseline: boolean;
}

/**
 * One sub-network of a method, as a bundle stores it (a tfjs-layers model in a folder of that name).
 * `backbone`: a @saccade/backbones model whose outputs are named map, vector and logits.
 */
export interface PartSpec {
  kind: 'backbone' | 'network';
  /** Which output of the part gives the class scores (its last axis is the class count), if any. */
  classesOutput?: number;
}

/** A method's sub-networks by part name, as `create` receives them once `parts` has checked them. */
export type PartModels = Readonly<Record<string, tf.LayersModel>>;

export interface MethodSpec<C extends TrainConfig = TrainConfig, P extends object = PartModels> {
  /** The config's `method` value, and what saccade.json records. */
  id: string;
  /** What reports call the method. */
  label: string;
  /** The names users type for it (one per patch source it takes); the first is its main one. */
  variants: readonly MethodVariant[];
  /** The method's own config fields (zod, with defaults), added to the shared ones. */
  fields: z.ZodRawShape;
  /** The patch sources it takes (default: policy only). */
  patches?: readonly PatchSource[];
  /** Rules across fields: report each problem with `issue(field, message)`. */
  check?(config: C, issue: (field: string, message: string) => void): void;
  /** Defaults that depend on other fields (lrFocus, microBatch); unset ones fall back to 1 and 0. */
  defaults?(config: Omit<C, 'lrFocus' | 'microBatch'>): { lrFocus?: number; microBatch?: number };
  /** The training stages (one for most methods; AdaFocus V1 has three). */
  stages(config: C): TrainingStage[];
  /** Whether step k is frame k (in `frameOrder`): true unless the method picks its frames (AdaFocus V3). Default true. */
  stepsAreFrames?: boolean;
  /** Inference steps (exit points) of a network of this config. */
  steps(config: C): number;
  /** The sub-networks a network of this config is made of, by the names a bundle stores them under. */
  parts(config: C): Readonly<Record<string, PartSpec>>;
  /** Which of its parts start from the pretrained glance and focus backbones (config.pretrained). */
  pretrained: { glance?: string; focus?: string };
  /**
   * Build the network: fresh weights from config.seed, or around `loaded` sub-networks (already
   * checked against `parts` by the caller).
   */
  create(config: C, classes: number, loaded?: P): VideoNet;
  /** Checkpoints of the paper's official code, when Saccade reads them. */
  official?: OfficialImport;
}

/** What an official checkpoint cannot tell and the user gives (the CLI's import flags). */
export interface OfficialOptions {
  /** The patch size the model was trained with (its --patch_size); a state dict cannot tell it. */
  patchSize?: number;
  /** The frames' side (--input_size, default 224). */
  frameSize?: number;
  /**
   * Frames per video (--num_segments) where the state dict cannot tell it (AdaFocus V1's recurrent
   * classifier; default 16; the Something-Something model's focus frames, num_segments_focuser: default 12).
   */
  frames?: number;
  /** The glance's frame side (--glance_size) where it differs from the frames' (the Something-Something model; default: frameSize). */
  glanceSize?: number;
  /** TSM's shift_div (the Something-Something model's backbones; default 8, as every official config). */
  shiftDiv?: number;
  /** Dropout for further training (AdaFocusV2's step heads); inference ignores it. */
  dropout?: number;
  /** Uni-AdaFocus's smallest and largest box side in pixels (the official code's 96 and 224, its defaults here). */
  sideMin?: number;
  sideMax?: number;
}

/** What an official state dict describes: the Saccade config, the class count, and entries left out on purpose. */
export interface OfficialPlan {
  config: TrainConfigInput;
  classes: number;
  ignored: string[];
}

/** Reading checkpoints of a paper's official code into a network of the method. */
export interface OfficialImport {
  /** Which code's checkpoints, for messages and docs. */
  code: string;
  /** The Saccade config and class count the state dict describes; a WeightMismatchError when it is not one. */
  plan(state: ReadonlyMap<string, TorchTensor>, options: OfficialOptions, source: string): OfficialPlan;
  /** Set the weights into a network made from the plan's config: all or none. */
  assign(models: Readonly<Record<string, tf.LayersModel>>, state: ReadonlyMap<string, TorchTensor>, plan: OfficialPlan, source: string): void;
}

/** A spec of any method, as the registry holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethodSpec = MethodSpec<any, any>;
