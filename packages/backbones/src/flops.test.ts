import { describe, expect, it } from 'vitest';

import { createBackbone } from './backbone.js';
import { countFlops } from './flops.js';

const within = (actual: number, expected: number, tolerance = 0.01) => Math.abs(actual - expected) / expected <= tolerance;

describe('countFlops reproduces the published figures', () => {
  it('MobileNetV2 1.0 at 224 with the head: 300.8 M (torchvision), 0.30 G', () => {
    const b = createBackbone('mobilenet_v2', { numClasses: 1000 });
    try {
      const r = countFlops(b.model);
      expect(within(r.macs, 300.8e6), `${r.macs}`).toBe(true);
      expect(r.gflops.toFixed(2)).toBe('0.30');
    } finally {
      b.model.dispose();
    }
  });

  it('ResNet-50 at 224: 4.1 G, and the AdaFocus per-patch figures at 96/128/160/192', () => {
    const b = createBackbone('resnet50', { numClasses: 1000 });
    try {
      expect(countFlops(b.model).gflops.toFixed(1)).toBe('4.1');
      const table: [number, number][] = [
        [96, 0.7507],
        [128, 1.3346],
        [160, 2.0853],
        [192, 3.0028],
      ];
      for (const [size, gflops] of table) {
        const r = countFlops(b.model, [size, size]);
        expect(within(r.gflops, gflops), `${size}: ${r.gflops}`).toBe(true);
      }
    } finally {
      b.model.dispose();
    }
  });

  it('counts per layer, only convolutions and dense layers', () => {
    const b = createBackbone('resnet_small', { numClasses: 10 });
    try {
      const r = countFlops(b.model);
      expect(r.inputShape).toEqual([48, 48, 3]);
      expect(new Set(r.layers.map((l) => l.className))).toEqual(new Set(['Conv2D', 'Dense']));
      const stem = r.layers.find((l) => l.name === 'conv1_conv')!;
      expect(stem.macs).toBe(48 * 48 * 3 * 3 * 3 * 16);
      expect(r.layers.find((l) => l.name === 'predictions')!.macs).toBe(128 * 10);
      expect(r.macs).toBe(r.layers.reduce((n, l) => n + l.macs, 0));
    } finally {
      b.model.dispose();
    }
  });

  it('rejects an input size that makes no sense', () => {
    const b = createBackbone('resnet_small');
    try {
      expect(() => countFlops(b.model, [0, 10])).toThrow(/positive integers/);
    } finally {
      b.model.dispose();
    }
  });
});
