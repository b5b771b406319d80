/**
 * Data-parallel training's contract, universal: `train` hands part of each step's micro-batches to
 * peers (Node's worker threads: `train({ workers })`), each with its own replica of the network,
 * and joins their gradients and batch-norm statistics in a fixed order. The same steps compute
 * here and in a peer (`stepGradients`, `weightsOf`, `statisticsOf`), so a replica computes what
 * this thread would.
 */
import * as tf from '@tensorflow/tfjs';

import type { TrainConfig } from './config/base.js';
import { normalise, type VideoDataset } from './dataset.js';
import { reorderFrames } from './frame_order.js';
import type { VideoNet } from './video_net.js';

/** One micro-batch of a step: the videos (in the network's frame order), labels, flips, the loss's seed and its share of the step. */
export interface Chunk {
  videos: Uint8Array[];
  labels: number[];
  flips: boolean[];
  seed: number;
  weight: number;
}

/** What a participant computed for its chunks: each gradient by its index in the stage's variables, the weighted loss, and its statistics. */
export interface PeerResult {
  grads: { index: number; data: Float32Array; shape: number[] }[];
  loss: number;
  /** Each batch-norm statistic (statisticsOf order) after the chunks, and how many times it was updated. */
  statistics: { data: Float32Array; updates: number }[];
}

/** Peers beside this thread. */
export interface GradientPeers {
  /** How many (this thread is one more participant). */
  readonly count: number;
  /** Set every replica's weights (weightsOf order). */
  sync(weights: Float32Array[]): Promise<void>;
  /** Peer p computes `chunks[p]` for training stage `stage`; results in peer order. */
  step(chunks: readonly Chunk[][], stage: number): Promise<PeerResult[]>;
  close(): Promise<void>;
}

/** Every weight of the network's models (trainable and not), in a fixed order: models by name, then each model's weights. */
export function weightsOf(net: VideoNet): tf.LayerVariable[] {
  const models = net.models();
  return Object.keys(models)
    .sort()
    .flatMap((name) => models[name]!.weights);
}

/** The variables a training stage trains, in the optimiser's order (the stage's parts, each part's weights). */
export function stageVariables(net: VideoNet, parts: readonly string[]): tf.Variable[] {
  const all = net.parts();
  return parts.flatMap((part) => all[part] ?? []).map((w) => w.read() as tf.Variable);
}

interface Statistic {
  variable: tf.LayerVariable;
  momentum: number;
  updates: number;
}

/**
 * The batch-norm moving statistics of the network (weightsOf order), each counting its updates:
 * a layer's moving mean and variance move by `x <- m x + (1 - m) batch` once per training call,
 * and a loss may call a layer more than once.
 */
export function statisticsOf(net: VideoNet): Statistic[] {
  const out: Statistic[] = [];
  const models = net.models();
  for (const name of Object.keys(models).sort())
    for (const layer of models[name]!.layers) {
      if (layer.getClassName() !== 'BatchNormalization') continue;
      const momentum = (layer.getConfig() as { momentum: number }).momentum;
      for (const key of ['movingMean', 'movingVariance'] as const) {
        const variable = (layer as unknown as Record<string, tf.LayerVariable>)[key]!;
        const stat: Statistic = { variable, momentum, updates: 0 };
        const write = variable.write.bind(variable);
        variable.write = (value: tf.Tensor) => {
          stat.updates++;
          return write(value);
        };
        out.push(stat);
      }
    }
  return out;
}

/** Sum the weighted gradients of `chunks` (in order) into `into` (by variable index), and their loss. */
export function stepGradients(
  net: VideoNet,
  config: TrainConfig,
  vars: readonly tf.Variable[],
  stage: number,
  chunks: readonly Chunk[],
  into: Map<number, tf.Tensor> = new Map(),
): { summed: Map<number, tf.Tensor>; loss: number } {
  const index = new Map(vars.map((v, i) => [v.name, i]));
  let loss = 0;
  for (const c of chunks) {
    const indices: number[] = [];
    const r = tf.tidy(() => {
      const x = normalise(c.videos, config.frames, config.frameSize, config, c.flips);
      const y = tf.tensor1d(c.labels, 'int32');
      const { value, grads } = tf.variableGrads(() => net.loss(x, y, c.seed, stage), [...vars]);
      const scaled: tf.Tensor[] = [];
      for (const [name, g] of Object.entries(grads)) {
        const i = index.get(name)!;
        const prev = into.get(i);
        indices.push(i);
        scaled.push(prev ? tf.add(prev, tf.mul(g, c.weight)) : tf.mul(g, c.weight));
      }
      return { value: value.dataSync()[0]!, scaled };
    });
    r.scaled.forEach((g, k) => {
      into.get(indices[k]!)?.dispose();
      into.set(indices[k]!, g);
    });
    loss += r.value * c.weight;
  }
  return { summed: into, loss };
}

/** The videos of a micro-batch as the network reads them (its frame order). */
export function chunkVideos(net: VideoNet, data: VideoDataset, indices: readonly number[]): Uint8Array[] {
  return indices.map((i) => (net.frameOrder ? reorderFrames(data.video(i), net.frameOrder) : data.video(i)));
}

/**
 * Join the participants' batch-norm statistics as if their chunks had run one after another in
 * participant order: each participant's moves are affine in the statistics it started from
 * (x <- m^k x0 + d after k updates), so from the start r0 the joint result is, participant by
 * participant, r <- m^k r + (s - m^k r0).
 */
export function joinStatistics(start: Float32Array, momentum: number, results: readonly { data: Float32Array; updates: number }[]): Float32Array {
  const r = Float64Array.from(start);
  for (const { data, updates } of results) {
    const a = momentum ** updates;
    for (let i = 0; i < r.length; i++) r[i] = a * r[i]! + (data[i]! - a * start[i]!);
  }
  return Float32Array.from(r);
}
