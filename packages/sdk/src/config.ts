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

export const METHODS = ['adafocus_v2', 'adafocus_v1', 'adafocus_v3', 'uniform', 'glance'] as const;
export type Method = (typeof METHODS)[number];

export const configSchema = z
  .object({
    /**
     * adafocus_v2 (glance + differentiable policy + focus, one stage), adafocus_v1 (PPO policy over a
     * grid, three stages), adafocus_v3 (spatio-temporal cubes: one patch position, K chosen frames),
     * uniform (focus net on whole frames, TSN), glance (glance net alone).
     */
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
    /**
     * AdaFocusV2: which glance feature map the policy reads: the last ('last', stride 8 for
     * resnet_small: 4 x 4 at glance 32) or the stage before it ('previous', twice as fine).
     */
    policyMap: z.enum(['last', 'previous']).default('previous'),
    /**
     * AdaFocusV2: how the policy turns the map into a centre. 'dense' (the paper's): 1x1 conv + BN +
     * tanh, flatten, linear, a GRU over the frames, linear + sigmoid. 'spatial': a 1x1 conv scores
     * each cell (from the map and its standardised channel maximum), the centre is the soft-argmax
     * of the scores; stateless, trained through the crop like 'dense'.
     */
    policyReadout: z.enum(['dense', 'spatial']).default('spatial'),
    /**
     * The spatial readout's cell positions: 'receptive' (the default) places each cell of the map at
     * its receptive field's centre in the frame (from the glance's layers: torch padding before the
     * strided layers puts the 8 x 8 map's cells 1.5 glance pixels, 6 frame pixels, up and left of
     * the even grid); 'grid' at ((i + 0.5) / h, (j + 0.5) / w), which put the patches' centres ~4
     * pixels below and right of the item on average.
     */
    policyCells: z.enum(['grid', 'receptive']).default('receptive'),
    /**
     * AdaFocusV2's second, random-centre branch: 'all' (the paper's) trains the classifier and the
     * focus head on it; 'focus' trains only the focus network's head on it, so that the classifier
     * learns from the policy's patches alone; 'none' (the default) drops the branch: every part
     * learns from the policy's patches only (the spatial readout starts on the item, so the branch's
     * exploration is not needed, and it costs a third of a training step). With the paper's 'dense'
     * readout, which starts anywhere, the paper's 'all' is the one to set.
     */
    randomBranch: z.enum(['all', 'focus', 'none']).default('none'),
    /**
     * AdaFocusV2's prediction after step k (inference only; training is the same): 'focus' (the
     * default: the focus head's log-probabilities on the policy's patches averaged over the frames
     * seen, TSN's consensus; the step classifier and the glance head are trained as auxiliaries
     * and not run, and the glance runs only as far as the policy's map), 'classifier' (the
     * paper's: the step classifier's logits) or 'ensemble' (the mean of three log-probability
     * vectors: the step classifier's, and the glance and focus heads' averaged over the frames seen).
     */
    prediction: z.enum(['classifier', 'ensemble', 'focus']).default('focus'),
    /** AdaFocus V1: discrete actions over a grid x grid set of patch positions (7 x 7 in the paper), or a Gaussian (continuous). */
    action: z.enum(['discrete', 'continuous']).default('discrete'),
    grid: z.number().int().min(2).max(64).default(7),
    /** AdaFocus V1, continuous actions: the Gaussian's fixed standard deviation (in frame fractions). */
    actionStd: z.number().positive().max(1).default(0.1),
    /** AdaFocus V1's PPO: discount, ratio clip, value-loss and entropy weights (the paper's 0.7, 0.2, 0.5, 0.01). */
    gamma: z.number().min(0).max(1).default(0.7),
    ppoClip: z.number().positive().max(1).default(0.2),
    valueCoef: z.number().min(0).max(100).default(0.5),
    entropyCoef: z.number().min(0).max(100).default(0.01),
    /**
     * AdaFocus V1 trains in stages: (1) focus network + classifier on random patches for `epochs`,
     * (2) the policy by PPO for `rlEpochs`, (3) the classifier alone on the policy's patches for
     * `finetuneEpochs`. `stages` runs through stage 1, 2 or 3 (a later run with --resume continues).
     */
    stages: z.number().int().min(1).max(3).default(3),
    rlEpochs: z.number().int().min(0).max(10000).default(1),
    finetuneEpochs: z.number().int().min(0).max(10000).default(1),
    /** AdaFocus V3: focus frames per video (K of the T frames; the steps of its early exit). */
    focusFrames: positiveInt.max(256).default(8),
    classifierWidth: positiveInt.max(8192).default(256),
    dropout: z.number().min(0).max(0.95).default(0),
    /** Normalisation of RGB bytes: (x / 255 - mean) / std. */
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0.485, 0.456, 0.406]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.229, 0.224, 0.225]),
    epochs: positiveInt.max(10000).default(1),
    batchSize: positiveInt.max(4096).default(8),
    /**
     * Split each batch into chunks of this many videos and accumulate their gradients (memory). 0:
     * whole batch. parseConfig fills the default: 2 for the uniform baseline (its full-resolution
     * frames through the focus network need it within wasm's 4 GB heap at 128 px), 0 otherwise.
     */
    microBatch: z.number().int().min(0).max(4096).optional(),
    optimizer: z.enum(['adam', 'sgd']).default('adam'),
    lr: z.number().positive().max(10).default(2e-3),
    momentum: z.number().min(0).max(0.999).default(0.9),
    weightDecay: z.number().min(0).max(1).default(1e-4),
    /**
     * Per-part learning-rate multipliers (the AdaFocusV2 paper's: policy x0.1, glance x0.5, focus x1,
     * classifier x5). lrFocus defaults to 0.2 for AdaFocusV2 from pretrained backbones (the
     * pretrained focus network forgets less of what it knows; chosen on training videos held out
     * from training) and to 1 otherwise: from scratch, and for every other method (the uniform
     * baseline's whole network is its 'focus' part). parseConfig fills it; the bare schema leaves
     * it undefined when it is not given.
     */
    lrPolicy: multiplier.default(0.1),
    lrGlance: multiplier.default(0.5),
    lrFocus: multiplier.optional(),
    lrClassifier: multiplier.default(5),
    /** Epochs of linear warm-up before the cosine decay. */
    warmupEpochs: z.number().min(0).max(1000).default(0),
    /** Horizontal flip of training videos (same flip for every frame of a video). */
    flip: z.boolean().default(true),
    /** Write a checkpoint every this many steps (besides every epoch end). 0: epoch ends only. */
    checkpointEvery: z.number().int().min(0).default(0),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.glanceSize > c.frameSize)
      ctx.addIssue({ code: 'custom', path: ['glanceSize'], message: `must be <= frameSize (${c.frameSize}), got ${c.glanceSize}` });
    if (c.patchSize > c.frameSize) ctx.addIssue({ code: 'custom', path: ['patchSize'], message: `must be <= frameSize (${c.frameSize}), got ${c.patchSize}` });
    if ((c.method === 'adafocus_v1' && c.patches === 'centre') || (c.method === 'adafocus_v3' && c.patches !== 'policy')) {
      ctx.addIssue({
        code: 'custom',
        path: ['patches'],
        message: `must be ${c.method === 'adafocus_v1' ? 'policy or random' : 'policy'} for ${c.method} (the other baselines are adafocus_v2 with patches random / centre), got ${c.patches}`,
      });
    }
    if (c.method === 'adafocus_v3' && c.focusFrames > c.frames) {
      ctx.addIssue({
        code: 'custom',
        path: ['focusFrames'],
        message: `must be <= frames (${c.frames}): cannot choose ${c.focusFrames} focus frames out of ${c.frames}`,
      });
    }
    if (c.method === 'adafocus_v1' && c.action === 'discrete' && c.grid - 1 > c.frameSize - c.patchSize) {
      // Grid cells are (frameSize - patchSize) / (grid - 1) pixels apart: less than one pixel and two cells are the same patch.
      ctx.addIssue({
        code: 'custom',
        path: ['grid'],
        message: `a ${c.grid} x ${c.grid} grid of ${c.patchSize}px patches does not fit a ${c.frameSize}px frame (at most ${c.frameSize - c.patchSize + 1} positions per side)`,
      });
    }
  });

