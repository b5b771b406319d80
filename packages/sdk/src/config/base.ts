/**
 * The fields every method's config shares: which method and patches, the data (frames, sizes,
 * normalisation, flips), the backbones, the optimiser and the schedule, and the seed. Each method
 * adds its own fields (its `MethodSpec.fields`); `parseConfig` validates the union.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const multiplier = z.number().min(0).max(100);

export const BASE_FIELDS = {
  /** A registered method's id: adafocus_v2, adafocus_v1, adafocus_v1_tsm, uni_adafocus, uniform, glance, or one registered by the user. */
  method: z.string().min(1).default('adafocus_v2'),
  /** Where AdaFocus patches come from: the learned policy, or the random / centre baselines (the method says which it takes). */
  patches: z.enum(['policy', 'random', 'centre']).default('policy'),
  frames: z.number().int().min(1).max(256).default(16),
  frameSize: z.number().int().min(16).max(1024).default(128),
  glanceSize: z.number().int().min(8).max(1024).default(32),
  patchSize: z.number().int().min(8).max(1024).default(48),
  glanceBackbone: z.string().min(1).default('resnet_small'),
  glanceWidth: z.number().positive().max(4).default(0.5),
  focusBackbone: z.string().min(1).default('resnet_small'),
  focusWidth: z.number().positive().max(4).default(0.5),
  /** Global pooling of the backbones' feature maps: max finds a small item in clutter (DESIGN's probe). */
  pooling: z.enum(['avg', 'max']).default('max'),
  /**
   * Start the glance and focus backbones from pretrained weights (in Node, the SDK's shipped
   * Fashion-MNIST still-image pretraining: the role ImageNet weights play in the papers).
   * false: from scratch.
   */
  pretrained: z.boolean().default(true),
  classifierWidth: positiveInt.max(8192).default(256),
  dropout: z.number().min(0).max(0.95).default(0),
  /**
   * The order in which the steps see the frames: 'coarse-to-fine' (the official code's, with
   * --sample: the middle frame, the first and the last, then the gaps' midpoints; an early exit
   * has seen the whole video coarsely) or 'chronological'. Methods whose steps are not frames
   * (AdaFocus V3 picks its frames) ignore it.
   */
  frameOrder: z.enum(['coarse-to-fine', 'chronological']).default('coarse-to-fine'),
  /** Normalisation of RGB bytes: (x / 255 - mean) / std. */
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0.485, 0.456, 0.406]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.229, 0.224, 0.225]),
  epochs: positiveInt.max(10000).default(1),
  batchSize: positiveInt.max(4096).default(8),
  /**
   * Split each batch into chunks of this many videos and accumulate their gradients (memory). 0:
   * whole batch. The method gives the default when it is not set (the uniform baseline: 2, so that
   * its full-resolution frames fit wasm's 4 GB heap at 128 px; the others 0).
   */
  microBatch: z.number().int().min(0).max(4096).optional(),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  lr: z.number().positive().max(10).default(2e-3),
  momentum: z.number().min(0).max(0.999).default(0.9),
  weightDecay: z.number().min(0).max(1).default(1e-4),
  /**
   * Per-part learning-rate multipliers (the AdaFocusV2 paper's: policy x0.1, glance x0.5, focus x1,
   * classifier x5). The method gives lrFocus's default when it is not set (AdaFocusV2 from
   * pretrained backbones: 0.2, chosen on training videos held out from training; otherwise 1).
   */
  lrPolicy: multiplier.default(0.1),
  lrGlance: multiplier.default(0.5),
  lrFocus: multiplier.optional(),
  lrClassifier: multiplier.default(5),
  /** Epochs of linear warm-up before the cosine decay. */
  warmupEpochs: z.number().min(0).max(1000).default(0),
  /** Horizontal flip of training videos (same flip for every frame of a video). */
  flip: z.boolean().default(true),
  /**
   * How a video of another aspect becomes the square frame, in training and when the model reads a
   * file: 'crop' (the shorter side scaled to the frame, the longer one centre-cropped: the official
   * validation transform), 'squash' (aspect lost; what bundles from before this field did) or
   * 'letterbox' (black bars).
   */
  fit: z.enum(['crop', 'squash', 'letterbox']).default('crop'),
  /** Write a checkpoint every this many steps (besides every epoch end). 0: epoch ends only. */
  checkpointEvery: z.number().int().min(0).default(0),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
} satisfies z.ZodRawShape;

type BaseOutput = z.output<z.ZodObject<typeof BASE_FIELDS>>;

/** The shared fields of every parsed config, with lrFocus and microBatch filled. */
export type BaseConfig = Omit<BaseOutput, 'lrFocus' | 'microBatch'> & { lrFocus: number; microBatch: number };

/**
 * A parsed config: the shared fields, typed, and the method's own fields. Code that serves every
 * method reads the shared ones; a method reads its own through its config type (`AdaFocusV2Config`, ...).
 */
export type TrainConfig = BaseConfig & { readonly [field: string]: unknown };

/** What parseConfig takes: any subset of the shared fields and the method's own. */
export type TrainConfigInput = Partial<z.input<z.ZodObject<typeof BASE_FIELDS>>> & { readonly [field: string]: unknown };

/** A parsed config of one method: the shared fields and that method's fields (its zod shape). */
export type ConfigOf<Id extends string, Fields extends z.ZodRawShape> = BaseConfig & { method: Id } & z.output<z.ZodObject<Fields>>;

export interface TrainingStage {
  /** What the stage trains, for progress and logs. */
  name: string;
  epochs: number;
  /** The parts (VideoNet.parts() keys) whose weights the stage updates; the others stay as they are. */
  parts: string[];
  /**
   * The stage's own optimiser, at a constant learning rate with no weight decay and no part
   * multipliers (AdaFocus V1's PPO in the paper: Adam 3e-4). Unset: the run's optimiser, with the
   * cosine schedule over the stage.
   */
  optimizer?: { kind: 'adam' | 'sgd'; lr: number };
}
