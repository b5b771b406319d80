// GruWeightCache: the concatenated GRU weights kept between inference calls give what a fresh
// runner gives, follow the model's weights when they change, and stay out of gradient tapes.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { gruCell, gruRunner, GruWeightCache } from './gru.js';

function gruModel(seed: number): tf.LayersModel {
  const x = tf.input({ shape: [5] });
  const h = tf.input({ shape: [4] });
  return tf.model({ inputs: [x, h], outputs: gruCell(x, h, 4, new Rng(seed)) });
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('GruWeightCache', () => {
  it('gives a fresh runner’s states, rebuilds when the weights change, and is bypassed under a gradient tape', () => {
    const model = gruModel(1);
    const other = gruModel(2);
    const cache = new GruWeightCache();
    try {
      const inputs = tf.randomUniform([2, 3, 5], -1, 1, 'float32', 3) as tf.Tensor3D;
      const state = tf.zeros([2, 4]) as tf.Tensor2D;
      const run = (c?: GruWeightCache) => tf.tidy(() => gruRunner(model, c).sequence(inputs, state).states);
      const fresh = run();
      const cached = run(cache);
      expect(maxDiff(fresh, cached)).toBe(0);
      const kept = tf.memory().numTensors;
      tf.dispose(run(cache));
      // The cache holds its tensors once, not per call.
      expect(tf.memory().numTensors).toBe(kept);
      // New weights (what a training step or setWeights does): the cache follows.
      model.setWeights(other.getWeights());
      const changed = run(cache);
      const changedFresh = run();
      expect(maxDiff(changed, changedFresh)).toBe(0);
      expect(maxDiff(changed, fresh)).toBeGreaterThan(1e-3);
      // Under a gradient tape the runner reads the variables themselves: gradients reach them.
      const { value, grads } = tf.variableGrads(() => tf.sum(gruRunner(model, cache).sequence(inputs, state).states) as tf.Scalar);
      const kernel = model.getLayer('gru_h_z').getWeights()[0]!;
      const names = Object.keys(grads);
      expect(names.length).toBeGreaterThan(0);
      expect(names.some((n) => n.includes('gru_x_z'))).toBe(true);
      expect(kernel.shape).toEqual([4, 4]);
      tf.dispose([inputs, state, fresh, cached, changed, changedFresh, value, ...Object.values(grads)]);
    } finally {
      cache.dispose();
      model.dispose();
      other.dispose();
    }
  });
});
