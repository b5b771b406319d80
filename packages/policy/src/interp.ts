/**
 * AdaFocusV2's policy ("interp"): it reads a frame's glance feature map (gradient stopped), encodes
 * it (1x1 conv + BN + tanh, flatten, linear + BN + tanh), updates a GRU state across frames and
 * outputs the patch centre (y, x) in [0, 1] through linear + sigmoid. The patch is then cut by
 * @saccade/tensor's cropPatches, so the classification loss trains the policy through the crop.
 *
 * Two tfjs-layers models, both serialisable (model.json + shards, Node and browser): `encoder`
 * (one feature map -> a vector) and `recurrent` (vector and previous state -> centre and new
 * state). The GRU step is PyTorch's (reset gate applied to the recurrent candidate term), built
 * from Dense/Add/Multiply/Activation/Rescaling layers. Training and inference run the same step
 * function; `sequence` loops it over T frames, `step` is one frame (for early exit).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, stopGradient } from '@saccade/tensor';

import { checkMaps, PolicyOptionError } from './errors.js';
import { dense, gruCell, gruRunner, GruWeightCache } from './gru.js';

type Sym = tf.SymbolicTensor;

export interface InterpPolicyOptions {
  /** Glance feature-map shape [h, w, channels]. */
  featureShape: readonly [number, number, number];
  /** GRU width (the official code's stn_hidden_dim). Default 128. */
  hidden?: number;
  /** Channels of the encoder's 1x1 conv. Default 64 (as the official code). */
  encoderChannels?: number;
  bnEpsilon?: number;
  bnMomentum?: number;
  seed?: number;
  /** Name prefix of the two models. Default 'policy'. */
  name?: string;
}

export interface PolicyStep {
  /** [B, 2] centres (y, x) in [0, 1]. */
  centres: tf.Tensor2D;
  /** [B, hidden] GRU state after this frame. */
  state: tf.Tensor2D;
}

export interface InterpPolicy {
  readonly kind: 'interp';
  readonly hidden: number;
  readonly featureShape: readonly [number, number, number];
  readonly encoder: tf.LayersModel;
  readonly recurrent: tf.LayersModel;
  /** Zero state for a batch of videos. */
  initialState(batch: number): tf.Tensor2D;
  /** One frame per video: maps [B, h, w, c]. The maps' gradient is stopped here. */
  step(maps: tf.Tensor4D, state: tf.Tensor2D, training?: boolean): PolicyStep;
  /** All frames: maps [B, T, h, w, c] -> centres [B, T, 2] (encoder over all B*T frames at once). */
  sequence(maps: tf.Tensor5D, training?: boolean): tf.Tensor3D;
  readonly trainableWeights: tf.LayerVariable[];
  dispose(): void;
}

