/** Building blocks shared by the backbones: torchvision's conv-BN-activation with Keras-style names. */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@saccade/tensor';

import { TemporalShift, type TemporalShiftOptions } from './temporal_shift.js';

export type Sym = tf.SymbolicTensor;

/** How stride-2 convolutions pad: torchvision pads (k-1)/2 on every side, Keras pads ((0,1),(0,1)) on even inputs. */
export type PaddingMode = 'torch' | 'keras';

export interface BlockContext {
  rng: Rng;
  padding: PaddingMode;
  bnEpsilon: number;
  /** Keras-style momentum of the moving statistics (torchvision's 0.1 is 0.9 here). */
  bnMomentum: number;
  /** TSM's temporal shift before the blocks' first convs (see BackboneOptions.temporalShift). */
  temporalShift?: TemporalShiftOptions;
}

/** The block input shifted in time when the backbone has TSM, else the input. */
export function shiftIn(x: Sym, ctx: BlockContext, name: string): Sym {
  if (!ctx.temporalShift) return x;
  return new TemporalShift({ ...ctx.temporalShift, name }).apply(x) as Sym;
}

export function convInit(ctx: BlockContext): ReturnType<typeof tf.initializers.varianceScaling> {
  // torchvision: kaiming_normal_(mode='fan_out', nonlinearity='relu').
  return tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: ctx.rng.tensorSeed() });
}

/** Zero padding before a strided (or any) 'valid' conv or pool, as the padding mode says. */
export function explicitPad(x: Sym, kernel: number, stride: number, ctx: BlockContext, name: string): Sym {
  const total = kernel - 1;
  if (total === 0) return x;
  let pads: [[number, number], [number, number]];
  if (ctx.padding === 'torch' || stride === 1) {
    const p = Math.floor(total / 2);
    pads = [
      [p, total - p],
      [p, total - p],
    ];
  } else {
    // Keras applications' correct_pad: on an even input the padding goes after.
    const [h, w] = [x.shape[1] as number, x.shape[2] as number];
    const half = Math.floor(kernel / 2);
    const adjust = (d: number) => (d % 2 === 0 ? 1 : 0);
    pads = [
      [half - adjust(h), half],
      [half - adjust(w), half],
    ];
  }
  return tf.layers.zeroPadding2d({ padding: pads, name }).apply(x) as Sym;
}

export function conv(x: Sym, filters: number, kernel: number, stride: number, ctx: BlockContext, name: string, padName?: string): Sym {
  let input = x;
  let padding: 'same' | 'valid' = 'same';
  if (kernel > 1 && (stride > 1 || kernel % 2 === 0)) {
    input = explicitPad(x, kernel, stride, ctx, padName ?? `${name}_pad`);
    padding = 'valid';
  }
  return tf.layers
    .conv2d({ filters, kernelSize: kernel, strides: stride, padding, useBias: false, kernelInitializer: convInit(ctx), name })
    .apply(input) as Sym;
}

export function depthwise(x: Sym, kernel: number, stride: number, ctx: BlockContext, name: string, padName?: string): Sym {
  let input = x;
  let padding: 'same' | 'valid' = 'same';
  if (stride > 1) {
    input = explicitPad(x, kernel, stride, ctx, padName ?? `${name}_pad`);
    padding = 'valid';
  }
  return tf.layers
    .depthwiseConv2d({ kernelSize: kernel, strides: stride, padding, useBias: false, depthwiseInitializer: convInit(ctx), name })
    .apply(input) as Sym;
}

export function batchNorm(x: Sym, ctx: BlockContext, name: string): Sym {
  return tf.layers.batchNormalization({ axis: -1, epsilon: ctx.bnEpsilon, momentum: ctx.bnMomentum, name }).apply(x) as Sym;
}

export function relu(x: Sym, name: string, max?: number): Sym {
  return tf.layers.reLU({ ...(max === undefined ? {} : { maxValue: max }), name }).apply(x) as Sym;
}
