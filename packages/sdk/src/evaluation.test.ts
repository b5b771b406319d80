import { describe, expect, it } from 'vitest';

import { finalStepMap } from './evaluation.js';
import type { EvalResult } from './train.js';

/** An EvalResult of 2 steps and 2 classes from each video's final-step logits (the first step's are noise). */
function result(last: [number, number][], labels: number[]): EvalResult {
  const logits = new Float32Array(last.length * 2 * 2);
  last.forEach(([a, b], v) => {
    logits.set([9, -9], v * 4);
    logits.set([a, b], v * 4 + 2);
  });
  return { videos: last.length, accuracy: 0, accuracyPerStep: [0, 0], meanLoss: 0, logits, labels: Int32Array.from(labels), steps: 2, classes: 2, seconds: 0 };
}

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
});
