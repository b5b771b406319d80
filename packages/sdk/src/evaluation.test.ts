import { describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import { createVideoNet } from './create.js';
import { datasetFromArrays } from './dataset.js';
import { CURVE_FRACTIONS, curveTargets, finalStepMap } from './evaluation.js';
import { evaluate, train, type EvalResult } from './train.js';

/** An EvalResult of 2 steps and 2 classes from each video's final-step logits (the first step's are noise). */
function result(last: [number, number][], labels: number[]): EvalResult {
  const logits = new Float32Array(last.length * 2 * 2);
  last.forEach(([a, b], v) => {
    logits.set([9, -9], v * 4);
    logits.set([a, b], v * 4 + 2);
  });
  return { videos: last.length, accuracy: 0, accuracyPerStep: [0, 0], meanLoss: 0, logits, labels: Int32Array.from(labels), steps: 2, classes: 2, seconds: 0 };
}

describe('curveTargets', () => {
  it('spreads eight budgets between the first step and the full cost, so a model whose first exit is dear still gets all of them', () => {
    // AdaFocusV2-like: 16 steps of equal cost; the first budget is 0.2 of the way from 1 to 16.
    const v2 = curveTargets(new Array<number>(16).fill(1));
    expect(v2).toHaveLength(CURVE_FRACTIONS.length);
    expect(v2[0]).toBeCloseTo(1 + 0.2 * 15, 12);
    expect(v2[7]).toBeCloseTo(1 + 0.9 * 15, 12);
    // Uni-AdaFocus-like: a glance-only exit of 0.6 of the cost, then 4 focus steps of 0.1.
    const uni = curveTargets([0.6, 0.1, 0.1, 0.1, 0.1]);
    expect(uni).toHaveLength(8);
    for (const t of uni) {
      expect(t).toBeGreaterThan(0.6);
      expect(t).toBeLessThan(1);
    }
    // Increasing, evenly spaced.
    for (let i = 1; i < 8; i++) expect(uni[i]! - uni[i - 1]!).toBeCloseTo(0.04, 12);
  });
});

describe('finalStepMap', () => {
  it("is the mean over classes of the average precision of the last step's softmax scores", () => {
    // Perfectly ranked on both classes.
    expect(
      finalStepMap(
        result(
          [
            [2, 0],
            [1, 0],
            [0, 3],
          ],
          [0, 0, 1],
        ),
      ),
    ).toBeCloseTo(1, 12);
    // Last-step softmax, class 0: v0 0.50, v1 0.73, v2 0.05; labels 1, 0, 0.
    // Class 0 ranked v1 (hit: 1/1), v0 (miss), v2 (hit: 2/3): AP0 = (1 + 2/3) / 2 = 5/6.
    // Class 1 ranked v2 (0.95, miss), v0 (0.50, hit: 1/2): AP1 = 1/2. mAP = (5/6 + 1/2) / 2 = 2/3.
    expect(
      finalStepMap(
        result(
          [
            [0, 0],
            [1, 0],
            [-3, 0],
          ],
          [1, 0, 0],
        ),
      ),
    ).toBeCloseTo(2 / 3, 6);
  });

  it('scores every label of a multi-label video (labelSets), as the official cal_map does', () => {
    // The same scores as above, v0 labelled with both classes: class 0 ranked v1 (hit 1/1), v0 (hit
    // 2/2), v2 (hit 3/3): AP0 = 1; class 1 ranked v2 (miss), v0 (hit 1/2): AP1 = 1/2. mAP = 3/4.
    const r = result(
      [
        [0, 0],
        [1, 0],
        [-3, 0],
      ],
      [1, 0, 0],
    );
    expect(finalStepMap({ ...r, labelSets: [[0, 1], [0], [0]] })).toBeCloseTo(3 / 4, 6);
  });
});

describe('multi-label datasets', () => {
  it('evaluate counts a top-1 prediction of any label as right; training draws labels from the set, seeded', async () => {
    const base = toyDataset(12, 4);
    const videos = Array.from({ length: base.length }, (_, i) => base.video(i));
    const labels = Array.from({ length: base.length }, (_, i) => base.label(i));
    const everything = datasetFromArrays({ classes: base.classes, frames: 4, size: 32, videos, labels, labelSets: labels.map(() => [0, 1, 2]) });
    const net = createVideoNet(TOY, 3);
    try {
      // Every class is each video's label: every prediction is right, at every step.
      const e = evaluate(net, everything);
      expect(e.accuracyPerStep.every((a) => a === 1)).toBe(true);
      expect(e.labelSets).toEqual(labels.map(() => [0, 1, 2]));
      const single = evaluate(net, base);
      expect(single.labelSets).toBeUndefined();
      expect(single.accuracy).toBeLessThan(1);
    } finally {
      net.dispose();
    }
    // Sets that add a second label change what training sees; the same seed gives the same weights.
    const paired = datasetFromArrays({ classes: base.classes, frames: 4, size: 32, videos, labels, labelSets: labels.map((l) => [l, (l + 1) % 3].sort()) });
    const weights = async (data: typeof base) => {
      const r = await train({ config: { ...TOY, epochs: 1 }, train: data });
      try {
        return Object.values(r.net.models()).flatMap((m) => m.getWeights().flatMap((w) => Array.from(w.dataSync())));
      } finally {
        r.net.dispose();
      }
    };
    const [a, b, c] = [await weights(paired), await weights(paired), await weights(base)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(() => datasetFromArrays({ classes: base.classes, frames: 4, size: 32, videos, labels, labelSets: labels.map(() => [5]) })).toThrow(
      /lacks its label/,
    );
  }, 120_000);
});