/**
 * Fields added after bundles and checkpoints were first written, with the value every earlier one
 * was trained with (whatever the default is now): the policy's last map, the dense (GRU) readout,
 * the classifier's prediction and both branches training the classifier.
 */
const LEGACY_VALUES: Record<string, unknown> = {
  policyMap: 'last',
  policyReadout: 'dense',
  prediction: 'classifier',
  randomBranch: 'all',
  policyCells: 'grid',
};

/** A stored config (saccade.json, a checkpoint) with the fields it predates set to their values then. */
export function withLegacyValues<T>(stored: T): T {
  if (!stored || typeof stored !== 'object') return stored;
  return { ...LEGACY_VALUES, ...stored };
}

export type TrainConfig = Omit<z.output<typeof configSchema>, 'lrFocus' | 'microBatch'> & { lrFocus: number; microBatch: number };
export type TrainConfigInput = z.input<typeof configSchema>;

/** lrFocus's default, which depends on the method and on pretrained (see the field). */
const defaultLrFocus = (c: { method: Method; pretrained: boolean }): number => (c.method === 'adafocus_v2' && c.pretrained ? 0.2 : 1);

/** Validate and fill defaults; throws ConfigError naming the first bad field. */
export function parseConfig(input: unknown): TrainConfig {
  const r = configSchema.safeParse(input ?? {});
  if (r.success)
    return { ...r.data, lrFocus: r.data.lrFocus ?? defaultLrFocus(r.data), microBatch: r.data.microBatch ?? (r.data.method === 'uniform' ? 2 : 0) };
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new ConfigError(issue.keys[0]!, `unknown field (known: ${Object.keys(configSchema.shape).join(', ')})`);
  const field = issue.path.map(String).join('.') || '(root)';
  throw new ConfigError(field, issue.message);
}

