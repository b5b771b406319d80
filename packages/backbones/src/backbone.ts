import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';

import { BackboneOptionError, UnknownBackboneError } from './errors.js';
import type { BlockContext, PaddingMode, Sym } from './layers.js';
import { mobileNetV2Features, MOBILENET_V2_SETTINGS, type MobileNetV2Spec } from './mobilenet_v2.js';
import { resNetFeatures, type ResNetSpec } from './resnet.js';
import type { TemporalShiftOptions } from './temporal_shift.js';

export interface BackboneOptions {
  /** Input height and width (one number for a square). Default: the backbone's own (224, or the preset's). */
  inputSize?: number | readonly [number, number];
  /** Width multiplier (MobileNetV2: 0.1-4; ResNet: scales the stage widths and stem). Default 1 (or the preset's). */
  width?: number;
  /** Size of a classification head ('predictions', logits); 0 for none. Default 0. */
  numClasses?: number;
  /** Dropout before the head (torchvision's MobileNetV2 uses 0.2). Default 0. */
  dropout?: number;
  /** How strided convs pad: 'torch' (default; torchvision weights) or 'keras' (Keras weights). */
  padding?: PaddingMode;
  /** ResNet bottlenecks: stride in the '3x3' (v1.5, default) or the '1x1' conv (v1, as Keras's ResNet50). */
  strideIn?: '3x3' | '1x1';
  /** Batch-norm epsilon (torchvision 1e-5, Keras 1e-3). Default 1e-5. */
  bnEpsilon?: number;
  /** Batch-norm moving-average momentum, Keras convention (torchvision's 0.1 is 0.9). Default 0.9. */
  bnMomentum?: number;
  /** Global pooling of the feature map into the vector: 'avg' (torchvision, Keras) or 'max'. Default 'avg'. */
  pooling?: 'avg' | 'max';
  /** Seed of the weight initialisers. Default 0. */
  seed?: number;
  /** Name of the tfjs model. Default: the backbone name. */
  name?: string;
  /**
   * TSM's temporal shift (Lin et al. 2019) where the Something-Something AdaFocus code puts it: before
   * the first conv of every ResNet block (every other block when stage 4 has 23 or more), and of
   * every MobileNetV2 block that expands and is residual; the residual adds the unshifted input.
   * The batch is then clips of `segments` frames each. Default: none (a per-frame backbone).
   */
  temporalShift?: TemporalShiftOptions;
}

export interface Backbone {
  /** The backbone name it was created with. */
  name: string;
  /** A functional model: outputs [featureMap, vector] and, with numClasses > 0, logits last. */
  model: tf.LayersModel;
  /** Channels of the feature map and length of the pooled vector. */
  featureWidth: number;
  /** Input pixels per feature-map cell. */
  featureStride: number;
  /** [height, width, 3]. */
  inputShape: [number, number, number];
  /** Feature-map shape [h, w, featureWidth] for the input size. */
  featureMapShape: [number, number, number];
  /** The resolved options. */
  options: Required<Omit<BackboneOptions, 'name' | 'temporalShift'>> & { temporalShift: TemporalShiftOptions | null };
}

interface Definition {
  family: 'mobilenet_v2' | 'resnet';
  description: string;
  defaults: { inputSize: number; width: number };
  mobilenet?: Omit<MobileNetV2Spec, 'width'>;
  resnet?: Omit<ResNetSpec, 'strideIn'>;
}

const IMAGENET_MOBILENET: Omit<MobileNetV2Spec, 'width'> = {
  stemStride: 2,
  stageStrides: MOBILENET_V2_SETTINGS.map((s) => s[3]),
  lastChannels: 1280,
};

