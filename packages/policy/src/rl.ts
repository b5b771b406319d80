/**
 * AdaFocus V1's policy ("rl"): a GRU actor-critic trained with PPO. It reads a frame's glance
 * feature map (gradient stopped), encodes it (1x1 conv + BN + ReLU, flatten, linear + ReLU),
 * updates a GRU state across frames, and outputs
 * - discrete: a softmax over a grid x grid set of patch positions (7 x 7 in the paper), where cell
 *   (i, j) is the patch centre (i, j) / (grid - 1) in cropPatches' convention (0 against the
 *   top/left border, 1 against the bottom/right one): the candidates tile the frame evenly;
 * - continuous (the paper's Something-Something setting): a Gaussian over the centre whose mean is
 *   a sigmoid and whose standard deviation is fixed; the sample is clamped to [0, 1];
 * and a value (the critic). The patch is cut at the sampled position and is not differentiable:
 * the policy learns from rewards through PPO (`ppoLoss`).
 *
 * Sampling draws from a seeded Rng in JavaScript (inverse CDF / Box-Muller), so that the same seed
 * gives the same actions on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, stopGradient } from '@saccade/tensor';

import { checkMaps, PolicyOptionError } from './errors.js';
import { dense, gruCell, gruRunner, GruWeightCache } from './gru.js';

type Sym = tf.SymbolicTensor;

export type RlAction = { kind: 'discrete'; grid: number } | { kind: 'continuous'; std: number };

export interface RlPolicyOptions {
  /** Glance feature-map shape [h, w, channels]. */
  featureShape: readonly [number, number, number];
  /** Default: discrete over a 7 x 7 grid (the paper). */
  action?: RlAction;
  /** GRU width. Default 128. */
  hidden?: number;
  /** Channels of the encoder's 1x1 conv. Default 64 (the official ActivityNet AdaFocus V1: 32). */
  encoderChannels?: number;
  /**
   * Batch norm after the encoder's 1x1 conv. Default true; the official ActivityNet AdaFocus V1
   * encoder has none (1x1 conv, ReLU, flatten, linear, ReLU).
   */
  encoderNorm?: boolean;
  /**
   * Batch norm after the encoder's linear layer too (before its ReLU). Default false; the official
   * Something-Something AdaFocus V1 policy (`actorcritic_with_bn`) has it.
   */
  encoderFcNorm?: boolean;
  seed?: number;
  /** Name prefix of the two models. Default 'rl'. */
  name?: string;
}

export interface RlStep {
  /** [B, 2] patch centres (y, x) in [0, 1]. */
  centres: tf.Tensor2D;
  /** Discrete: [B] int32 cell indices; continuous: [B, 2] sampled centres before clamping. */
  actions: tf.Tensor;
  /** [B] log-probability of the actions under the policy that chose them. */
  logProbs: tf.Tensor1D;
  /** [B] the critic's value of the state. */
  values: tf.Tensor1D;
  /** [B, hidden] GRU state after this frame. */
  state: tf.Tensor2D;
}

export interface RlEvaluation {
  /** [B, T] log-probabilities of the given actions (differentiable in the policy's weights). */
  logProbs: tf.Tensor2D;
  /** [B, T] values. */
  values: tf.Tensor2D;
  /** [B, T] entropy of the action distribution. */
  entropy: tf.Tensor2D;
}

export interface RlPolicy {
  readonly kind: 'rl';
  readonly action: RlAction;
  readonly hidden: number;
  readonly featureShape: readonly [number, number, number];
  readonly encoder: tf.LayersModel;
  /** [encoded, state] -> [actor output (grid² logits, or the 2 means), value [B, 1], state]. */
  readonly recurrent: tf.LayersModel;
  initialState(batch: number): tf.Tensor2D;
  /**
   * One frame per video: sample an action (or take the most likely one / the mean with
   * `deterministic`), with its log-probability and the state's value. Not differentiable.
   */
  act(maps: tf.Tensor4D, state: tf.Tensor2D, options: { rng: Rng; deterministic?: boolean }): RlStep;
  /**
   * Where the policy would look from this state: the discrete policy's probability of each grid
   * cell, [B, grid, grid] (row-major, y then x, as the cells' centres). Undefined for a continuous
   * action (a Gaussian around one point has no map).
   */
  distribution(maps: tf.Tensor4D, state: tf.Tensor2D): tf.Tensor3D | undefined;
  /** Re-run the policy over stored frames [B, T, h, w, c] and score the stored actions (for PPO). */
  evaluate(maps: tf.Tensor5D, actions: tf.Tensor, training?: boolean): RlEvaluation;
  readonly trainableWeights: tf.LayerVariable[];
  dispose(): void;
}

