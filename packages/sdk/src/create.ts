/**
 * Building a method's network from a config, and the one check of its sub-networks (parts) that
 * creation, bundle loading and checkpoint restore share.
 */
import type * as tf from '@tensorflow/tfjs';
import { describeBackboneOutputs } from '@saccade/backbones';

import { parseConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { InputError } from './errors.js';
import { frameOrder } from './frame_order.js';
import { methodSpec } from './methods/registry.js';
import type { VideoNet } from './video_net.js';

/** Build a network from a config (fresh weights from config.seed) or around loaded sub-networks. */
export function createVideoNet(configInput: TrainConfigInput | TrainConfig, classes: number, loaded?: Readonly<Record<string, tf.LayersModel>>): VideoNet {
  const config = parseConfig(configInput);
  if (!Number.isInteger(classes) || classes < 2) throw new InputError('classes', `must be an integer >= 2, got ${classes}`);
  const spec = methodSpec(config.method);
  if (loaded) checkParts(config, loaded, classes);
  // Checked above: `loaded` holds exactly the parts the method's `create` types.
  const net = spec.create(config, classes, loaded);
  if (!loaded) {
    try {
      checkParts(config, net.models(), classes);
    } catch (error) {
      net.dispose();
      throw error;
    }
  }
  const order = frameOrder(config.frames, config.frameOrder);
  const timeOrder = order.every((f, k) => f === k);
  return (spec.stepsAreFrames ?? true) && !timeOrder ? Object.assign(net, { frameOrder: order }) : net;
}

/**
 * Check that `found` holds exactly the sub-networks a network of `config` is made of (its method's
 * `parts`): names only when given names (a checkpoint's weight groups); with models, also that each
 * backbone has the named outputs map, vector and logits, and that every part that gives class scores
 * gives `classes` of them. An InputError on `what` (default 'parts') naming what is wrong.
 */
export function checkParts(config: TrainConfig, found: readonly string[] | Readonly<Record<string, tf.LayersModel>>, classes?: number, what = 'parts'): void {
  const spec = methodSpec(config.method);
  const parts = spec.parts(config);
  const names = Array.isArray(found) ? (found as readonly string[]) : Object.keys(found);
  const missing = Object.keys(parts).filter((n) => !names.includes(n));
  if (missing.length > 0) throw new InputError(what, `lacks ${missing.join(', ')} (method ${spec.id} is made of ${Object.keys(parts).join(', ')})`);
  const extra = names.filter((n) => !(n in parts));
  if (extra.length > 0) throw new InputError(what, `${extra.join(', ')} do not belong to method ${spec.id} (a network of another method?)`);
  if (Array.isArray(found)) return;
  const models = found as Readonly<Record<string, tf.LayersModel>>;
  for (const [name, part] of Object.entries(parts)) {
    const model = models[name]!;
    let scores: readonly (number | null)[] | undefined;
    if (part.kind === 'backbone') {
      const outputs = describeBackboneOutputs(model);
      if (typeof outputs === 'string') throw new InputError(what, `${name} is not a backbone: ${outputs}`);
      scores = outputs.logits;
    } else if (part.classesOutput !== undefined) {
      scores = model.outputs.at(part.classesOutput)?.shape;
    }
    const got = scores?.at(-1);
    if (classes !== undefined && scores !== undefined && got !== classes) throw new InputError(what, `${name} gives ${got} class scores, not ${classes}`);
  }
}