export function buildInterpModels(options: InterpPolicyOptions): { encoder: tf.LayersModel; recurrent: tf.LayersModel; hidden: number } {
  const [h, w, c] = options.featureShape;
  for (const [name, v] of [
    ['featureShape height', h],
    ['featureShape width', w],
    ['featureShape channels', c],
    ['hidden', options.hidden ?? 128],
    ['encoderChannels', options.encoderChannels ?? 64],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new PolicyOptionError(name, `must be a positive integer, got ${v}`);
  }
  const hidden = options.hidden ?? 128;
  const rng = new Rng(options.seed ?? 0);
  const prefix = options.name ?? 'policy';
  const bn = (name: string) => tf.layers.batchNormalization({ name, epsilon: options.bnEpsilon ?? 1e-5, momentum: options.bnMomentum ?? 0.9 });

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
  e = bn('encoder_conv_bn').apply(e) as Sym;
  e = tf.layers.activation({ activation: 'tanh', name: 'encoder_conv_tanh' }).apply(e) as Sym;
  e = tf.layers.flatten({ name: 'encoder_flatten' }).apply(e) as Sym;
  e = dense(hidden, rng, 'encoder_fc').apply(e) as Sym;
  e = bn('encoder_fc_bn').apply(e) as Sym;
  e = tf.layers.activation({ activation: 'tanh', name: 'encoder_fc_tanh' }).apply(e) as Sym;
  const encoder = tf.model({ inputs: mapIn, outputs: e, name: `${prefix}_encoder` });

  const x = tf.input({ shape: [hidden], name: 'encoded' });
  const hPrev = tf.input({ shape: [hidden], name: 'state' });
  const hNew = gruCell(x, hPrev, hidden, rng);
  const centres = dense(2, rng, 'policy_head', 'sigmoid').apply(hNew) as Sym;
  const recurrent = tf.model({ inputs: [x, hPrev], outputs: [centres, hNew], name: `${prefix}_recurrent` });
  return { encoder, recurrent, hidden };
}

export function createInterpPolicy(options: InterpPolicyOptions): InterpPolicy {
  const { encoder, recurrent, hidden } = buildInterpModels(options);
  return wrapInterpPolicy(encoder, recurrent, hidden, options.featureShape);
}

/** An InterpPolicy around already-built (or loaded) encoder and recurrent models. */
export function wrapInterpPolicy(
  encoder: tf.LayersModel,
  recurrent: tf.LayersModel,
  hidden: number,
  featureShape: readonly [number, number, number],
): InterpPolicy {
  const recur = (encoded: tf.Tensor2D, state: tf.Tensor2D, training: boolean): PolicyStep => {
    const [centres, next] = recurrent.apply([encoded, state], { training }) as tf.Tensor[];
    return { centres: centres as tf.Tensor2D, state: next as tf.Tensor2D };
  };
  const weights = new GruWeightCache();
  /** Inference: the GRU from raw ops (gruRunner), the head as one matmul over all frames. */
  const fastCentres = (encoded: tf.Tensor3D, state: tf.Tensor2D): { centres: tf.Tensor3D; state: tf.Tensor2D } => {
    const [b, t] = encoded.shape;
    const { states, last } = gruRunner(recurrent, weights).sequence(encoded, state);
    const [w, bias] = recurrent.getLayer('policy_head').getWeights();
    const centres = tf.reshape(tf.fused.matMul({ a: states, b: w as tf.Tensor2D, bias, activation: 'sigmoid' }), [b, t, 2]) as tf.Tensor3D;
    return { centres, state: last };
  };
  return {
    kind: 'interp',
    hidden,
    featureShape,
    encoder,
    recurrent,
    initialState: (batch) => tf.zeros([batch, hidden]) as tf.Tensor2D,
    step(maps, state, training = false) {
      checkMaps(maps, 4, featureShape, 'step');
      const [centres, next] = tf.tidy(() => {
        const encoded = encoder.apply(stopGradient(maps), { training }) as tf.Tensor2D;
        if (!training) {
          const r = fastCentres(tf.expandDims(encoded, 1) as tf.Tensor3D, state);
          return [tf.squeeze(r.centres, [1]), r.state];
        }
        const r = recur(encoded, state, training);
        return [r.centres, r.state];
      });
      return { centres: centres!, state: next! };
    },
    sequence(maps, training = false) {
      checkMaps(maps, 5, featureShape, 'sequence');
      const [b, t] = maps.shape;
      return tf.tidy(() => {
        const flat = tf.reshape(stopGradient(maps), [b * t, ...featureShape]);
        const encoded = tf.reshape(encoder.apply(flat, { training }) as tf.Tensor, [b, t, hidden]) as tf.Tensor3D;
        if (!training) return fastCentres(encoded, tf.zeros([b, hidden]) as tf.Tensor2D).centres;
        let state = tf.zeros([b, hidden]) as tf.Tensor2D;
        const out: tf.Tensor2D[] = [];
        for (let k = 0; k < t; k++) {
          const s = recur(tf.reshape(tf.slice(encoded, [0, k, 0], [b, 1, hidden]), [b, hidden]) as tf.Tensor2D, state, training);
          out.push(s.centres);
          state = s.state;
        }
        return tf.stack(out, 1) as tf.Tensor3D;
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