function checkOptions(o: RlPolicyOptions): { hidden: number; action: RlAction } {
  const hidden = o.hidden ?? 128;
  const action = o.action ?? { kind: 'discrete', grid: 7 };
  const [h, w, c] = o.featureShape;
  const ints: [string, number][] = [
    ['featureShape height', h],
    ['featureShape width', w],
    ['featureShape channels', c],
    ['hidden', hidden],
    ['encoderChannels', o.encoderChannels ?? 64],
  ];
  for (const [name, v] of ints) if (!Number.isInteger(v) || v < 1) throw new PolicyOptionError(name, `must be a positive integer, got ${v}`);
  if (action.kind === 'discrete' && (!Number.isInteger(action.grid) || action.grid < 2))
    throw new PolicyOptionError('action.grid', `must be an integer >= 2, got ${action.grid}`);
  if (action.kind === 'continuous' && !(action.std > 0)) throw new PolicyOptionError('action.std', `must be > 0, got ${action.std}`);
  return { hidden, action };
}

export function buildRlModels(options: RlPolicyOptions): { encoder: tf.LayersModel; recurrent: tf.LayersModel; hidden: number; action: RlAction } {
  const { hidden, action } = checkOptions(options);
  const [h, w, c] = options.featureShape;
  const rng = new Rng(options.seed ?? 0);
  const prefix = options.name ?? 'rl';
  const mapIn = tf.input({ shape: [h, w, c], name: 'feature_map' });
  let e = tf.layers
    .conv2d({
      filters: options.encoderChannels ?? 64,
      kernelSize: 1,
      useBias: false,
      name: 'encoder_conv',
      kernelInitializer: tf.initializers.heNormal({ seed: rng.tensorSeed() }),
    })
    .apply(mapIn) as Sym;
  if (options.encoderNorm ?? true) e = tf.layers.batchNormalization({ name: 'encoder_conv_bn', epsilon: 1e-5, momentum: 0.9 }).apply(e) as Sym;
  e = tf.layers.activation({ activation: 'relu', name: 'encoder_conv_relu' }).apply(e) as Sym;
  e = tf.layers.flatten({ name: 'encoder_flatten' }).apply(e) as Sym;
  if (options.encoderFcNorm) {
    e = dense(hidden, rng, 'encoder_fc').apply(e) as Sym;
    e = tf.layers.batchNormalization({ name: 'encoder_fc_bn', epsilon: 1e-5, momentum: 0.9 }).apply(e) as Sym;
    e = tf.layers.activation({ activation: 'relu', name: 'encoder_fc_relu' }).apply(e) as Sym;
  } else e = dense(hidden, rng, 'encoder_fc', 'relu').apply(e) as Sym;
  const encoder = tf.model({ inputs: mapIn, outputs: e, name: `${prefix}_encoder` });

  const x = tf.input({ shape: [hidden], name: 'encoded' });
  const hPrev = tf.input({ shape: [hidden], name: 'state' });
  const hNew = gruCell(x, hPrev, hidden, rng);
  const actor = (action.kind === 'discrete' ? dense(action.grid * action.grid, rng, 'actor') : dense(2, rng, 'actor', 'sigmoid')).apply(hNew) as Sym;
  const value = dense(1, rng, 'critic').apply(hNew) as Sym;
  const recurrent = tf.model({ inputs: [x, hPrev], outputs: [actor, value, hNew], name: `${prefix}_recurrent` });
  return { encoder, recurrent, hidden, action };
}

export function createRlPolicy(options: RlPolicyOptions): RlPolicy {
  const { encoder, recurrent, hidden, action } = buildRlModels(options);
  return wrapRlPolicy(encoder, recurrent, hidden, action, options.featureShape);
}

/** Patch centres [B, 2] of discrete actions (grid cells, row-major). */
export function gridCentres(actions: Int32Array | number[], grid: number): tf.Tensor2D {
  const out = new Float32Array(actions.length * 2);
  Array.from(actions).forEach((a, i) => {
    out[2 * i] = Math.floor(a / grid) / (grid - 1);
    out[2 * i + 1] = (a % grid) / (grid - 1);
  });
  return tf.tensor2d(out, [actions.length, 2]);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Log-density of a diagonal Gaussian with fixed std, summed over the last axis. */
function gaussianLogProb(x: tf.Tensor, mean: tf.Tensor, std: number): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.sub(tf.mul(tf.square(tf.sub(x, mean)), -0.5 / (std * std)), Math.log(std) + LOG_SQRT_2PI), -1));
}

