import { parseConfig } from '../config.js';
import { train as trainWith, type TrainOptions, type TrainResult } from '../train.js';
import { loadPretrained } from './pretrain.js';

/**
 * train() for Node: as the universal one, but when config.pretrained is true and no weights are
 * passed, it loads the ones shipped with the SDK (and disposes them after the transfer).
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const config = parseConfig(options.config ?? {});
  if (!config.pretrained || options.pretrained) return trainWith(options);
  const pretrained = await loadPretrained();
  try {
    return await trainWith({ ...options, pretrained });
  } finally {
    pretrained.glance.dispose();
    pretrained.focus.dispose();
  }
}
