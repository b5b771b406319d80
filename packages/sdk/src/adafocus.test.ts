import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { adaFocusV2Loss, createAdaFocusV2 } from './adafocus.js';

const small = { classes: 3, frames: 4, frameSize: 64, glanceSize: 32, patchSize: 32, policyHidden: 16, classifierWidth: 32, seed: 1 };

describe('AdaFocusV2 model', () => {
  it('produces per-step logits, per-frame glance and focus logits, and centres in [0, 1]', () => {
    const m = createAdaFocusV2(small);
    try {
      tf.tidy(() => {
        const frames = tf.randomUniform([2, 4, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor5D;
        const r = m.forward(frames);
        expect(r.logits.shape).toEqual([2, 4, 3]);
        expect(r.glanceLogits.shape).toEqual([8, 3]);
        expect(r.focusLogits.shape).toEqual([8, 3]);
        const c = r.centres.dataSync();
        expect(Math.min(...c)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...c)).toBeLessThanOrEqual(1);
        expect(Array.from(m.forward(frames, { patches: 'centre' }).centres.dataSync())).toEqual(new Array(16).fill(0.5));
      });
    } finally {
      m.dispose();
    }
  });

  it('trains end to end: the one-stage loss falls on a small batch and reaches every part', () => {
    const m = createAdaFocusV2(small);
    const optimizer = tf.train.adam(3e-3);
    try {
      const frames = tf.randomUniform([3, 4, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor5D;
      const labels = tf.tensor1d([0, 1, 2], 'int32');
      const parts = m.parts();
      const vars = Object.values(parts).flat().map((w) => w.read() as tf.Variable);
      const nameOf = (w: tf.LayerVariable) => (w.read() as tf.Variable).name;
      const first = tf.tidy(() => adaFocusV2Loss(m, frames, labels).dataSync()[0]!);
      const grads = tf.tidy(() => tf.variableGrads(() => adaFocusV2Loss(m, frames, labels), vars).grads);
      for (const [part, weights] of Object.entries(parts)) {
        const total = weights.reduce((a, w) => a + (grads[nameOf(w)] ? tf.tidy(() => tf.sum(tf.abs(grads[nameOf(w)]!)).dataSync()[0]!) : 0), 0);
        expect(total, part).toBeGreaterThan(0);
      }
      tf.dispose(grads);
      for (let i = 0; i < 12; i++) {
        tf.tidy(() => {
          optimizer.minimize(() => adaFocusV2Loss(m, frames, labels, i), false, vars);
        });
      }
      const last = tf.tidy(() => adaFocusV2Loss(m, frames, labels).dataSync()[0]!);
      expect(last).toBeLessThan(first * 0.7);
      tf.dispose([frames, labels]);
    } finally {
      optimizer.dispose();
      m.dispose();
    }
  });
});
