import { availableParallelism } from 'node:os';

import { parseConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { train as trainWith, type TrainOptions, type TrainResult } from '../train.js';
import { loadPretrained } from './pretrain.js';
import { startTrainingWorkers } from './workers.js';

export interface NodeTrainOptions extends TrainOptions {
  /**
   * Threads that compute each step (data parallel): this one and `workers - 1` worker threads, each
   * with its own tfjs backend and replica of the network. Default 1. See TrainOptions.peers for
   * what is shared and in which order; a seed and a worker count give the same weights every time.
   */
  workers?: number;
}

/**
 * train() for Node: as the universal one, but when config.pretrained is true and no weights are
 * passed, it loads the ones shipped with the SDK (and disposes them after the transfer); and with
 * `workers` above 1 it trains on that many threads.
 */
export async function train(options: NodeTrainOptions): Promise<TrainResult> {
  const config = parseConfig(options.config ?? {});
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new ConfigError('workers', `must be a whole number from 1 to 64, got ${workers}`);
  if (workers > 1 && options.peers) throw new ConfigError('workers', 'give workers or peers, not both');
  const { workers: _workers, ...rest } = options;
  const run = async (o: TrainOptions) => {
    if (workers === 1) return trainWith(o);
    const peers = await startTrainingWorkers(workers - 1, config, o.train.classes.length);
    try {
      return await trainWith({ ...o, peers });
    } finally {
      await peers.close();
    }
  };
  if (!config.pretrained || rest.pretrained) return run(rest);
  const pretrained = await loadPretrained();
  try {
    return await run({ ...rest, pretrained });
  } finally {
    pretrained.glance.dispose();
    pretrained.focus.dispose();
  }
}

/** The cores this machine has: the CLI's default worker count. */
export function defaultWorkers(): number {
  return availableParallelism();
}
