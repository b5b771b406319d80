/**
 * Keras applications weights converted to the tfjs layers format (model.json + shards, layer
 * names as Keras spells them: Conv1, block_3_depthwise, conv2_block1_1_conv, ...). Saccade's
 * backbones use Keras's names, so weights map by name. Keras's ResNet50 convs have biases where
 * torchvision's have none: a conv bias followed by its batch norm is folded into the norm's moving
 * mean (BN(Wx + b) = BN'(Wx) with mean' = mean - b), which is exact.
 */
import * as tf from '@tensorflow/tfjs';

import { WeightFormatError } from '../errors.js';
import { assignAll, modelWeights, type LoadReport } from './assign.js';

/** Load Keras-named weights (a tfjs IOHandler such as fileIO(dir), or loaded artifacts). */
export async function loadKerasWeights(model: tf.LayersModel, from: tf.io.IOHandler | tf.io.ModelArtifacts, source = 'Keras weights'): Promise<LoadReport> {
  const artifacts = 'load' in from && typeof from.load === 'function' ? await from.load() : (from as tf.io.ModelArtifacts);
  if (!artifacts.weightSpecs || !artifacts.weightData) {
    throw new WeightFormatError(source, 'has no weights (weightSpecs/weightData missing)');
  }
  const raw = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  const named = new Map<string, tf.Tensor>();
  for (const [name, tensor] of Object.entries(raw)) named.set(name.replace(/:0$/, ''), tensor);
  const targets = modelWeights(model);
  const wanted = new Set(targets.map((t) => t.name));
  const hasHead = model.layers.some((l) => l.name === 'predictions');
  const values = new Map<string, tf.Tensor>();
  const mismatches: string[] = [];
  const ignored: string[] = [];
  const created: tf.Tensor[] = [];
  try {
    for (const t of targets) {
      const v = named.get(t.name);
      if (v) values.set(t.name, v);
      else mismatches.push(`missing: ${t.name} [${t.shape}] is not in the weights`);
    }
    for (const [name, tensor] of named) {
      if (wanted.has(name)) continue;
      const conv = /^(.*)_conv\/bias$/.exec(name);
      const meanName = conv ? `${conv[1]}_bn/moving_mean` : '';
      if (conv && wanted.has(meanName) && named.has(meanName)) {
        const folded = tf.sub(named.get(meanName)!, tensor);
        created.push(folded);
        values.set(meanName, folded);
        continue;
      }
      if (!hasHead && name.startsWith('predictions/')) {
        ignored.push(name);
        continue;
      }
      mismatches.push(`unexpected: ${name} [${tensor.shape}] has no place in the network`);
    }
    return assignAll(source, targets, values, mismatches, ignored);
  } finally {
    tf.dispose([...named.values(), ...created]);
  }
}
