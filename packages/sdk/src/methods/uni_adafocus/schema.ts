/** Uni-AdaFocus's own config fields. */
import { z } from 'zod';

import type { ConfigOf } from '../../config/base.js';

export const UNI_ADAFOCUS_FIELDS = {
  /** Glance frames per video (Tg of the T frames, one per segment of T / Tg; official 16 of 48). */
  glanceFrames: z.number().int().positive().max(256).default(8),
  /** Focus frames per video (K of the T frames, chosen by the temporal policy; official 16). */
  focusFrames: z.number().int().positive().max(256).default(4),
  /** The spatial policy's hidden width (official `stn_hidden_dim`, 128). */
  spatialHidden: z.number().int().positive().max(4096).default(32),
  /** The temporal policy's hidden width (official `temporal_hidden_dim`, 64). */
  temporalHidden: z.number().int().positive().max(4096).default(32),
  /**
   * The smallest and largest box side the spatial policy can choose, in frame pixels (the box is
   * resampled to patchSize). Default: 3/7 of the frame and the whole frame, the official 96 and 224
   * px on 224-px frames.
   */
  sideMin: z.number().positive().max(1024).optional(),
  sideMax: z.number().positive().max(1024).optional(),
  /** The temperature of the distribution the focus frames are drawn from (official 1). */
  temperature: z.number().positive().max(100).default(1),
  /** Draws of the Monte-Carlo temporal proxy (official 128). */
  mcSamples: z.number().int().positive().max(4096).default(128),
  /**
   * The second branch of training: the focus network and the classifier also see patches at random
   * centres with the patch's own side (the official code's always on).
   */
  randomBranch: z.boolean().default(true),
  /** The weight of the loss that pulls the chosen box sizes towards the largest (official `norm_ratio`, 1; 0.75 on Mini-Kinetics). */
  normWeight: z.number().min(0).max(100).default(1),
  /**
   * The prediction at each exit (inference only): 'classifier' (the official: PoolingClassifier's
   * glance and focus heads) or 'focus' (the heads of the backbones: the glance head's
   * log-probabilities averaged over the glance frames at the glance-only exit, then the focus
   * head's averaged over the focus frames seen; AdaFocusV2's Saccade default, which learns faster
   * than a classifier trained from scratch on a small data set).
   */
  prediction: z.enum(['classifier', 'focus']).default('focus'),
} satisfies z.ZodRawShape;

export type UniAdaFocusConfig = ConfigOf<'uni_adafocus', typeof UNI_ADAFOCUS_FIELDS>;

/** The box sides in pixels: the config's, or 3/7 of the frame and the whole frame. */
export function boxSides(c: Pick<UniAdaFocusConfig, 'frameSize' | 'sideMin' | 'sideMax'>): [number, number] {
  return [c.sideMin ?? (c.frameSize * 3) / 7, c.sideMax ?? c.frameSize];
}

/** The glance frames of a video at evaluation: one per segment of T / Tg, the official arange(T)[1::T // Tg] (the first of each segment when segments are one frame). */
export function glanceIndices(frames: number, glanceFrames: number): number[] {
  const step = Math.floor(frames / glanceFrames);
  const offset = Math.min(1, step - 1);
  return Array.from({ length: glanceFrames }, (_, i) => i * step + offset);
}
