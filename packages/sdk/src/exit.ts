/**
 * Early-exit thresholds for a trained network, stored in its bundle: per-step scores on a
 * calibration set (the training set, as the papers) and, for each target mean GFLOPs per video,
 * the p^k schedule's thresholds found by @saccade/early-exit.
 */
import { thresholdsForBudget, type ScoreKind } from '@saccade/early-exit';
import type { GflopsStep } from '@saccade/metrics';

import type { VideoNet } from './video_net.js';
import type { BundleMeta } from './model.js';
import type { EvalResult } from './train.js';

/** [videos][steps][classes] from an EvalResult's flat logits. */
export function stepLogits(e: EvalResult): number[][][] {
  return Array.from({ length: e.videos }, (_, v) =>
    Array.from({ length: e.steps }, (_, s) => Array.from(e.logits.subarray((v * e.steps + s) * e.classes, (v * e.steps + s + 1) * e.classes))),
  );
}

/** Cumulative GFLOPs per step (a video stopping after step k costs row k-1) from a network's per-step GFLOPs. */
export function stepGflopsTable(perStep: readonly number[]): GflopsStep[] {
  let total = 0;
  return perStep.map((g, i) => {
    total += g;
    return { step: i + 1, gflops: total, breakdown: { model: total } };
  });
}

/** Thresholds for each target (mean GFLOPs per video), calibrated on `calibration`'s logits. */
export function calibrateExits(
  net: VideoNet,
  calibration: EvalResult,
  targets: readonly number[],
  score: ScoreKind = 'maxLogit',
): NonNullable<BundleMeta['exit']> {
  const table = stepGflopsTable(net.gflopsPerStep());
  const logits = stepLogits(calibration);
  return {
    score,
    budgets: targets.map((targetGflops) => {
      const r = thresholdsForBudget(logits, table, targetGflops, score);
      return { targetGflops, p: r.p, thresholds: r.thresholds, expectedGflops: r.expectedGflops };
    }),
  };
}