const DEFINITIONS: Record<string, Definition> = {
  mobilenet_v2: {
    family: 'mobilenet_v2',
    description: 'MobileNetV2 (torchvision): output stride 32, width multiplier',
    defaults: { inputSize: 224, width: 1 },
    mobilenet: IMAGENET_MOBILENET,
  },
  resnet18: {
    family: 'resnet',
    description: 'ResNet-18 (torchvision)',
    defaults: { inputSize: 224, width: 1 },
    resnet: { block: 'basic', layers: [2, 2, 2, 2], widths: [64, 128, 256, 512], stem: 'imagenet', stemChannels: 64 },
  },
  resnet34: {
    family: 'resnet',
    description: 'ResNet-34 (torchvision)',
    defaults: { inputSize: 224, width: 1 },
    resnet: { block: 'basic', layers: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem: 'imagenet', stemChannels: 64 },
  },
  resnet50: {
    family: 'resnet',
    description: 'ResNet-50 v1.5 (torchvision)',
    defaults: { inputSize: 224, width: 1 },
    resnet: { block: 'bottleneck', layers: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem: 'imagenet', stemChannels: 64 },
  },
  // Presets that train on two CPU cores in minutes, sized for the Moving Fashion-MNIST benchmark.
  mobilenet_v2_glance: {
    family: 'mobilenet_v2',
    description: 'glance preset: MobileNetV2 0.35 with a stride-1 stem and stride-1 stage 2, output stride 8 (32x32 -> 4x4 map)',
    defaults: { inputSize: 32, width: 0.35 },
    mobilenet: { stemStride: 1, stageStrides: [1, 1, 2, 2, 1, 2, 1], lastChannels: 1280 },
  },
  resnet_small: {
    family: 'resnet',
    description: 'focus preset: narrow ResNet, basic blocks [1,1,1,1], widths 16-128, 3x3 stride-1 stem, output stride 8 (48x48 -> 6x6 map)',
    defaults: { inputSize: 48, width: 1 },
    resnet: { block: 'basic', layers: [1, 1, 1, 1], widths: [16, 32, 64, 128], stem: 'small', stemChannels: 16 },
  },
};

/** Names createBackbone accepts: torchvision's spelling plus Saccade's presets. */
export const BACKBONE_NAMES = Object.freeze(Object.keys(DEFINITIONS));

export function describeBackbones(): { name: string; description: string; inputSize: number; width: number }[] {
  return Object.entries(DEFINITIONS).map(([name, d]) => ({ name, description: d.description, ...d.defaults }));
}

function resolveSize(name: string, size: number | readonly [number, number]): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  for (const [label, v] of [
    ['height', h],
    ['width', w],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new BackboneOptionError(name, 'inputSize', `${label} must be a positive integer, got ${v}`);
  }
  return [h, w];
}

/**
 * Build a backbone by name ('mobilenet_v2', 'resnet18', 'resnet34', 'resnet50', or a preset:
 * 'mobilenet_v2_glance', 'resnet_small'). The model's outputs are the last feature map and its
 * global average (the pooled vector), then logits if numClasses > 0.
 */
