/**
 * Pretrained glance and focus backbones (made by `pretrainBackbones` in Node, shipped with the SDK)
 * and their transfer into a fresh network: every layer but the classification head must match.
 */
import type * as tf from '@tensorflow/tfjs';

import type { TrainConfig } from './config/base.js';
import { ConfigError } from './errors.js';
import { methodSpec } from './methods/registry.js';
import type { VideoNet } from './video_net.js';

export interface PretrainedInfo {
  version: 1;
  glanceBackbone: string;
  glanceWidth: number;
  glanceSize: number;
  focusBackbone: string;
  focusWidth: number;
  patchSize: number;
  frameSize: number;
  pooling: 'avg' | 'max';
  classes: number;
  mean: readonly number[];
  std: readonly number[];
  images: number;
  epochs: number;
  seed: number;
  source: string;
  glanceAccuracy: number;
  focusAccuracy: number;
  seconds: number;
}

export interface Pretrained {
  info: PretrainedInfo;
  glance: tf.LayersModel;
  focus: tf.LayersModel;
}

const HEAD = 'predictions';

function describe(backbone: string, width: number): string {
  return `${backbone} x${width}`;
}

/** Throw a ConfigError unless the pretrained backbones fit the config's architecture and normalisation. */
export function checkPretrained(p: PretrainedInfo, c: TrainConfig): void {
  const problems: string[] = [];
  const uses = methodSpec(c.method).pretrained;
  const needGlance = uses.glance !== undefined;
  const needFocus = uses.focus !== undefined;
  if (needGlance && (p.glanceBackbone !== c.glanceBackbone || p.glanceWidth !== c.glanceWidth))
    problems.push(`glance ${describe(p.glanceBackbone, p.glanceWidth)}, config ${describe(c.glanceBackbone, c.glanceWidth)}`);
  if (needFocus && (p.focusBackbone !== c.focusBackbone || p.focusWidth !== c.focusWidth))
    problems.push(`focus ${describe(p.focusBackbone, p.focusWidth)}, config ${describe(c.focusBackbone, c.focusWidth)}`);
  if (p.pooling !== c.pooling) problems.push(`pooling ${p.pooling}, config ${c.pooling}`);
  if (p.mean.join() !== c.mean.join() || p.std.join() !== c.std.join()) problems.push('another normalisation (mean/std)');
  if (problems.length > 0)
    throw new ConfigError(
      'pretrained',
      `the pretrained weights do not fit this config (${problems.join('; ')}): set pretrained to false, or pretrain weights for it (saccade pretrain)`,
    );
}

/** Copy every layer's weights from `from` into `to` (same architecture); the head only if its shape matches. */
function copyLayers(from: tf.LayersModel, to: tf.LayersModel, what: string): void {
  const source = from.layers.filter((l) => l.getWeights().length > 0);
  const target = to.layers.filter((l) => l.getWeights().length > 0);
  if (source.length !== target.length)
    throw new ConfigError('pretrained', `the pretrained ${what} has ${source.length} layers with weights, the network ${target.length}`);
  // getWeights returns the layers' own variables (nothing to dispose); setWeights copies values.
  source.forEach((s, i) => {
    const t = target[i]!;
    const sw = s.getWeights();
    const tw = t.getWeights();
    const same = sw.length === tw.length && sw.every((w, j) => w.shape.join() === tw[j]!.shape.join());
    if (same) t.setWeights(sw);
    else if (t.name !== HEAD) throw new ConfigError('pretrained', `the pretrained ${what} layer ${s.name} does not match the network's ${t.name}`);
  });
}

/** Start a fresh network's backbones from pretrained ones (what train() does when config.pretrained): the parts its method names. */
export function initBackbones(net: VideoNet, p: Pretrained): void {
  checkPretrained(p.info, net.config);
  const models = net.models();
  const uses = methodSpec(net.config.method).pretrained;
  if (uses.glance !== undefined) copyLayers(p.glance, models[uses.glance]!, 'glance network');
  if (uses.focus !== undefined) copyLayers(p.focus, models[uses.focus]!, 'focus network');
}
