/** AdaFocus V1's own config fields. */
import { z } from 'zod';

import type { ConfigOf } from '../../config/base.js';

export const ADAFOCUS_V1_FIELDS = {
  /** The policy's GRU width (the paper's 1024). */
  policyHidden: z.number().int().positive().max(4096).default(64),
  /** The policy encoder's 1x1 conv channels, and batch norm after it (the official ActivityNet policy: 32 channels, no batch norm). */
  policyChannels: z.number().int().positive().max(1024).default(64),
  policyNorm: z.boolean().default(true),
  /**
   * A grid position's patch corner in pixels: rounded to the nearest ('round') or down ('floor',
   * the official get_patch: floor(position * (frame - patch))).
   */
  patchSnap: z.enum(['round', 'floor']).default('round'),
  /** Discrete actions over a grid x grid set of patch positions (7 x 7 in the paper), or a Gaussian (continuous). */
  action: z.enum(['discrete', 'continuous']).default('discrete'),
  grid: z.number().int().min(2).max(64).default(7),
  /** Continuous actions: the Gaussian's fixed standard deviation (in frame fractions). */
  actionStd: z.number().positive().max(1).default(0.1),
  /** PPO: discount, ratio clip, value-loss and entropy weights (the paper's 0.7, 0.2, 0.5, 0.01). */
  gamma: z.number().min(0).max(1).default(0.7),
  ppoClip: z.number().positive().max(1).default(0.2),
  valueCoef: z.number().min(0).max(100).default(0.5),
  entropyCoef: z.number().min(0).max(100).default(0.01),
  /**
   * Training in stages: (1) focus network + classifier on random patches for `epochs`, (2) the
   * policy by PPO for `rlEpochs`, (3) the classifier alone on the policy's patches for
   * `finetuneEpochs`. `stages` runs through stage 1, 2 or 3 (a later run with --resume continues).
   */
  stages: z.number().int().min(1).max(3).default(3),
  rlEpochs: z.number().int().min(0).max(10000).default(1),
  finetuneEpochs: z.number().int().min(0).max(10000).default(1),
  /**
   * The paper's stage 0 before stage 1, for this many epochs (0: none): the glance and focus
   * backbones fine-tuned as frame classifiers, each on whole frames (the focus network's resized to
   * its patch size) with its own head, on the mean of its per-frame logits.
   */
  backboneEpochs: z.number().int().min(0).max(10000).default(0),
  /** Stage 1 trains the focus head on the patches too (Saccade), or only the classifier (false: the paper). */
  focusHeadLoss: z.boolean().default(true),
  /**
   * The PPO reward's baseline: p(true class) with random patches over the whole video
   * ('random-trajectory'), or with the policy's patches up to the step and one random patch at it
   * ('random-patch': the official reward).
   */
  reward: z.enum(['random-trajectory', 'random-patch']).default('random-trajectory'),
  /** Stage 3 trains the classifier on the policy's sampled patches, or on its most likely ones ('best': the paper). */
  finetunePatches: z.enum(['sampled', 'best']).default('sampled'),
  /** Stage 2 with its own optimiser: Adam at this constant learning rate, no weight decay (the paper's PPO: 3e-4). Unset: the run's optimiser and schedule. */
  ppoAdamLr: z.number().positive().max(1).optional(),
} satisfies z.ZodRawShape;

export type AdaFocusV1Config = ConfigOf<'adafocus_v1', typeof ADAFOCUS_V1_FIELDS>;
