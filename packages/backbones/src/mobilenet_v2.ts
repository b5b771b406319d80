/**
 * MobileNetV2 (Sandler et al. 2018) in torchvision's layout and numbers (bias-free convs, BN,
 * ReLU6, linear bottlenecks; channels rounded by _make_divisible), with layer names as Keras
 * applications spells them so that Keras weights load by name.
 */
import * as tf from '@tensorflow/tfjs';

import { batchNorm, conv, depthwise, relu, shiftIn, type BlockContext, type Sym } from './layers.js';

/** torchvision's _make_divisible: round to a multiple of 8, never more than 10% down. */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** [expansion t, channels c, repeats n, first stride s] as in the paper's Table 2. */
export const MOBILENET_V2_SETTINGS: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export interface MobileNetV2Spec {
  width: number;
  /** Stride of the first conv (2 in the paper; 1 in small-input presets). */
  stemStride: number;
  /** Strides of the seven stages (the paper's s column unless a preset overrides it). */
  stageStrides: readonly number[];
  /** Channels of the last 1x1 conv before the width multiplier (1280). */
  lastChannels: number;
}

export function mobileNetV2Features(input: Sym, spec: MobileNetV2Spec, ctx: BlockContext): { features: Sym; channels: number; stride: number } {
  let channels = makeDivisible(32 * spec.width);
  let x = conv(input, channels, 3, spec.stemStride, ctx, 'Conv1', 'Conv1_pad');
  x = batchNorm(x, ctx, 'bn_Conv1');
  x = relu(x, 'Conv1_relu', 6);
  let stride = spec.stemStride;
  let block = 0;
  MOBILENET_V2_SETTINGS.forEach(([t, c, n], stage) => {
    const out = makeDivisible(c * spec.width);
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? (spec.stageStrides[stage] as number) : 1;
      const prefix = block === 0 ? 'expanded_conv' : `block_${block}`;
      const hidden = Math.round(channels * t);
      let y = x;
      if (t !== 1) {
        if (s === 1 && channels === out) y = shiftIn(y, ctx, `${prefix}_shift`);
        y = conv(y, hidden, 1, 1, ctx, `${prefix}_expand`);
        y = batchNorm(y, ctx, `${prefix}_expand_BN`);
        y = relu(y, `${prefix}_expand_relu`, 6);
      }
      y = depthwise(y, 3, s, ctx, `${prefix}_depthwise`, `${prefix}_pad`);
      y = batchNorm(y, ctx, `${prefix}_depthwise_BN`);
      y = relu(y, `${prefix}_depthwise_relu`, 6);
      y = conv(y, out, 1, 1, ctx, `${prefix}_project`);
      y = batchNorm(y, ctx, `${prefix}_project_BN`);
      x = s === 1 && channels === out ? (tf.layers.add({ name: `${prefix}_add` }).apply([x, y]) as Sym) : y;
      channels = out;
      stride *= s;
      block++;
    }
  });
  const last = makeDivisible(spec.lastChannels * Math.max(1, spec.width));
  x = conv(x, last, 1, 1, ctx, 'Conv_1');
  x = batchNorm(x, ctx, 'Conv_1_bn');
  x = relu(x, 'out_relu', 6);
  return { features: x, channels: last, stride };
}
