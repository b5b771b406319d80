// Saccade's wasm kernels on a re-created backend: tfjs's own test utilities and applications call
// tf.engine().reset(), which disposes the wasm backend; the next setBackend('wasm') makes a new
// instance (a new wasm module) and runs every registered kernel's setupFunc on it. A kernel that
// kept functions of the first module would abort the new one.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { initBackend } from '../backend.js';
import { Rng } from '../random.js';
import { expectArraysClose, maxAbs, onBackend, randomData } from '../testing/index.js';

function convAndGradients(x: Float32Array, w: Float32Array, dw: Float32Array): tf.Tensor[] {
  const xs = tf.tensor(x, [2, 9, 9, 3]);
  const ws = tf.tensor(w, [3, 3, 3, 4]);
  const dws = tf.tensor(dw, [3, 3, 3, 1]);
  const f = (...args: tf.Tensor[]) => {
    const [a, b, c] = args as tf.Tensor4D[];
    const y = tf.conv2d(a!, b!, [2, 2], 'same');
    const z = tf.depthwiseConv2d(tf.relu(a!), c!, 1, 'same');
    return tf.add(tf.sum(tf.square(y)), tf.sum(tf.mul(z, z)));
  };
  const forward = tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, [2, 2], 'same');
  const grads = tf.grads(f)([xs, ws, dws]);
  return [forward, ...grads];
}

describe('wasm kernels after tf.engine().reset()', () => {
  it('run and match the cpu backend on the new backend instance, forward and gradients', async () => {
    const rng = new Rng(3);
    const x = randomData(rng, [2, 9, 9, 3]);
    const w = randomData(rng, [3, 3, 3, 4]);
    const dw = randomData(rng, [3, 3, 3, 1]);
    const check = async () => {
      const got = await onBackend('wasm', () => convAndGradients(x, w, dw));
      const want = await onBackend('cpu', () => convAndGradients(x, w, dw));
      got.forEach((g, i) => expectArraysClose(g, want[i]!, { atol: 1e-4 * Math.max(1, maxAbs(want[i]!)), label: `output ${i}` }));
    };
    await check();
    for (let round = 0; round < 2; round++) {
      tf.engine().reset();
      expect(await tf.setBackend('wasm')).toBe(true);
      await check();
      // Re-initialising through Saccade after a reset is idempotent and keeps them working.
      await initBackend('wasm');
      await check();
    }
  });
});
