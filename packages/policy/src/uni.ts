/**
 * Uni-AdaFocus's policies (Wang et al., TPAMI 2024, the public successor of AdaFocus V3): where,
 * how large and when the expensive network looks.
 *
 * - Spatial policy (`spatial`): 3-D convolutions over the stack of the Tg glance feature maps of a
 *   video ([Tg, h, w, c] -> 1x1x1 conv -> BN -> ReLU -> 3x3x3 -> BN -> ReLU -> 3x3x3 -> BN -> ReLU ->
 *   a (1, h, w) conv to 4 -> sigmoid): per glance frame a patch centre (y, x) and a size (y, x), each
 *   in [0, 1]. `interpolateFrames` spreads them over all T frames (linear, as PyTorch's
 *   `F.interpolate(..., mode='linear', align_corners=False)`); `actionBoxes` turns them into boxes.
 * - Temporal policy (`temporal`): temporal convolutions over the Tg glance vectors ([Tg, c] -> conv
 *   k3 -> BN -> ReLU -> conv k3 -> BN -> ReLU -> conv k1) to one logit per glance frame; its softmax is a
 *   distribution over the video's time from which `inverseCdfFrames` draws K distinct frames.
 * - Both learn through proxies (the focus network's patches use detached actions):
 *   `mcTemporalProxy` (the glance logits averaged under the distribution with random frames left
 *   out, Monte-Carlo) and the spatial proxy (the policy's box cut out of the glance feature maps,
 *   `cropBoxes` of @saccade/tensor, differentiable in the box, for an auxiliary classifier).
 *
 * The official networks' convolutions have no bias and their batch norms PyTorch's eps 1e-5; the
 * layer names here are the official module indices, so that an official checkpoint maps one to one.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, stopGradient } from '@saccade/tensor';

import { Conv3DByFrames } from './conv3d.js';
import { PolicyOptionError } from './errors.js';
import type { CellGeometry } from './spatial.js';

type Sym = tf.SymbolicTensor;

export interface UniPolicyOptions {
  /** Glance feature-map shape [h, w, channels]. */
  featureShape: readonly [number, number, number];
  /** Width of the glance vectors the temporal policy reads. */
  vectorWidth: number;
  /** Glance frames per video (Tg). */
  glanceFrames: number;
  /** Hidden width of the spatial policy (official `stn_hidden_dim`, 128). */
  spatialHidden?: number;
  /** Hidden width of the temporal policy (official `temporal_hidden_dim`, 64). */
  temporalHidden?: number;
  /**
   * The initial kernel of the spatial policy's last convolution: 'he' (the official) or 'zeros'
   * (every action starts at 0.5: with `priorActions`, every box starts centred where the glance's
   * features peak, at the middle size).
   */
  spatialHeadInit?: 'he' | 'zeros';
  /**
   * The initial kernel of the temporal policy's last convolution: 'he' (the official) or 'zeros'
   * (every logit starts at 0: added to `glanceConfidence`, the distribution starts at the glance's
   * confidence).
   */
  temporalHeadInit?: 'he' | 'zeros';
  seed?: number;
  name?: string;
}

