import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { countParams, createBackbone } from './backbone.js';
import { BackboneOptionError, UnknownBackboneError } from './errors.js';

describe('torchvision parameter counts with a 1000-class head', () => {
  it.each([
    ['mobilenet_v2', 3_504_872],
    ['resnet18', 11_689_512],
    ['resnet34', 21_797_672],
    ['resnet50', 25_557_032],
  ] as const)('%s has %i trainable parameters', (name, expected) => {
    const b = createBackbone(name, { numClasses: 1000 });
    try {
      expect(countParams(b.model)).toBe(expected);
    } finally {
      b.model.dispose();
    }
  });
});

describe('createBackbone', () => {
  it('returns the feature map, the pooled vector and the logits', () => {
    const b = createBackbone('resnet_small', { numClasses: 10 });
    try {
      expect(b.featureMapShape).toEqual([6, 6, 128]);
      expect(b.featureStride).toBe(8);
      const [map, vec, logits] = tf
        .tidy(() => b.model.predict(tf.zeros([2, 48, 48, 3])) as tf.Tensor[])
        .map((t) => {
          const shape = t!.shape;
          t!.dispose();
          return shape;
        });
      expect(map).toEqual([2, 6, 6, 128]);
      expect(vec).toEqual([2, 128]);
      expect(logits).toEqual([2, 10]);
    } finally {
      b.model.dispose();
    }
  });

  it('pools the feature map by average (default) or by maximum', () => {
    for (const pooling of ['avg', 'max'] as const) {
      const b = createBackbone('resnet_small', { inputSize: 32, width: 0.25, pooling });
      tf.tidy(() => {
        const [map, vector] = b.model.predict(tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1)) as tf.Tensor[];
        const expected = pooling === 'max' ? tf.max(map!, [1, 2]) : tf.mean(map!, [1, 2]);
        expect(tf.max(tf.abs(tf.sub(vector!, expected))).dataSync()[0]).toBeLessThan(1e-5);
      });
      b.model.dispose();
    }
    expect(() => createBackbone('resnet_small', { pooling: 'median' as never })).toThrow(BackboneOptionError);
  });

  it('takes any input size and width', () => {
    const b = createBackbone('mobilenet_v2', { inputSize: [100, 132], width: 0.5 });
    try {
      expect(b.featureMapShape).toEqual([4, 5, 1280]);
      expect(b.model.outputs).toHaveLength(2);
    } finally {
      b.model.dispose();
    }
    const g = createBackbone('mobilenet_v2_glance');
    try {
      expect(g.featureMapShape).toEqual([4, 4, 1280]);
    } finally {
      g.model.dispose();
    }
  });

  it('is deterministic in its seed', () => {
    const weights = (seed: number) => {
      const b = createBackbone('resnet_small', { seed });
      const data = Array.from(b.model.getWeights()[0]!.dataSync());
      b.model.dispose();
      return data;
    };
    expect(weights(3)).toEqual(weights(3));
    expect(weights(3)).not.toEqual(weights(4));
  });

  it('rejects unknown names and options the network cannot take', () => {
    expect(() => createBackbone('resnet101')).toThrow(UnknownBackboneError);
    expect(() => createBackbone('resnet101')).toThrow(/known: mobilenet_v2, resnet18/);
    expect(() => createBackbone('mobilenet_v2', { width: 0 })).toThrow(BackboneOptionError);
    expect(() => createBackbone('resnet50', { inputSize: 16 })).toThrow(/16x16 is smaller than the output stride 32/);
    expect(() => createBackbone('resnet18', { inputSize: 2.5 })).toThrow(/positive integer/);
    expect(() => createBackbone('resnet18', { numClasses: -1 })).toThrow(/numClasses/);
  });
});