/** An RlPolicy around already-built (or loaded) encoder and recurrent models. */
export function wrapRlPolicy(
  encoder: tf.LayersModel,
  recurrent: tf.LayersModel,
  hidden: number,
  action: RlAction,
  featureShape: readonly [number, number, number],
): RlPolicy {
  const weights = new GruWeightCache();
  const run = (maps: tf.Tensor4D, state: tf.Tensor2D, training: boolean) => {
    const encoded = encoder.apply(stopGradient(maps), { training }) as tf.Tensor2D;
    if (!training) {
      // Inference (rollouts, evaluation): the GRU from raw ops, then the two heads.
      const next = gruRunner(recurrent, weights).sequence(tf.expandDims(encoded, 1) as tf.Tensor3D, state).last;
      const out = recurrent.getLayer('actor').apply(next) as tf.Tensor2D;
      const value = recurrent.getLayer('critic').apply(next) as tf.Tensor2D;
      return { out, value: tf.reshape(value, [-1]) as tf.Tensor1D, next };
    }
    const [out, value, next] = recurrent.apply([encoded, state], { training }) as tf.Tensor[];
    return { out: out as tf.Tensor2D, value: tf.reshape(value!, [-1]) as tf.Tensor1D, next: next as tf.Tensor2D };
  };
  return {
    kind: 'rl',
    action,
    hidden,
    featureShape,
    encoder,
    recurrent,
    initialState: (batch) => tf.zeros([batch, hidden]) as tf.Tensor2D,
    act(maps, state, { rng, deterministic = false }) {
      checkMaps(maps, 4, featureShape, 'act');
      const b = maps.shape[0];
      return tf.tidy(() => {
        const r = run(maps, state, false);
        if (action.kind === 'discrete') {
          const logp = tf.logSoftmax(r.out);
          const probs = tf.exp(logp).dataSync();
          const n = action.grid * action.grid;
          const chosen = new Int32Array(b);
          for (let i = 0; i < b; i++) {
            if (deterministic) {
              let best = 0;
              for (let k = 1; k < n; k++) if (probs[i * n + k]! > probs[i * n + best]!) best = k;
              chosen[i] = best;
              continue;
            }
            const u = rng.uniform();
            let acc = 0;
            let k = 0;
            for (; k < n - 1; k++) {
              acc += probs[i * n + k]!;
              if (u < acc) break;
            }
            chosen[i] = k;
          }
          const actions = tf.tensor1d(chosen, 'int32');
          const logProbs = tf.sum(tf.mul(logp, tf.oneHot(actions, n)), 1) as tf.Tensor1D;
          return { centres: gridCentres(chosen, action.grid), actions, logProbs, values: r.value, state: r.next };
        }
        const mean = r.out.dataSync();
        const sampled = new Float32Array(b * 2);
        for (let i = 0; i < b * 2; i++) sampled[i] = deterministic ? mean[i]! : mean[i]! + action.std * rng.normal();
        const actions = tf.tensor2d(sampled, [b, 2]);
        const logProbs = gaussianLogProb(actions, r.out, action.std) as tf.Tensor1D;
        return { centres: tf.clipByValue(actions, 0, 1) as tf.Tensor2D, actions, logProbs, values: r.value, state: r.next };
      });
    },
    distribution(maps, state) {
      checkMaps(maps, 4, featureShape, 'distribution');
      if (action.kind !== 'discrete') return undefined;
      const g = action.grid;
      return tf.tidy(() => tf.reshape(tf.softmax(run(maps, state, false).out), [maps.shape[0], g, g]) as tf.Tensor3D);
    },
    evaluate(maps, actions, training = false) {
      checkMaps(maps, 5, featureShape, 'evaluate');
      const [b, t] = maps.shape;
      const expected = action.kind === 'discrete' ? [b, t] : [b, t, 2];
      if (actions.shape.join() !== expected.join()) throw new PolicyOptionError('evaluate', `expects actions [${expected}], got [${actions.shape}]`);
      return tf.tidy(() => {
        let state = tf.zeros([b, hidden]) as tf.Tensor2D;
        const logProbs: tf.Tensor[] = [];
        const values: tf.Tensor[] = [];
        const entropy: tf.Tensor[] = [];
        for (let k = 0; k < t; k++) {
          const frame = tf.reshape(tf.slice(maps, [0, k, 0, 0, 0], [b, 1, ...featureShape]), [b, ...featureShape]) as tf.Tensor4D;
          const r = run(frame, state, training);
          if (action.kind === 'discrete') {
            const n = action.grid * action.grid;
            const logp = tf.logSoftmax(r.out);
            const a = tf.reshape(tf.slice(actions, [0, k], [b, 1]), [b]) as tf.Tensor1D;
            logProbs.push(tf.sum(tf.mul(logp, tf.oneHot(tf.cast(a, 'int32') as tf.Tensor1D, n)), 1));
            entropy.push(tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)));
          } else {
            const a = tf.reshape(tf.slice(actions, [0, k, 0], [b, 1, 2]), [b, 2]);
            logProbs.push(gaussianLogProb(a, r.out, action.std));
            entropy.push(tf.fill([b], 2 * (0.5 + LOG_SQRT_2PI + Math.log(action.std))));
          }
          values.push(r.value);
          state = r.next;
        }
        return { logProbs: tf.stack(logProbs, 1) as tf.Tensor2D, values: tf.stack(values, 1) as tf.Tensor2D, entropy: tf.stack(entropy, 1) as tf.Tensor2D };
      });
    },
    get trainableWeights() {
      return [...encoder.trainableWeights, ...recurrent.trainableWeights];
    },
    dispose() {
      encoder.dispose();
      recurrent.dispose();
      weights.dispose();
    },
  };
}