export function createBackbone(name: string, options: BackboneOptions = {}): Backbone {
  const def = DEFINITIONS[name];
  if (!def) throw new UnknownBackboneError(name, BACKBONE_NAMES);
  const [h, w] = resolveSize(name, options.inputSize ?? def.defaults.inputSize);
  const width = options.width ?? def.defaults.width;
  const numClasses = options.numClasses ?? 0;
  const dropout = options.dropout ?? 0;
  if (!(width > 0) || width > 4) throw new BackboneOptionError(name, 'width', `must be in (0, 4], got ${width}`);
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new BackboneOptionError(name, 'numClasses', `must be a non-negative integer, got ${numClasses}`);
  }
  if (!(dropout >= 0 && dropout < 1)) throw new BackboneOptionError(name, 'dropout', `must be in [0, 1), got ${dropout}`);
  const resolved: Backbone['options'] = {
    inputSize: [h, w],
    width,
    numClasses,
    dropout,
    padding: options.padding ?? 'torch',
    strideIn: options.strideIn ?? '3x3',
    bnEpsilon: options.bnEpsilon ?? 1e-5,
    bnMomentum: options.bnMomentum ?? 0.9,
    pooling: options.pooling ?? 'avg',
    seed: options.seed ?? 0,
    temporalShift: options.temporalShift ? { segments: options.temporalShift.segments, div: options.temporalShift.div } : null,
  };
  if (resolved.pooling !== 'avg' && resolved.pooling !== 'max')
    throw new BackboneOptionError(name, 'pooling', `must be 'avg' or 'max', got ${JSON.stringify(resolved.pooling)}`);
  const ctx: BlockContext = {
    rng: new Rng(resolved.seed),
    padding: resolved.padding,
    bnEpsilon: resolved.bnEpsilon,
    bnMomentum: resolved.bnMomentum,
    ...(resolved.temporalShift ? { temporalShift: resolved.temporalShift } : {}),
  };

  const stride =
    def.family === 'mobilenet_v2'
      ? def.mobilenet!.stemStride * def.mobilenet!.stageStrides.reduce((a, b) => a * b, 1)
      : (def.resnet!.stem === 'imagenet' ? 4 : 1) * 2 ** (def.resnet!.layers.length - 1);
  if (h < stride || w < stride) {
    throw new BackboneOptionError(
      name,
      'inputSize',
      `${h}x${w} is smaller than the output stride ${stride}: the feature map would be one cell made mostly of padding`,
    );
  }
  const input = tf.input({ shape: [h, w, 3], name: 'input' });
  let built: { features: Sym; channels: number; stride: number };
  if (def.family === 'mobilenet_v2') {
    built = mobileNetV2Features(input, { ...def.mobilenet!, width }, ctx);
  } else {
    const spec = def.resnet!;
    const scale = (c: number) => Math.max(1, Math.round(c * width));
    built = resNetFeatures(input, { ...spec, widths: spec.widths.map(scale), stemChannels: scale(spec.stemChannels), strideIn: resolved.strideIn }, ctx);
  }
  const [fh, fw] = [built.features.shape[1], built.features.shape[2]];
  if (fh === null || fw === null || fh === undefined || fw === undefined || fh < 1 || fw < 1) {
    throw new BackboneOptionError(name, 'inputSize', `${h}x${w} is too small: the feature map (stride ${built.stride}) would be empty`);
  }
  // Global max pooling as a max pool over the whole (fixed-size) map: the same output, but its
  // gradient is tfjs's MaxPoolGrad kernel instead of the reduction's broadcast equality mask
  // (82 against 212 ms forward + backward for 128 maps of 6 x 6 x 64 on wasm).
  const vector = (
    resolved.pooling === 'max'
      ? tf.layers
          .flatten({ name: 'max_pool' })
          .apply(tf.layers.maxPooling2d({ poolSize: [fh, fw], strides: [fh, fw], padding: 'valid', name: 'max_pool_window' }).apply(built.features))
      : tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(built.features)
  ) as Sym;
  const outputs: Sym[] = [built.features, vector];
  if (numClasses > 0) {
    let head = vector;
    if (dropout > 0) head = tf.layers.dropout({ rate: dropout, name: 'dropout', seed: ctx.rng.tensorSeed() }).apply(head) as Sym;
    outputs.push(
      tf.layers
        .dense({ units: numClasses, name: 'predictions', kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.rng.tensorSeed() }) })
        .apply(head) as Sym,
    );
  }
  const model = tf.model({ inputs: input, outputs, name: options.name ?? name });
  return {
    name,
    model,
    featureWidth: built.channels,
    featureStride: built.stride,
    inputShape: [h, w, 3],
    featureMapShape: [fh, fw, built.channels],
    options: resolved,
  };
}

/** Trainable parameters (what torchvision's numel() over parameters counts; BN moving statistics are not). */
export function countParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
