import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { createGruClassifier, createStepClassifier } from './classifier.js';

describe('step classifier (AdaFocusV2)', () => {
  it('pools cumulatively over time: step k logits depend only on frames 0..k', () => {
    const c = createStepClassifier({ inputWidth: 6, width: 8, steps: 4, classes: 3, seed: 1 });
    try {
      tf.tidy(() => {
        const f = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 2) as tf.Tensor3D;
        const changed = tf.concat([tf.slice(f, [0, 0, 0], [2, 2, 6]), tf.randomNormal([2, 2, 6], 0, 1, 'float32', 3)], 1) as tf.Tensor3D;
        const a = c.sequence(f).arraySync();
        const b = c.sequence(changed).arraySync();
        expect(a[0]![1]).toEqual(b[0]![1]);
        expect(a[0]![3]).not.toEqual(b[0]![3]);
        // Step by step with the running max gives the same logits.
        const z = tf.reshape(c.embed(tf.reshape(f, [8, 6]) as tf.Tensor2D), [2, 4, 8]);
        let running = tf.reshape(tf.slice(z, [0, 0, 0], [2, 1, 8]), [2, 8]) as tf.Tensor2D;
        for (let k = 0; k < 4; k++) {
          if (k > 0) running = tf.maximum(running, tf.reshape(tf.slice(z, [0, k, 0], [2, 1, 8]), [2, 8])) as tf.Tensor2D;
          const step = c.head(k, running).arraySync();
          step.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(a[i]![k]![j]!, 5)));
        }
      });
    } finally {
      c.dispose();
    }
  });

  it('GRU classifier (AdaFocus V1): inference (raw-op GRU, all frames, and one step) computes what its layers compute', () => {
    const c = createGruClassifier({ inputWidth: 6, hidden: 5, classes: 3, seed: 2 });
    try {
      tf.tidy(() => {
        const f = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 4) as tf.Tensor3D;
        const fast = c.sequence(f, false).arraySync();
        let state = c.initialState(2);
        let stepState = c.initialState(2);
        for (let k = 0; k < 4; k++) {
          const x = tf.reshape(tf.slice(f, [0, k, 0], [2, 1, 6]), [2, 6]) as tf.Tensor2D;
          const [logits, next] = c.recurrent.apply([x, state]) as tf.Tensor2D[];
          const one = c.step(x, stepState);
          logits!.arraySync().forEach((row, i) =>
            row.forEach((v, j) => {
              expect(fast[i]![k]![j]!).toBeCloseTo(v, 5);
              expect(one.logits.arraySync()[i]![j]!).toBeCloseTo(v, 5);
            }),
          );
          state = next!;
          stepState = one.state;
        }
      });
    } finally {
      c.dispose();
    }
  });
});
