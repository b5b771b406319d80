/** AdaFocus V1's own config fields. */
import { z } from 'zod';

import type { ConfigOf } from '../../config/base.js';

export const ADAFOCUS_V1_FIELDS = {
  /** The policy's GRU width. */
  policyHidden: z.number().int().positive().max(4096).default(64),
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
} satisfies z.ZodRawShape;

export type AdaFocusV1Config = ConfigOf<'adafocus_v1', typeof ADAFOCUS_V1_FIELDS>;
