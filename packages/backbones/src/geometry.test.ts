import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { createBackbone } from './backbone.js';
import { BackboneOptionError } from './errors.js';
import { featureMapGeometry } from './geometry.js';

/**
 * The receptive field of cell (i, j) of `layer`, measured: the rows and columns of the input where
 * the gradient of that cell's channel sum is non-zero (every weight is positive, so nothing
 * cancels). Its midpoint is the cell's centre in input-pixel coordinates, [y, x].
 */
function measuredCentre(model: tf.LayersModel, layer: string, i: number, j: number): [number, number] {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  const grad = tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.slice(sub.apply(x) as tf.Tensor4D, [0, i, j, 0], [1, 1, 1, -1])));
    return tf
      .abs(g(tf.ones([1, h!, w!, c!])))
      .sum(3)
      .squeeze([0])
      .arraySync() as number[][];
  });
  const rows = grad.map((r, y) => (r.some((v) => v > 0) ? y : -1)).filter((y) => y >= 0);
  const cols = grad[0]!.map((_, x) => (grad.some((r) => r[x]! > 0) ? x : -1)).filter((x) => x >= 0);
  return [(rows[0]! + rows[rows.length - 1]! + 1) / 2, (cols[0]! + cols[cols.length - 1]! + 1) / 2];
}

/** Every weight set to a positive constant, so that no receptive-field pixel's gradient cancels. */
function positiveWeights(model: tf.LayersModel): void {
  for (const l of model.layers) {
    const ws = l.getWeights();
    if (ws.length === 0) continue;
    const filled = ws.map((w) => tf.fill(w.shape, 0.1));
    l.setWeights(filled);
    tf.dispose(filled);
  }
}

describe('featureMapGeometry', () => {
  it('resnet_small at 32 px: the 8 x 8 map (stride 4) looks 1.5 px up and left of the even grid, as its gradients say', () => {
    const b = createBackbone('resnet_small', { inputSize: 32, width: 0.5 });
    // The same layers on a larger input, where cells far from the border have whole receptive fields to measure.
    const big = createBackbone('resnet_small', { inputSize: 128, width: 0.5 });
    try {
      expect(featureMapGeometry(b.model, 'conv4_block1_out')).toEqual({ origin: [0.5, 0.5], step: [4, 4], input: [32, 32] });
      expect(featureMapGeometry(b.model, 'conv5_block1_out')).toEqual({ origin: [0.5, 0.5], step: [8, 8], input: [32, 32] });
      positiveWeights(big.model);
      const g = featureMapGeometry(big.model, 'conv4_block1_out');
      for (const [i, j] of [
        [14, 15],
        [16, 13],
      ] as const) {
        expect(measuredCentre(big.model, 'conv4_block1_out', i, j)).toEqual([g.origin[0] + i * g.step[0], g.origin[1] + j * g.step[1]]);
      }
    } finally {
      b.model.dispose();
      big.model.dispose();
    }
  });

  it("keras padding (after, on an even input); explicit padding, pooling and 'same' convolutions", () => {
    const k = createBackbone('resnet_small', { inputSize: 128, width: 0.5, padding: 'keras' });
    // Average pooling stands in for max pooling (same geometry; max pooling's gradient reaches one
    // pixel of each window, which the measurement cannot use).
    const input = tf.input({ shape: [96, 96, 1] });
    let x = tf.layers
      .zeroPadding2d({
        padding: [
          [3, 2],
          [1, 0],
        ],
        name: 'pad',
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 2, kernelSize: 5, strides: 2, padding: 'valid', name: 'c1' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 2, kernelSize: [3, 5], strides: 2, padding: 'same', name: 'c2' }).apply(x) as tf.SymbolicTensor;
    const r = { model: tf.model({ inputs: input, outputs: x }) };
    try {
      positiveWeights(k.model);
      const gk = featureMapGeometry(k.model, 'conv4_block1_out');
      expect(gk.step).toEqual([4, 4]);
      expect(measuredCentre(k.model, 'conv4_block1_out', 14, 16)).toEqual([gk.origin[0] + 14 * 4, gk.origin[1] + 16 * 4]);
      expect(gk.origin).not.toEqual([0.5, 0.5]);
      positiveWeights(r.model);
      const gr = featureMapGeometry(r.model, 'c2');
      expect(gr.step).toEqual([8, 8]);
      for (const [i, j] of [
        [5, 6],
        [6, 5],
      ] as const)
        expect(measuredCentre(r.model, 'c2', i, j)).toEqual([gr.origin[0] + i * 8, gr.origin[1] + j * 8]);
    } finally {
      k.model.dispose();
      r.model.dispose();
    }
  });

  it('refuses a layer that resizes the map in a way it does not know (typed, names the layer)', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: up });
    expect(() => featureMapGeometry(model, 'up')).toThrow(BackboneOptionError);
    expect(() => featureMapGeometry(model, 'up')).toThrow(/layer up \(UpSampling2D\)/);
    model.dispose();
  });
});
