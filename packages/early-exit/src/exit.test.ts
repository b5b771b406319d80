import { gflopsTable } from '@saccade/metrics';
import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import {
  budgetCurve,
  calibrateThresholds,
  confidence,
  evaluateExits,
  exitProportions,
  exitSteps,
  randomExitAccuracy,
  randomExits,
  stepScores,
  thresholdsForBudget,
} from './exit.js';
import { ExitCalibrationError } from './errors.js';

/**
 * Synthetic videos of 4 steps, 5 classes: an easy video is confidently right from step 1; a hard
 * one is unsure (and often wrong) early and becomes right as steps accumulate, as a model that sees
 * more frames does.
 */
function synthetic(n: number, seed: number) {
  const rng = new Rng(seed);
  const labels: number[] = [];
  const logits = Array.from({ length: n }, () => {
    const label = rng.int(0, 4);
    labels.push(label);
    const ease = rng.uniform(0, 1);
    return Array.from({ length: 4 }, (_, k) => {
      const evidence = ease * 4 + k * 1.5 - 2 + rng.normal(0, 0.5);
      const wrong = (label + 1 + rng.int(0, 3)) % 5;
      const target = evidence > 0 ? label : wrong;
      return Array.from({ length: 5 }, (_, c) => (c === target ? Math.abs(evidence) + 0.1 : 0) + rng.normal(0, 0.05));
    });
  });
  return { logits, labels };
}

describe('confidence and schedules', () => {
  it('computes the three scores', () => {
    expect(confidence([1, 3, 2])).toBe(3);
    expect(confidence([0, 0], 'maxSoftmax')).toBeCloseTo(0.5, 12);
    expect(confidence([0, 0], 'negEntropy')).toBeCloseTo(-Math.log(2), 12);
  });

  it('spreads exits as p^k', () => {
    expect(exitProportions(1, 4)).toEqual([0.25, 0.25, 0.25, 0.25]);
    exitProportions(0.5, 4).forEach((q, k) => expect(q).toBeCloseTo([8, 4, 2, 1][k]! / 15, 12));
    expect(() => exitProportions(0, 4)).toThrow(ExitCalibrationError);
  });
});

describe('calibration', () => {
  it('lets the most confident exit first, in the asked proportions, and the last step take the rest', () => {
    const scores = [
      [0.9, 0.1, 0.1],
      [0.2, 0.8, 0.1],
      [0.3, 0.2, 0.1],
      [0.1, 0.3, 0.1],
    ];
    const thresholds = calibrateThresholds(scores, [0.25, 0.5, 0.25]);
    expect(thresholds).toEqual([0.9, 0.3, -Infinity]);
    expect(exitSteps(scores, thresholds)).toEqual([1, 2, 3, 2]);
  });

  it('meets the proportions on its own calibration set', () => {
    const { logits } = synthetic(400, 1);
    const scores = stepScores(logits);
    const proportions = exitProportions(0.7, 4);
    const exits = exitSteps(scores, calibrateThresholds(scores, proportions));
    proportions.forEach((q, k) => expect(Math.abs(exits.filter((e) => e === k + 1).length / 400 - q)).toBeLessThan(0.01));
  });

  it('finds thresholds for a target mean GFLOPs', () => {
    const { logits } = synthetic(300, 2);
    const table = gflopsTable({ glance: 0.01, focus: 0.04 }, 4);
    for (const target of [0.08, 0.12, 0.17]) {
      const r = thresholdsForBudget(logits, table, target);
      expect(r.expectedGflops).toBeLessThanOrEqual(target + 1e-12);
      expect(r.expectedGflops).toBeGreaterThan(target - 0.01);
    }
    expect(() => thresholdsForBudget(logits, table, 0.01)).toThrow(/below one step's cost/);
  });
});

describe('budget curve', () => {
  it('beats random exit at the same budget, with the same GFLOPs', () => {
    const train = synthetic(600, 3);
    const val = synthetic(600, 4);
    const table = gflopsTable({ glance: 0.01, focus: 0.04 }, 4);
    const curve = budgetCurve({ calibration: train.logits, evaluation: val, gflops: table, ps: [0.3, 0.6, 1, 1.5] });
    for (const point of curve) {
      // Mean GFLOPs from the exit fractions and the cumulative table, written out by hand.
      const byHand = point.exitFractions.reduce((sum, f, k) => sum + f * (0.01 * (k + 1) + 0.04 * (k + 1)), 0);
      expect(point.meanGflops).toBeCloseTo(byHand, 12);
      expect(point.randomMeanGflops).toBeCloseTo(byHand, 12);
      expect(point.accuracy).toBeGreaterThan(point.randomAccuracy);
      expect(point.exitFractions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    // Larger p spends more.
    expect(curve[3]!.meanGflops).toBeGreaterThan(curve[0]!.meanGflops);
  });

  it('keeps per-step counts in the random baseline', () => {
    const exits = [1, 1, 2, 3, 4, 4, 4];
    const shuffled = randomExits(exits, 9);
    expect([...shuffled].sort()).toEqual([...exits].sort());
    expect(randomExits(exits, 9)).toEqual(shuffled);
  });

  it('gives the expected accuracy of random exit: the mean over random draws, and by hand', () => {
    const { logits, labels } = synthetic(60, 4);
    const exits = labels.map((_, i) => 1 + (i % 4));
    const exact = randomExitAccuracy(logits, labels, exits);
    let sum = 0;
    const draws = 3000;
    for (let s = 0; s < draws; s++) sum += evaluateExits(logits, labels, randomExits(exits, s), gflopsTable({ glance: 0.01, focus: 0.04 }, 4)).accuracy;
    expect(Math.abs(sum / draws - exact)).toBeLessThan(0.005);
    // Two videos, two steps: video 0 right only at step 2, video 1 right at both; one exits at each
    // step: (1/2)(1/2) + (1/2)(2/2) = 0.75.
    const tiny = [
      [
        [1, 0],
        [0, 1],
      ],
      [
        [0, 1],
        [0, 1],
      ],
    ];
    expect(randomExitAccuracy(tiny, [1, 1], [1, 2])).toBeCloseTo(0.75, 12);
  });

  it('makes a curve from target GFLOPs by direct search', () => {
    const train = synthetic(300, 1);
    const val = synthetic(200, 2);
    const table = gflopsTable({ glance: 0.01, focus: 0.04 }, 4);
    const curve = budgetCurve({ calibration: train.logits, evaluation: val, gflops: table, targets: [0.08, 0.12, 0.16] });
    expect(curve.map((p) => p.targetGflops)).toEqual([0.08, 0.12, 0.16]);
    for (const point of curve) {
      expect(point.meanGflops).toBeLessThan(point.targetGflops! * 1.15);
      expect(point.accuracy).toBeGreaterThan(point.randomAccuracy);
    }
  });

  it('rejects ragged or mismatched inputs', () => {
    expect(() => stepScores([])).toThrow(/no videos/);
    expect(() =>
      stepScores([
        [[1, 2]],
        [
          [1, 2],
          [3, 4],
        ],
      ]),
    ).toThrow(/video 1 has 2 steps/);
    expect(() => stepScores([[[1, NaN]]])).toThrow(/non-finite/);
  });
});