/** The spatial [Tg, h, w, c] -> [Tg, 4] and temporal [Tg, c] -> [Tg] logits models. */
export function buildUniModels(o: UniPolicyOptions): { spatial: tf.LayersModel; temporal: tf.LayersModel } {
  const [h, w, c] = o.featureShape;
  const sh = o.spatialHidden ?? 128;
  const th = o.temporalHidden ?? 64;
  const t = o.glanceFrames;
  for (const [name, v] of [
    ['featureShape height', h],
    ['featureShape width', w],
    ['featureShape channels', c],
    ['vectorWidth', o.vectorWidth],
    ['glanceFrames', t],
    ['spatialHidden', sh],
    ['temporalHidden', th],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new PolicyOptionError(name, `must be a positive integer, got ${v}`);
  for (const key of ['spatialHeadInit', 'temporalHeadInit'] as const)
    if (o[key] !== undefined && o[key] !== 'he' && o[key] !== 'zeros') throw new PolicyOptionError(key, `must be 'he' or 'zeros', got ${String(o[key])}`);
  const rng = new Rng(o.seed ?? 0);
  const prefix = o.name ?? 'uni';
  const init = () => tf.initializers.heNormal({ seed: rng.tensorSeed() });
  const bn = (name: string) => tf.layers.batchNormalization({ name, epsilon: 1e-5, momentum: 0.9 });
  const relu = (name: string) => tf.layers.activation({ activation: 'relu', name });

  const maps = tf.input({ shape: [t, h, w, c], name: 'feature_maps' });
  let s: Sym = maps;
  // tfjs-layers has no rank-5 batch norm: [Tg, h, w, k] is normalised as [Tg * h, w, k] (the same
  // per-channel statistics and affine map).
  const bn3d = (name: string, x: Sym) => {
    const k = x.shape[4]!;
    const flat = tf.layers.reshape({ targetShape: [t * h, w, k], name: `${name}_flat` }).apply(x) as Sym;
    return tf.layers.reshape({ targetShape: [t, h, w, k], name: `${name}_unflat` }).apply(bn(name).apply(flat)) as Sym;
  };
  // Conv3DByFrames: tf.layers.conv3d's function and kernel layout on tfjs's 2-D convolutions (wasm's
  // own Conv3D is several times slower, and its backward pass disagrees with the cpu backend's).
  const conv3d = (filters: number, kernelSize: [number, number, number], padding: 'same' | 'valid', name: string) =>
    new Conv3DByFrames({ filters, kernelSize, padding, useBias: false, name, kernelInitializer: init() });
  s = conv3d(sh, [1, 1, 1], 'valid', 'encoder_0').apply(s) as Sym;
  s = relu('encoder_2').apply(bn3d('encoder_1', s)) as Sym;
  s = conv3d(sh, [3, 3, 3], 'same', 'encoder_3').apply(s) as Sym;
  s = relu('encoder_5').apply(bn3d('encoder_4', s)) as Sym;
  s = conv3d(sh, [3, 3, 3], 'same', 'encoder_6').apply(s) as Sym;
  s = relu('encoder_8').apply(bn3d('encoder_7', s)) as Sym;
  // The head's seed is drawn either way, so that the temporal policy's weights do not depend on spatialHeadInit.
  const headKernel = init();
  s = new Conv3DByFrames({
    filters: 4,
    kernelSize: [1, h, w],
    padding: 'valid',
    useBias: false,
    name: 'encoder_9',
    kernelInitializer: o.spatialHeadInit === 'zeros' ? tf.initializers.zeros() : headKernel,
  }).apply(s) as Sym;
  s = tf.layers.activation({ activation: 'sigmoid', name: 'encoder_10' }).apply(s) as Sym;
  const actions = tf.layers.reshape({ targetShape: [t, 4], name: 'actions' }).apply(s) as Sym;
  const spatial = tf.model({ inputs: maps, outputs: actions, name: `${prefix}_spatial` });

  const vectors = tf.input({ shape: [t, o.vectorWidth], name: 'glance_vectors' });
  const conv1d = (filters: number, kernelSize: number, name: string) =>
    tf.layers.conv1d({ filters, kernelSize, padding: 'same', useBias: false, name, kernelInitializer: init() });
  let v = conv1d(th, 3, 'Tconv_0').apply(vectors) as Sym;
  v = relu('Tconv_2').apply(bn('Tconv_1').apply(v)) as Sym;
  v = conv1d(th, 3, 'Tconv_3').apply(v) as Sym;
  v = relu('Tconv_5').apply(bn('Tconv_4').apply(v)) as Sym;
  const temporalKernel = init();
  v = tf.layers
    .conv1d({
      filters: 1,
      kernelSize: 1,
      padding: 'same',
      useBias: false,
      name: 'Tconv_6',
      kernelInitializer: o.temporalHeadInit === 'zeros' ? tf.initializers.zeros() : temporalKernel,
    })
    .apply(v) as Sym;
  const logits = tf.layers.flatten({ name: 'temporal_logits' }).apply(v) as Sym;
  const temporal = tf.model({ inputs: vectors, outputs: logits, name: `${prefix}_temporal` });
  return { spatial, temporal };
}

/**
 * Where each glance map's features peak: a softmax over the cells of the channel maximum
 * (standardised per map: mean 0, std 1 over the cells) times `sharpness`, and the cells' positions
 * averaged under it (soft-argmax, as AdaFocusV2's spatial readout starts). Maps [N, h, w, c] ->
 * positions [N, 2] (y, x) as fractions of the frame; `cells` says where the cells look (default: the
 * even grid). A fixed prior: no gradient reaches the maps.
 */
export function saliencyPositions(maps: tf.Tensor4D, sharpness: number, cells?: CellGeometry): tf.Tensor2D {
  if (maps.rank !== 4) throw new PolicyOptionError('maps', `must be [N, h, w, c], got rank ${maps.rank}`);
  if (!(Number.isFinite(sharpness) && sharpness >= 0)) throw new PolicyOptionError('sharpness', `must be a finite number >= 0, got ${sharpness}`);
  const [n, h, w] = maps.shape;
  const g = cells ?? { origin: [0.5 / h, 0.5 / w], step: [1 / h, 1 / w] };
  const pos: number[] = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) pos.push(g.origin[0] + i * g.step[0], g.origin[1] + j * g.step[1]);
  return stopGradient(maps, (x) => {
    const sal = tf.reshape(tf.max(x, 3), [n, h * w]);
    const { mean, variance } = tf.moments(sal, 1, true);
    const standard = tf.div(tf.sub(sal, mean), tf.sqrt(tf.add(variance, 1e-6)));
    return tf.matMul(tf.softmax(tf.mul(standard, sharpness)), tf.tensor2d(pos, [h * w, 2]));
  }) as tf.Tensor2D;
}

/**
 * How sure the glance is of each glance frame: the negative entropy of its head's softmax,
 * standardised per video (mean 0, std 1 over the Tg frames). Logits [B, Tg, C] -> [B, Tg]. Added to
 * the temporal policy's logits (times a sharpness), it starts the distribution on the frames where
 * the glance sees something (a frame where the object is hidden gives a flat softmax). A fixed
 * prior: no gradient reaches the logits.
 */
export function glanceConfidence(logits: tf.Tensor3D): tf.Tensor2D {
  if (logits.rank !== 3) throw new PolicyOptionError('logits', `must be [B, Tg, classes], got rank ${logits.rank}`);
  return stopGradient(logits, (l) => {
    const lp = tf.logSoftmax(l, 2);
    const negEntropy = tf.sum(tf.mul(tf.exp(lp), lp), 2);
    const { mean, variance } = tf.moments(negEntropy, 1, true);
    return tf.div(tf.sub(negEntropy, mean), tf.sqrt(tf.add(variance, 1e-6)));
  }) as tf.Tensor2D;
}

/**
 * Actions [N, 4] (centre y, x and size y, x in [0, 1], as the spatial policy gives them) read as
 * offsets from prior positions [N, 2] (fractions of the frame): the centre becomes
 * sigmoid(logit(c0) + logit(centre)), where c0 is the centre action that puts the box (its side from
 * the action's size, as `actionBoxes`) centred on the position, kept inside the frame. An action
 * centre of 0.5 therefore centres the box on the position; the sizes pass through. Differentiable in
 * the actions.
 */
export function priorActions(actions: tf.Tensor2D, positions: tf.Tensor2D, frameSize: number, sideMin: number, sideMax: number): tf.Tensor2D {
  if (!(sideMin > 0 && sideMin <= sideMax && sideMax <= frameSize))
    throw new PolicyOptionError('sideMin', `needs 0 < sideMin <= sideMax <= frameSize, got ${sideMin}, ${sideMax}, ${frameSize}`);
  if (positions.rank !== 2 || positions.shape[0] !== actions.shape[0] || positions.shape[1] !== 2)
    throw new PolicyOptionError('positions', `must be [${actions.shape[0]}, 2], got [${positions.shape.join(', ')}]`);
  const eps = 1e-4;
  const logit = (p: tf.Tensor) => {
    const q = tf.clipByValue(p, eps, 1 - eps);
    return tf.log(tf.div(q, tf.sub(1, q)));
  };
  return tf.tidy(() => {
    const [centre, size] = tf.split(actions, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const side = tf.add(tf.mul(size, sideMax - sideMin), sideMin);
    // The room the box's corner has; a box as large as the frame has one place (any c0 does).
    const room = tf.maximum(tf.sub(frameSize, side), 1e-3);
    const c0 = tf.div(tf.sub(tf.mul(positions, frameSize), tf.div(side, 2)), room);
    return tf.concat([tf.sigmoid(tf.add(logit(c0), logit(centre))), size], 1) as tf.Tensor2D;
  });
}

/**
 * [B, Tg, 4] per-glance-frame actions -> [B, T, 4] per frame: linear interpolation in time with
 * PyTorch's `align_corners=False` (frame i reads glance position (i + 0.5) * Tg / T - 0.5, clamped at
 * the first one). A matrix product, so differentiable.
 */
export function interpolateFrames(actions: tf.Tensor3D, frames: number): tf.Tensor3D {
  const [b, tg, a] = actions.shape;
  if (!Number.isInteger(frames) || frames < 1) throw new PolicyOptionError('frames', `must be a positive integer, got ${frames}`);
  const m = new Float32Array(frames * tg);
  for (let i = 0; i < frames; i++) {
    const src = Math.max(0, ((i + 0.5) * tg) / frames - 0.5);
    const i0 = Math.min(Math.floor(src), tg - 1);
    const i1 = i0 < tg - 1 ? i0 + 1 : i0;
    const l = src - i0;
    m[i * tg + i0] = m[i * tg + i0]! + 1 - l;
    m[i * tg + i1] = m[i * tg + i1]! + l;
  }
  return tf.tidy(() => {
    const matrix = tf.tensor2d(m, [frames, tg]);
    const flat = tf.reshape(tf.transpose(actions, [1, 0, 2]), [tg, b * a]);
    return tf.transpose(tf.reshape(tf.matMul(matrix, flat), [frames, b, a]), [1, 0, 2]) as tf.Tensor3D;
  });
}

/**
 * Actions [N, 4] (centre y, x and size y, x, each in [0, 1]) -> boxes [N, 4] (top, left, height,
 * width) in pixels of a `frameSize` frame: the box side is `sideMin + size * (sideMax - sideMin)`
 * and the top-left corner `centre * (frameSize - side)`, so the box stays inside the frame. The
 * official network uses sides from 96 to 224 px on 224-px frames. Differentiable.
 */
export function actionBoxes(actions: tf.Tensor2D, frameSize: number, sideMin: number, sideMax: number): tf.Tensor2D {
  if (!(sideMin > 0 && sideMin <= sideMax && sideMax <= frameSize))
    throw new PolicyOptionError('sideMin', `needs 0 < sideMin <= sideMax <= frameSize, got ${sideMin}, ${sideMax}, ${frameSize}`);
  return tf.tidy(() => {
    const [centre, size] = tf.split(actions, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const side = tf.add(tf.mul(size, sideMax - sideMin), sideMin);
    return tf.concat([tf.mul(centre, tf.sub(frameSize, side)), side], 1) as tf.Tensor2D;
  });
}

/**
 * K distinct frames out of T per video, drawn from a distribution over the Tg glance frames
 * (`weights` [B, Tg], rows summing to 1) by interpolated inverse CDF, as the official
 * `policy_sample_indices`: the CDF is piecewise linear over [0, 1] (glance frame g covers
 * [g/Tg, (g+1)/Tg]); the k-th quantile at (k + u_k) / K (u_k = 1/2 'midpoint', evaluation; uniform
 * from the rng 'stratified', training) is scaled to T and floored; a frame not after the previous
 * one moves to the previous + 1, and the k-th is at most T - K + k. Returns [B * K] frame indices,
 * increasing per video.
 */
export function inverseCdfFrames(
  weights: ArrayLike<number>,
  batch: number,
  glanceFrames: number,
  frames: number,
  k: number,
  mode: 'stratified' | 'midpoint',
  rng?: Rng,
): Int32Array {
  const tg = glanceFrames;
  if (weights.length !== batch * tg) throw new PolicyOptionError('weights', `has ${weights.length} values, expected ${batch} x ${tg}`);
  if (!Number.isInteger(k) || k < 1 || k > frames)
    throw new PolicyOptionError('focusFrames', `must be an integer in [1, ${frames}] (the frames per video), got ${k}`);
  if (mode === 'stratified' && !rng) throw new PolicyOptionError('rng', 'stratified sampling needs an rng');
  const out = new Int32Array(batch * k);
  const cdf = new Float64Array(tg + 1);
  for (let b = 0; b < batch; b++) {
    // Float32 sums, as the official torch.cumsum on float32 weights.
    cdf[0] = 0;
    for (let g = 0; g < tg; g++) cdf[g + 1] = Math.fround(cdf[g]! + weights[b * tg + g]!);
    cdf[tg] = 1;
    for (let j = 0; j < k; j++) {
      const y = Math.fround((j + (mode === 'midpoint' ? 0.5 : rng!.uniform())) / k);
      // The first CDF point at or above y (0 if none), as a bin index g in [0, Tg - 1].
      let first = 0;
      for (let g = 0; g <= tg; g++)
        if (cdf[g]! >= y) {
          first = g;
          break;
        }
      const g = Math.min(Math.max(first, 1), tg) - 1;
      const [x1, x2, y1, y2] = [g / tg, (g + 1) / tg, cdf[g]!, cdf[g + 1]!];
      const q = y2 > y1 ? (x2 * (y - y1) - x1 * (y - y2)) / (y2 - y1) : x1;
      let f = Math.floor(Math.fround(Math.fround(q) * frames));
      if (j > 0 && f <= out[b * k + j - 1]!) f = out[b * k + j - 1]! + 1;
      out[b * k + j] = Math.min(f, frames - k + j);
    }
  }
  return out;
}

/**
 * The temporal policy's Monte-Carlo proxy (official `MCSampleFeature`): glance logits [B, Tg, C]
 * averaged with the distribution `weights` [B, Tg] after leaving out i frames drawn without
 * replacement in proportion to the weights, for i = 0 .. drops - 1, over `samples` draws each; the
 * normaliser (the kept weights' sum) is held constant for the gradient. Returns [B, C],
 * differentiable in the weights and the logits. The draws come from `rng`.
 */
export function mcTemporalProxy(logits: tf.Tensor3D, weights: tf.Tensor2D, drops: number, samples: number, rng: Rng): tf.Tensor2D {
  const [b, tg] = logits.shape;
  if (!Number.isInteger(drops) || drops < 1 || drops > tg) throw new PolicyOptionError('drops', `must be an integer in [1, ${tg}], got ${drops}`);
  if (!Number.isInteger(samples) || samples < 1) throw new PolicyOptionError('samples', `must be a positive integer, got ${samples}`);
  const w = weights.dataSync();
  const draws = samples * drops;
  const mask = new Float32Array(b * draws * tg).fill(1);
  for (let v = 0; v < b; v++)
    for (let s = 0; s < samples; s++)
      for (let i = 0; i < drops; i++) {
        const row = (v * draws + s * drops + i) * tg;
        for (let n = 0; n < i; n++) {
          let total = 0;
          for (let g = 0; g < tg; g++) total += mask[row + g]! * w[v * tg + g]!;
          let u = rng.uniform() * total;
          let pick = -1;
          for (let g = 0; g < tg; g++) {
            const p = mask[row + g]! * w[v * tg + g]!;
            if (p <= 0) continue;
            pick = g;
            if (u < p) break;
            u -= p;
          }
          if (pick >= 0) mask[row + pick] = 0;
        }
      }
  return tf.tidy(() => {
    const kept = tf.mul(tf.tensor3d(mask, [b, draws, tg]), tf.expandDims(weights, 1));
    const mixed = tf.matMul(kept, logits);
    const norm = stopGradient(tf.sum(kept, 2, true));
    return tf.mean(tf.div(mixed, norm), 1) as tf.Tensor2D;
  });
}
