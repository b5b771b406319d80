/**
 * ResNet (He et al. 2016) in torchvision's layout: bias-free convs before BN, v1.5 (the stride of a
 * bottleneck sits in its 3x3 conv), 1x1 projection shortcuts when the shape changes. Layer names
 * follow Keras applications (conv1_conv, conv2_block1_1_conv, ..., conv5_block3_out).
 */
import * as tf from '@tensorflow/tfjs';

import { batchNorm, conv, explicitPad, relu, shiftIn, type BlockContext, type Sym } from './layers.js';

export interface ResNetSpec {
  block: 'basic' | 'bottleneck';
  /** Blocks per stage. */
  layers: readonly number[];
  /** Channels of each stage's 3x3 convs (64, 128, 256, 512 for the torchvision models). */
  widths: readonly number[];
  /** 'imagenet': 7x7 stride-2 conv and 3x3 stride-2 max pool; 'small': one 3x3 stride-1 conv, no pool. */
  stem: 'imagenet' | 'small';
  /** Channels of the stem (64 for the torchvision models). */
  stemChannels: number;
  /** Where a strided bottleneck puts its stride: '3x3' (v1.5, torchvision) or '1x1' (v1, Keras). */
  strideIn: '3x3' | '1x1';
}

export function resNetFeatures(input: Sym, spec: ResNetSpec, ctx: BlockContext): { features: Sym; channels: number; stride: number } {
  let x: Sym;
  let stride: number;
  if (spec.stem === 'imagenet') {
    x = conv(input, spec.stemChannels, 7, 2, ctx, 'conv1_conv', 'conv1_pad');
    x = batchNorm(x, ctx, 'conv1_bn');
    x = relu(x, 'conv1_relu');
    x = explicitPad(x, 3, 2, { ...ctx, padding: 'torch' }, 'pool1_pad');
    x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'pool1_pool' }).apply(x) as Sym;
    stride = 4;
  } else {
    x = conv(input, spec.stemChannels, 3, 1, ctx, 'conv1_conv');
    x = batchNorm(x, ctx, 'conv1_bn');
    x = relu(x, 'conv1_relu');
    stride = 1;
  }
  const expansion = spec.block === 'bottleneck' ? 4 : 1;
  // TSM shifts before every block's first conv, or every other block's in deep stage-4s (ResNet-101's 23 blocks).
  const shiftEvery = (spec.layers[2] ?? 0) >= 23 ? 2 : 1;
  let channels = spec.stemChannels;
  spec.layers.forEach((blocks, stage) => {
    const width = spec.widths[stage] as number;
    const out = width * expansion;
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 && stage > 0 ? 2 : 1;
      const name = `conv${stage + 2}_block${b + 1}`;
      let y: Sym;
      const shifted = b % shiftEvery === 0 ? shiftIn(x, ctx, `${name}_shift`) : x;
      if (spec.block === 'basic') {
        y = conv(shifted, width, 3, s, ctx, `${name}_1_conv`, `${name}_1_pad`);
        y = batchNorm(y, ctx, `${name}_1_bn`);
        y = relu(y, `${name}_1_relu`);
        y = conv(y, width, 3, 1, ctx, `${name}_2_conv`);
        y = batchNorm(y, ctx, `${name}_2_bn`);
      } else {
        const s1 = spec.strideIn === '1x1' ? s : 1;
        const s3 = spec.strideIn === '3x3' ? s : 1;
        y = conv(shifted, width, 1, s1, ctx, `${name}_1_conv`);
        y = batchNorm(y, ctx, `${name}_1_bn`);
        y = relu(y, `${name}_1_relu`);
        y = conv(y, width, 3, s3, ctx, `${name}_2_conv`, `${name}_2_pad`);
        y = batchNorm(y, ctx, `${name}_2_bn`);
        y = relu(y, `${name}_2_relu`);
        y = conv(y, out, 1, 1, ctx, `${name}_3_conv`);
        y = batchNorm(y, ctx, `${name}_3_bn`);
      }
      let shortcut = x;
      if (s !== 1 || channels !== out) {
        shortcut = conv(x, out, 1, s, ctx, `${name}_0_conv`);
        shortcut = batchNorm(shortcut, ctx, `${name}_0_bn`);
      }
      x = tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as Sym;
      x = relu(x, `${name}_out`);
      channels = out;
      stride *= s;
    }
  });
  return { features: x, channels, stride };
}