export interface TrainingStage {
  /** What the stage trains, for progress and logs. */
  name: string;
  epochs: number;
  /** The parts (VideoNet.parts() keys) whose weights the stage updates; the others stay as they are. */
  parts: string[];
}

/** The stages a config trains in: AdaFocus V1's three (through config.stages), one for the others. */
export function trainingStages(c: TrainConfig): TrainingStage[] {
  if (c.method !== 'adafocus_v1') {
    const parts = c.method === 'uniform' ? ['focus'] : c.method === 'glance' ? ['glance'] : ['policy', 'glance', 'focus', 'classifier'];
    return [{ name: 'train', epochs: c.epochs, parts }];
  }
  // patches 'random': the paper's ablation, the same stages with a random policy (nothing to learn in stage 2).
  const random = c.patches === 'random';
  return [
    {
      name: 'stage 1: focus + classifier, random patches',
      epochs: c.epochs,
      parts: c.pretrained ? ['focus', 'classifier'] : ['glance', 'focus', 'classifier'],
    },
    { name: random ? 'stage 2: none (random policy)' : 'stage 2: policy (PPO)', epochs: random ? 0 : c.rlEpochs, parts: ['policy'] },
    { name: `stage 3: classifier${random ? ', random patches' : ''}`, epochs: c.finetuneEpochs, parts: ['classifier'] },
  ].slice(0, c.stages);
}

/** One field on which a stored run's config and a requested one differ. */
export interface ConfigDifference {
  field: string;
  stored: unknown;
  requested: unknown;
}

/**
 * The fields on which a run's stored config (a checkpoint's) and the config asked for now differ,
 * in field order. `stages` may grow (AdaFocus V1 goes on one stage at a time), so a larger
 * requested `stages` is not a difference. Older stored configs get their legacy values first.
 */
export function configDifferences(stored: TrainConfig, requested: TrainConfig): ConfigDifference[] {
  const written = withLegacyValues(stored) as unknown as Record<string, unknown>;
  const now = requested as unknown as Record<string, unknown>;
  const fields = Object.keys(now);
  const out: ConfigDifference[] = [];
  for (const field of fields) {
    if (field === 'stages' && Number(written[field]) <= Number(now[field])) continue;
    if (JSON.stringify(written[field]) !== JSON.stringify(now[field])) out.push({ field, stored: written[field], requested: now[field] });
  }
  return out;
}

/** "lr 0.1 (run) vs 0.2 (now); seed 0 (run) vs 1 (now)". */
export function describeDifferences(differences: readonly ConfigDifference[]): string {
  return differences.map((d) => `${d.field} ${JSON.stringify(d.stored)} (run) vs ${JSON.stringify(d.requested)} (now)`).join('; ');
}

/**
 * Fields that only one method reads (the others would ignore them silently): AdaFocusV2's policy
 * readout and prediction, AdaFocus V1's grid, PPO and stages, AdaFocus V3's focus frames.
 */
export const METHOD_SPECIFIC_FIELDS: Readonly<Record<string, Method>> = {
  policyMap: 'adafocus_v2',
  policyReadout: 'adafocus_v2',
  policyCells: 'adafocus_v2',
  randomBranch: 'adafocus_v2',
  prediction: 'adafocus_v2',
  action: 'adafocus_v1',
  grid: 'adafocus_v1',
  actionStd: 'adafocus_v1',
  gamma: 'adafocus_v1',
  ppoClip: 'adafocus_v1',
  valueCoef: 'adafocus_v1',
  entropyCoef: 'adafocus_v1',
  stages: 'adafocus_v1',
  rlEpochs: 'adafocus_v1',
  finetuneEpochs: 'adafocus_v1',
  focusFrames: 'adafocus_v3',
};

/**
 * Refuse fields given for a method that does not read them (a ConfigError naming the field and
 * the method it belongs to), so that `--method v2 --set grid=3` is an error instead of a setting
 * that does nothing. A field at its default passes: a whole stored config (a run's config.json,
 * which carries every field) can be given back as it is.
 */
export function checkFieldsApply(given: Readonly<Record<string, unknown>>, method: Method): void {
  const defaults = parseConfig({}) as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(given)) {
    const owner = METHOD_SPECIFIC_FIELDS[field];
    if (owner === undefined || owner === method || JSON.stringify(value) === JSON.stringify(defaults[field])) continue;
    throw new ConfigError(field, `${JSON.stringify(value)} is for method ${owner} and does nothing for ${method}`);
  }
}
