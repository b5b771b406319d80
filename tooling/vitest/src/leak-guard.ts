/**
 * Tensor-leak guard, loaded by the shared preset as a setup file: every test must leave
 * `tf.memory().numTensors` where it found it. Tensors made in `beforeAll` hooks are outside the
 * window, so fixtures shared by a file are fine as long as an `afterAll` frees them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach } from 'vitest';

import { TensorLeakError, tensorLeakMessage } from './leak.js';

let tensorsBefore = 0;

beforeEach(() => {
  tensorsBefore = tf.memory().numTensors;
});

afterEach((context) => {
  const tensorsAfter = tf.memory().numTensors;
  if (tensorsAfter !== tensorsBefore) {
    throw new TensorLeakError(tensorLeakMessage(context.task.name, tensorsBefore, tensorsAfter));
  }
});
