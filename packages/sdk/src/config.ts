/**
 * The training configuration: one flat object (so that CLI flags and a config file override field
 * by field), validated by a zod schema. Unknown fields, wrong types and out-of-range values are a
 * ConfigError naming the field. Defaults suit two CPU cores (T=16, 128x128 frames, glance 32,
 * patch 48, the small CPU presets).
 */
import { z } from 'zod';

import { ConfigError } from './errors.js';

const positiveInt = z.number().int().positive();
const multiplier = z.number().min(0).max(100);

export const METHODS = ['adafocus_v2', 'uniform', 'glance'] as const;
export type Method = (typeof METHODS)[number];

export const configSchema = z
  .object({
    /** adafocus_v2 (glance + policy + focus), uniform (focus net on whole frames, TSN), glance (glance net alone). */
    method: z.enum(METHODS).default('adafocus_v2'),
    /** Where AdaFocus patches come from: the learned policy, or the random / centre baselines. */
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
    policyHidden: positiveInt.max(4096).default(64),
    classifierWidth: positiveInt.max(8192).default(256),
    dropout: z.number().min(0).max(0.95).default(0),
    /** Normalisation of RGB bytes: (x / 255 - mean) / std. */
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0.485, 0.456, 0.406]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.229, 0.224, 0.225]),
    epochs: positiveInt.max(10000).default(1),
    batchSize: positiveInt.max(4096).default(8),
    /** Split each batch into chunks of this many videos and accumulate their gradients (memory). 0: whole batch. */
    microBatch: z.number().int().min(0).max(4096).default(0),
    optimizer: z.enum(['adam', 'sgd']).default('adam'),
    lr: z.number().positive().max(10).default(2e-3),
    momentum: z.number().min(0).max(0.999).default(0.9),
    weightDecay: z.number().min(0).max(1).default(1e-4),
    /** Per-part learning-rate multipliers (AdaFocusV2: policy x0.1, glance x0.5, focus x1, classifier x5). */
    lrPolicy: multiplier.default(0.1),
    lrGlance: multiplier.default(0.5),
    lrFocus: multiplier.default(1),
    lrClassifier: multiplier.default(5),
    /** Epochs of linear warm-up before the cosine decay. */
    warmupEpochs: z.number().min(0).max(1000).default(0),
    /** Horizontal flip of training videos (same flip for every frame of a video). */
    flip: z.boolean().default(true),
    /** Write a checkpoint every this many steps (besides every epoch end). 0: epoch ends only. */
    checkpointEvery: z.number().int().min(0).default(0),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.glanceSize > c.frameSize) ctx.addIssue({ code: 'custom', path: ['glanceSize'], message: `must be <= frameSize (${c.frameSize}), got ${c.glanceSize}` });
    if (c.patchSize > c.frameSize) ctx.addIssue({ code: 'custom', path: ['patchSize'], message: `must be <= frameSize (${c.frameSize}), got ${c.patchSize}` });
  });

export type TrainConfig = z.output<typeof configSchema>;
export type TrainConfigInput = z.input<typeof configSchema>;

/** Validate and fill defaults; throws ConfigError naming the first bad field. */
export function parseConfig(input: unknown): TrainConfig {
  const r = configSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new ConfigError(issue.keys[0]!, `unknown field (known: ${Object.keys(configSchema.shape).join(', ')})`);
  const field = issue.path.map(String).join('.') || '(root)';
  throw new ConfigError(field, issue.message);
}
