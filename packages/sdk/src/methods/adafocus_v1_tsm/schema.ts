/** The Something-Something AdaFocus V1's own config fields (its policy and PPO fields are AdaFocus V1's). */
import { z } from 'zod';

import type { ConfigOf } from '../../config/base.js';
import { ADAFOCUS_V1_FIELDS } from '../adafocus_v1/schema.js';

const V1 = ADAFOCUS_V1_FIELDS;

export const ADAFOCUS_V1_TSM_FIELDS = {
  /**
   * Frames the glance sees (the official num_segments_glancer, 8), taken from the `frames` focus
   * frames as TSN samples a clip's segments at test time: frame floor(tick / 2 + tick x i), tick = frames / glanceFrames.
   */
  glanceFrames: z.number().int().min(1).max(256).default(8),
  /** TSM's fold: C / shiftDiv channels shift each way in both backbones (the official shift_div, 8). */
  shiftDiv: z.number().int().min(2).max(64).default(8),
  /** The glance's class scores join the prediction (the official with_glancer: true). */
  withGlance: z.boolean().default(true),
  policyHidden: V1.policyHidden,
  policyChannels: V1.policyChannels,
  /** Batch norm after the policy encoder's conv and its linear layer (the official actorcritic_with_bn). */
  policyNorm: V1.policyNorm,
  /** One patch position for the whole clip: a Gaussian centre (the paper's Something-Something setting) or a grid cell. */
  action: z.enum(['discrete', 'continuous']).default('continuous'),
  grid: z.number().int().min(2).max(64).default(5),
  actionStd: V1.actionStd,
  ppoClip: V1.ppoClip,
  valueCoef: V1.valueCoef,
  entropyCoef: V1.entropyCoef,
  /**
   * Training in stages: (1) the backbones (the glance's only when not pretrained) on one random
   * patch position per clip for `epochs`, (2) the policy by PPO for `rlEpochs` (reward: p(true
   * class) with the policy's patches minus with a random position's), (3) the focus network and
   * its head on the policy's patches for `finetuneEpochs`.
   */
  stages: V1.stages,
  rlEpochs: V1.rlEpochs,
  finetuneEpochs: V1.finetuneEpochs,
  ppoAdamLr: V1.ppoAdamLr,
} satisfies z.ZodRawShape;

export type AdaFocusV1TsmConfig = ConfigOf<'adafocus_v1_tsm', typeof ADAFOCUS_V1_TSM_FIELDS>;
