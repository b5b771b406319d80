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
  /**
   * Where the spatial policy starts (Saccade's; the official has no prior, 0): above 0, its centres
   * are offsets from where each glance map's features peak (`saliencyPositions` of @saccade/policy,
   * a soft-argmax of the standardised channel maximum at this sharpness), and its last convolution
   * starts at zero, so an untrained policy centres every box on that peak at the middle size. From
   * random weights (0) it starts at random places and needs far more training to find the object
   * (on the quick benchmark, not in 60 steps). Default 3, AdaFocusV2's readout's prior.
   */
  spatialPrior: z.number().min(0).max(100).default(3),
  /**
   * Where the temporal policy starts (Saccade's; the official has no prior, 0): above 0, the glance's
   * confidence in each glance frame (`glanceConfidence` of @saccade/policy: the negative entropy of
   * its head, standardised per video) times this is added to the temporal policy's logits, and the
   * policy's last convolution starts at zero, so an untrained policy favours the frames where the
   * glance sees something. Default 0.
   */
  temporalPrior: z.number().min(0).max(100).default(0),
  /**
   * What trains the spatial policy: 'proxy' (the official: the spatial proxy and the scale-norm
   * loss; the focus network's patches are cut at detached actions) or 'crop' (also the learned
   * branch's focus and classifier losses, through the differentiable crop, as AdaFocusV2 trains its
   * policy).
   */
  spatialGradient: z.enum(['proxy', 'crop']).default('proxy'),
  /** The temperature of the distribution the focus frames are drawn from (official 1). */
  temperature: z.number().positive().max(100).default(1),
  /** Draws of the Monte-Carlo temporal proxy (official 128). */
  mcSamples: z.number().int().positive().max(4096).default(128),
  /**
   * The second branch of training: the focus network and the classifier also see patches at random
   * centres with the patch's own side (the official code's always on: imported official checkpoints
   * set it). Default off: with the spatial prior the policy starts on the object, so the branch's
   * exploration is not needed, and half of the focus network's training signal came from patches
   * that mostly miss the object (AdaFocusV2's Saccade default, 'none', for the same reason).
   */
  randomBranch: z.boolean().default(false),
  /** The weight of the loss that pulls the chosen box sizes towards the largest (official `norm_ratio`, 1; 0.75 on Mini-Kinetics). */
  normWeight: z.number().min(0).max(100).default(1),
  /**
   * The prediction at each exit (inference only): 'classifier' (the official: PoolingClassifier's
   * glance and focus heads), or the heads of the backbones, which learn faster than a classifier
   * trained from scratch on a small data set: 'frames' (default) averages the log-probabilities of
   * every frame seen, the glance head's on the Tg glance frames and the focus head's on the focus
   * frames so far (the glance-only exit: the glance frames'); 'focus' averages the focus frames' alone
   * after the glance-only exit (AdaFocusV2's Saccade prediction).
   */
  prediction: z.enum(['classifier', 'focus', 'frames']).default('frames'),
  /**
   * With the 'frames' prediction, how many focus frames the glance's average counts as (inference
   * only; Tg counts every glance frame as one focus frame). Default 2: a focus patch sees the object
   * at full resolution, a glance frame at the glance's; on the quick benchmark's temporal variants
   * it was the best single weight (reveal: 2 beat Tg and 0 by 2.5 and 4 points over two seeds;
   * hidden item: 2 and 0 tied over five seeds, Tg lost 6 points on one;
   * docs/experiments/uni-adafocus-quick-bench.md).
   */
  glanceWeight: z.number().min(0).max(4096).default(2),
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
