/**
 * Temporal conditional exit as in AdaFocusV2+ / Uni-AdaFocus, with no extra training: a video is
 * processed step by step (frames in coarse-to-fine order) and stops at the first step whose
 * confidence passes that step's threshold; the last step accepts everything. Thresholds are
 * calibrated on the training set so that the proportions of videos exiting at each step follow a
 * budget: the papers' schedule q_k proportional to p^k (MSDNet's), or a direct search for a target
 * mean GFLOPs per video.
 */
import { meanGflopsPerVideo, topKAccuracy, type GflopsStep } from '@saccade/metrics';
import { Rng } from '@saccade/tensor';

import { ExitCalibrationError } from './errors.js';

export type ScoreKind = 'maxLogit' | 'maxSoftmax' | 'negEntropy';

/** Logits of every video at every step: [videos][steps][classes]. */
export type StepLogits = readonly (readonly (readonly number[])[])[];

function checkLogits(logits: StepLogits): [number, number, number] {
  if (logits.length === 0) throw new ExitCalibrationError('no videos');
  const steps = logits[0]!.length;
  const classes = logits[0]![0]?.length ?? 0;
  if (steps === 0 || classes === 0) throw new ExitCalibrationError('videos have no steps or no classes');
  logits.forEach((v, i) => {
    if (v.length !== steps) throw new ExitCalibrationError(`video ${i} has ${v.length} steps, video 0 has ${steps}`);
    v.forEach((row, k) => {
      if (row.length !== classes) throw new ExitCalibrationError(`video ${i} step ${k} has ${row.length} logits, expected ${classes}`);
      for (const x of row) if (!Number.isFinite(x)) throw new ExitCalibrationError(`video ${i} step ${k} has a non-finite logit (${x})`);
    });
  });
  return [logits.length, steps, classes];
}

/** Confidence of one step's logits: the largest logit (the papers), the largest softmax probability, or minus the entropy. */
export function confidence(logits: readonly number[], kind: ScoreKind = 'maxLogit'): number {
  const max = Math.max(...logits);
  if (kind === 'maxLogit') return max;
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  if (kind === 'maxSoftmax') return 1 / sum; // exp(max - max) / sum
  return e.reduce((acc, v) => {
    const p = v / sum;
    return p > 0 ? acc + p * Math.log(p) : acc;
  }, 0);
}

/** [videos][steps] confidences. */
export function stepScores(logits: StepLogits, kind: ScoreKind = 'maxLogit'): number[][] {
  checkLogits(logits);
  return logits.map((v) => v.map((row) => confidence(row, kind)));
}

