/**
 * Evaluating a trained model, on @saccade/metrics and @saccade/early-exit: mAP of the last step's
 * scores, the early-exit budget curve against random exit, and videos per second of batched
 * classification. The CLI's eval, speed and bench print what these return.
 */
import { budgetCurve, type BudgetPoint } from '@saccade/early-exit';
import { meanAveragePrecision, median, multiHot, softmax } from '@saccade/metrics';

import type { VideoDataset } from './dataset.js';
import { stepGflopsTable, stepLogits } from './exit.js';
import type { SaccadeModel } from './model.js';
import type { EvalResult } from './train.js';

/**
 * Budgets of the early-exit curve: fractions of the way from the model's cheapest exit (every
 * video stops after its first step) to its full GFLOPs per video. A budget below the first step's
 * cost cannot be met, so the eight budgets span each model's own range: AdaFocusV2's first step is
 * 1/T of its cost, Uni-AdaFocus's glance-only exit over half of it.
 */
export const CURVE_FRACTIONS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

/** The early-exit curve's target GFLOPs of a model whose steps cost `gflopsPerStep` (CURVE_FRACTIONS of the way from the first step's cost to the sum). */
export function curveTargets(gflopsPerStep: readonly number[]): number[] {
  const first = gflopsPerStep[0] ?? 0;
  const full = gflopsPerStep.reduce((a, b) => a + b, 0);
  return CURVE_FRACTIONS.map((f) => first + f * (full - first));
}

/** Mean average precision of the final step's softmax scores against every label of each video (its one label on single-label sets). */
export function finalStepMap(e: EvalResult): number {
  const last = stepLogits(e).map((v) => v[v.length - 1]!);
  return meanAveragePrecision(softmax(last), multiHot(e.labelSets ?? Array.from(e.labels, (l) => [l]), e.classes)).mAP;
}

/**
 * The early-exit budget curve of a model: thresholds found on the calibration logits by direct
 * search for each target mean GFLOPs (`curveTargets`: eight budgets between the first step's cost
 * and the full cost), accuracy on the evaluation logits beside the expected accuracy of random exit.
 */
export function exitBudgetCurve(model: SaccadeModel, calibration: EvalResult, evaluation: EvalResult): BudgetPoint[] {
  const gflops = stepGflopsTable(model.meta.gflopsPerStep);
  const targets = curveTargets(model.meta.gflopsPerStep);
  return budgetCurve({
    calibration: stepLogits(calibration),
    evaluation: { logits: stepLogits(evaluation), labels: Array.from(evaluation.labels) },
    gflops,
    targets,
  });
}

/**
 * Videos per second of several models on the same decoded videos, timed in interleaved rounds
 * (one batch of each model per round, after two warm-up rounds); per model, the median round. The
 * median of many short rounds resists the odd slow one (a garbage collection, the other core's work
 * on shared memory bandwidth); interleaving spreads drift over all models.
 */
export function measureThroughputInterleaved(models: readonly SaccadeModel[], videos: readonly Uint8Array[], rounds = 11): number[] {
  const times = models.map(() => [] as number[]);
  for (let r = 0; r < rounds + 2; r++) {
    models.forEach((m, i) => {
      const t0 = performance.now();
      m.logitsBatch(videos);
      if (r >= 2) times[i]!.push(performance.now() - t0);
    });
  }
  return times.map((ts) => videos.length / (median(ts) / 1000));
}

/** Videos per second of batched classification (decoded frames in, logits out) of one model on the first `batch` videos. */
export function measureThroughput(model: SaccadeModel, data: VideoDataset, batch = 8, rounds = 11): number {
  const videos = Array.from({ length: Math.min(batch, data.length) }, (_, i) => data.video(i));
  return measureThroughputInterleaved([model], videos, rounds)[0]!;
}