/**
 * Discounted returns per video: G_t = r_t + gamma * G_{t+1} over rewards [B, T] (row-major),
 * optionally standardised over the whole batch (the official code does, with 1e-5 in the
 * denominator).
 */
export function discountedReturns(rewards: Float32Array, batch: number, steps: number, gamma: number, standardise = false): Float32Array {
  if (rewards.length !== batch * steps) throw new PolicyOptionError('rewards', `has ${rewards.length} values, expected ${batch} x ${steps}`);
  if (!(gamma >= 0 && gamma <= 1)) throw new PolicyOptionError('gamma', `must be in [0, 1], got ${gamma}`);
  const out = new Float32Array(rewards.length);
  for (let b = 0; b < batch; b++) {
    let g = 0;
    for (let t = steps - 1; t >= 0; t--) {
      g = rewards[b * steps + t]! + gamma * g;
      out[b * steps + t] = g;
    }
  }
  if (standardise && out.length > 1) {
    const mean = out.reduce((a, v) => a + v, 0) / out.length;
    const std = Math.sqrt(out.reduce((a, v) => a + (v - mean) ** 2, 0) / (out.length - 1));
    for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) / (std + 1e-5);
  }
  return out;
}

export interface PpoOptions {
  /** Ratio clip. Default 0.2 (the paper). */
  clip?: number;
  /** Weight of the value loss. Default 0.5. */
  valueCoef?: number;
  /** Weight of the entropy bonus. Default 0.01. */
  entropyCoef?: number;
}

/**
 * PPO's clipped surrogate objective as a loss to minimise, averaged over all entries:
 * -min(ρ A, clip(ρ, 1 ± ε) A) + c_v (V - G)² - c_e H, with ρ = exp(log π - log π_old) and the
 * advantage A = G - V with V's gradient stopped (the critic learns only from its own term).
 */
export function ppoLoss(
  e: { logProbs: tf.Tensor; oldLogProbs: tf.Tensor; values: tf.Tensor; returns: tf.Tensor; entropy: tf.Tensor },
  options: PpoOptions = {},
): tf.Scalar {
  const clip = options.clip ?? 0.2;
  return tf.tidy(() => {
    const ratio = tf.exp(tf.sub(e.logProbs, e.oldLogProbs));
    const advantage = tf.sub(e.returns, stopGradient(e.values));
    const surrogate = tf.minimum(tf.mul(ratio, advantage), tf.mul(tf.clipByValue(ratio, 1 - clip, 1 + clip), advantage));
    const valueLoss = tf.square(tf.sub(e.values, e.returns));
    const total = tf.sub(tf.add(tf.neg(surrogate), tf.mul(valueLoss, options.valueCoef ?? 0.5)), tf.mul(e.entropy, options.entropyCoef ?? 0.01));
    return tf.mean(total) as tf.Scalar;
  });
}