/** Exit proportions of the p^k schedule (k = 1..steps), normalised: p = 1 spreads exits evenly, small p exits early. */
export function exitProportions(p: number, steps: number): number[] {
  if (!(p > 0)) throw new ExitCalibrationError(`p must be positive, got ${p}`);
  if (!Number.isInteger(steps) || steps < 1) throw new ExitCalibrationError(`steps must be a positive integer, got ${steps}`);
  const raw = Array.from({ length: steps }, (_, k) => p ** (k + 1));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

/**
 * Thresholds per step so that, on these scores, the given proportions of videos exit at each step
 * (the most confident of those still running exit). The last threshold is -Infinity.
 */
export function calibrateThresholds(scores: readonly (readonly number[])[], proportions: readonly number[]): number[] {
  const n = scores.length;
  const steps = proportions.length;
  if (n === 0) throw new ExitCalibrationError('no videos to calibrate on');
  if (scores.some((s) => s.length !== steps)) throw new ExitCalibrationError(`scores must have ${steps} steps per video`);
  let remaining = Array.from({ length: n }, (_, i) => i);
  const thresholds: number[] = [];
  let exitedSoFar = 0;
  for (let k = 0; k < steps; k++) {
    if (k === steps - 1) {
      thresholds.push(-Infinity);
      break;
    }
    const target = Math.round(proportions.slice(0, k + 1).reduce((a, b) => a + b, 0) * n) - exitedSoFar;
    const count = Math.max(0, Math.min(remaining.length, target));
    const sorted = [...remaining].sort((a, b) => scores[b]![k]! - scores[a]![k]!);
    if (count === 0) {
      thresholds.push(Infinity);
      continue;
    }
    const threshold = scores[sorted[count - 1]!]![k]!;
    thresholds.push(threshold);
    const exiting = new Set(remaining.filter((i) => scores[i]![k]! >= threshold));
    exitedSoFar += exiting.size;
    remaining = remaining.filter((i) => !exiting.has(i));
  }
  return thresholds;
}

/** 1-based exit step of every video: the first step whose score reaches its threshold. */
export function exitSteps(scores: readonly (readonly number[])[], thresholds: readonly number[]): number[] {
  return scores.map((s) => {
    for (let k = 0; k < thresholds.length; k++) if (s[k]! >= thresholds[k]!) return k + 1;
    return thresholds.length;
  });
}

/** Accuracy (top-1, 0..1) and mean GFLOPs when each video stops at its exit step. */
export function evaluateExits(
  logits: StepLogits,
  labels: readonly number[],
  exits: readonly number[],
  table: readonly GflopsStep[],
): { accuracy: number; meanGflops: number } {
  const [n] = checkLogits(logits);
  if (labels.length !== n || exits.length !== n) throw new ExitCalibrationError(`${n} videos, ${labels.length} labels, ${exits.length} exit steps`);
  const finalLogits = logits.map((v, i) => [...v[exits[i]! - 1]!]);
  return { accuracy: topKAccuracy(finalLogits, labels, 1), meanGflops: meanGflopsPerVideo(table, exits) };
}

/** Exit steps with the same number of videos per step as `reference`, but chosen at random (seeded). */
export function randomExits(reference: readonly number[], seed: number): number[] {
  return new Rng(seed).shuffle(reference);
}

/**
 * Expected accuracy of random exit with these per-step counts: over all ways of choosing which
 * videos exit at each step, sum_k (n_k / N) * accuracy of every video at step k. This is the mean
 * of `randomExits` over all its seeds, without the noise of one draw (on a few hundred videos one
 * draw moves by a point or two, enough to flip a comparison).
 */
export function randomExitAccuracy(logits: StepLogits, labels: readonly number[], exits: readonly number[]): number {
  const [n, steps] = checkLogits(logits);
  if (labels.length !== n || exits.length !== n) throw new ExitCalibrationError(`${n} videos, ${labels.length} labels, ${exits.length} exit steps`);
  let expected = 0;
  for (let k = 0; k < steps; k++) {
    const count = exits.filter((e) => e === k + 1).length;
    if (count === 0) continue;
    const right = logits.filter((v, i) => v[k]!.indexOf(Math.max(...v[k]!)) === labels[i]).length;
    expected += (count / n) * (right / n);
  }
  return expected;
}

export interface BudgetPoint {
  /** The p of the p^k schedule. */
  p: number;
  /** The mean GFLOPs per video asked for, when the point comes from a direct search (`targets`). */
  targetGflops?: number;
  thresholds: number[];
  /** Fraction of validation videos exiting at each step. */
  exitFractions: number[];
  accuracy: number;
  meanGflops: number;
  /** The random-exit baseline with the same exit counts per step: its expected accuracy (randomExitAccuracy). */
  randomAccuracy: number;
  randomMeanGflops: number;
}

export interface BudgetCurveInput {
  /** Calibration (training) set logits. */
  calibration: StepLogits;
  /** Evaluation set logits and labels. */
  evaluation: { logits: StepLogits; labels: readonly number[] };
  /** Cumulative GFLOPs per step (from @saccade/metrics' gflopsTable). */
  gflops: readonly GflopsStep[];
  /** The p values; default a spread from early to late exits. */
  ps?: readonly number[];
  /**
   * Target mean GFLOPs per video, one point each, thresholds by direct search on the calibration
   * set (thresholdsForBudget); replaces `ps` when given.
   */
  targets?: readonly number[];
  kind?: ScoreKind;
}

/** The budget curve: accuracy and mean GFLOPs per budget, beside random exit at the same budgets. */
export function budgetCurve(input: BudgetCurveInput): BudgetPoint[] {
  const [, steps] = checkLogits(input.calibration);
  const [, evalSteps] = checkLogits(input.evaluation.logits);
  if (steps !== evalSteps) throw new ExitCalibrationError(`calibration has ${steps} steps, evaluation ${evalSteps}`);
  if (input.gflops.length !== steps) throw new ExitCalibrationError(`the GFLOPs table has ${input.gflops.length} steps, the logits ${steps}`);
  const kind = input.kind ?? 'maxLogit';
  const calScores = stepScores(input.calibration, kind);
  const evalScores = stepScores(input.evaluation.logits, kind);
  const schedules: { p: number; thresholds: number[]; targetGflops?: number }[] = input.targets
    ? input.targets.map((target) => ({ ...thresholdsForBudget(input.calibration, input.gflops, target, kind), targetGflops: target }))
    : (input.ps ?? [0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2]).map((p) => ({
        p,
        thresholds: calibrateThresholds(calScores, exitProportions(p, steps)),
      }));
  return schedules.map(({ p, thresholds, targetGflops }) => {
    const exits = exitSteps(evalScores, thresholds);
    const real = evaluateExits(input.evaluation.logits, input.evaluation.labels, exits, input.gflops);
    const exitFractions = Array.from({ length: steps }, (_, k) => exits.filter((e) => e === k + 1).length / exits.length);
    return {
      p,
      ...(targetGflops !== undefined ? { targetGflops } : {}),
      thresholds,
      exitFractions,
      accuracy: real.accuracy,
      meanGflops: real.meanGflops,
      randomAccuracy: randomExitAccuracy(input.evaluation.logits, input.evaluation.labels, exits),
      // Random exit keeps the per-step exit counts: its cost is sum_k (n_k / N) * cost of step k.
      randomMeanGflops: exitFractions.reduce((sum, f, k) => sum + f * input.gflops[k]!.gflops, 0),
    };
  });
}

/**
 * Thresholds for a target mean GFLOPs per video: bisection on p until the calibration set's mean
 * cost is at or just under the target.
 */
export function thresholdsForBudget(
  calibration: StepLogits,
  gflops: readonly GflopsStep[],
  targetGflops: number,
  kind: ScoreKind = 'maxLogit',
): { p: number; thresholds: number[]; expectedGflops: number } {
  const [, steps] = checkLogits(calibration);
  if (gflops.length !== steps) throw new ExitCalibrationError(`the GFLOPs table has ${gflops.length} steps, the logits ${steps}`);
  const lowest = gflops[0]!.gflops;
  const highest = gflops[steps - 1]!.gflops;
  if (!(targetGflops >= lowest)) throw new ExitCalibrationError(`target ${targetGflops} GFLOPs is below one step's cost (${lowest})`);
  const scores = stepScores(calibration, kind);
  const cost = (p: number) => {
    const thresholds = calibrateThresholds(scores, exitProportions(p, steps));
    return { p, thresholds, expectedGflops: meanGflopsPerVideo(gflops, exitSteps(scores, thresholds)) };
  };
  if (targetGflops >= highest) return { p: Infinity, thresholds: [...Array<number>(steps - 1).fill(Infinity), -Infinity], expectedGflops: highest };
  // log p from small (exit early) to large (exit late); cost grows with p.
  let lo = Math.log(1e-4);
  let hi = Math.log(1e4);
  let best = cost(Math.exp(lo));
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    const c = cost(Math.exp(mid));
    if (c.expectedGflops <= targetGflops) {
      best = c;
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return best;
}
