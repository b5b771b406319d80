/**
 * A spatial soft-argmax readout for AdaFocusV2's policy ("interp" family: continuous centres
 * trained through the differentiable crop). Instead of flattening the glance map into a dense
 * layer and a GRU (which must learn a position code from scratch), a 1x1 convolution scores every
 * cell of the map, a softmax over the cells turns the scores into weights, and the patch centre is
 * the weighted mean of the cells' positions (soft-argmax, as in spatial-softmax keypoint heads).
 *
 * The convolution reads the glance map (gradient stopped) plus one extra channel: the map's
 * maximum over channels, standardised per frame (mean 0, std 1 over the cells). That channel is
 * where a max-pooled classifier finds its evidence; its weight starts at `prior` and the map
 * channels' weights at zero, so an untrained policy looks where the glance's own features peak,
 * and the classification loss, through the crop, trains every weight from there.
 *
 * One serialisable tfjs-layers model, `encoder` ([h, w, c + 1] -> [h, w, 1] scores). Stateless:
 * each frame's centre depends on its own map (`initialState` is a [B, 1] zero placeholder so that
 * the step interface matches the GRU readout's).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, stopGradient } from '@saccade/tensor';

import { checkMaps, PolicyOptionError } from './errors.js';
import type { PolicyStep } from './interp.js';

export interface SpatialPolicyOptions {
  /** Glance feature-map shape [h, w, channels]. */
  featureShape: readonly [number, number, number];
  /**
   * Patch size / frame size, in (0, 1]: converts the soft-argmax position (a fraction of the frame)
   * to cropPatches's centre parameter ((position - r / 2) / (1 - r), clipped to [0, 1]).
   */
  patchFraction: number;
  /**
   * Where the map's cells look, as fractions of the frame: the centre of cell (0, 0) and the distance
   * between cells, [y, x] each (from the backbone's receptive fields: @saccade/backbones'
   * featureMapGeometry divided by the input size). Default: the even grid, cell (i, j) at
   * ((i + 0.5) / h, (j + 0.5) / w), which padding before strided layers makes wrong by up to a
   * cell's width.
   */
  cells?: CellGeometry;
  /** Initial weight of the standardised channel-max saliency channel (softmax sharpness). Default 3. */
  prior?: number;
  seed?: number;
  /** Model name. Default 'policy_encoder'. */
  name?: string;
}

/** The centre of a map's cell (0, 0) and the spacing of its cells, as fractions of the frame ([y, x] each). */
export interface CellGeometry {
  origin: readonly [number, number];
  step: readonly [number, number];
}

export interface SpatialPolicy {
  readonly kind: 'spatial';
  readonly featureShape: readonly [number, number, number];
  readonly patchFraction: number;
  /** Where the cells look (the grid when not given at creation). */
  readonly cells: CellGeometry;
  readonly encoder: tf.LayersModel;
  /** A [B, 1] zero placeholder (the readout keeps no state between frames). */
  initialState(batch: number): tf.Tensor2D;
  /** One frame per video: maps [B, h, w, c] -> centres [B, 2]. The maps' gradient is stopped here. */
  step(maps: tf.Tensor4D, state: tf.Tensor2D, training?: boolean): PolicyStep;
  /** All frames: maps [B, T, h, w, c] -> centres [B, T, 2]. */
  sequence(maps: tf.Tensor5D, training?: boolean): tf.Tensor3D;
  /** Soft-argmax weights over the cells, [N, h * w], for maps [N, h, w, c] (diagnostics, tests). */
  weights(maps: tf.Tensor4D): tf.Tensor2D;
  readonly trainableWeights: tf.LayerVariable[];
  dispose(): void;
}

function checkShape(featureShape: readonly number[], patchFraction: number): void {
  featureShape.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 1) throw new PolicyOptionError(`featureShape[${i}]`, `must be a positive integer, got ${v}`);
  });
  if (!(patchFraction > 0 && patchFraction <= 1)) throw new PolicyOptionError('patchFraction', `must be in (0, 1], got ${patchFraction}`);
}

export function buildSpatialModel(options: SpatialPolicyOptions): tf.LayersModel {
  checkShape(options.featureShape, options.patchFraction);
  const [h, w, c] = options.featureShape;
  const prior = options.prior ?? 3;
  if (!Number.isFinite(prior)) throw new PolicyOptionError('prior', `must be a finite number, got ${prior}`);
  const rng = new Rng(options.seed ?? 0);
  const input = tf.input({ shape: [h, w, c + 1], name: 'feature_map_saliency' });
  const conv = tf.layers.conv2d({
    filters: 1,
    kernelSize: 1,
    name: 'spatial_score',
    kernelInitializer: tf.initializers.zeros(),
    biasInitializer: tf.initializers.zeros(),
  });
  const out = conv.apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: options.name ?? 'policy_encoder' });
  // Map channels start at (almost) zero, the saliency channel at `prior`. A tiny seeded jitter keeps
  // the map channels' weights distinct per seed without moving the initial centres measurably.
  const kernel = tf.tidy(() => {
    const jitter = tf.randomNormal([1, 1, c, 1], 0, 1e-3, 'float32', rng.tensorSeed());
    return tf.concat([jitter, tf.fill([1, 1, 1, 1], prior)], 2);
  });
  const [, bias] = conv.getWeights();
  conv.setWeights([kernel, bias!]);
  kernel.dispose();
  return model;
}

export function createSpatialPolicy(options: SpatialPolicyOptions): SpatialPolicy {
  if (options.cells) checkCells(options.cells);
  return wrapSpatialPolicy(buildSpatialModel(options), options.featureShape, options.patchFraction, options.cells);
}

function checkCells(g: CellGeometry): void {
  for (const key of ['origin', 'step'] as const) {
    const v = g[key];
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isFinite(x) && (key === 'origin' || x > 0))) {
      throw new PolicyOptionError(`cells.${key}`, `must be two finite numbers${key === 'step' ? ' above 0' : ''}, got ${JSON.stringify(v)}`);
    }
  }
}

/** A SpatialPolicy around a built or loaded encoder. */
export function wrapSpatialPolicy(
  encoder: tf.LayersModel,
  featureShape: readonly [number, number, number],
  patchFraction: number,
  cellGeometry?: CellGeometry,
): SpatialPolicy {
  checkShape(featureShape, patchFraction);
  const [h, w, c] = featureShape;
  const geometry: CellGeometry = cellGeometry ?? { origin: [0.5 / h, 0.5 / w], step: [1 / h, 1 / w] };
  checkCells(geometry);
  const expected = encoder.inputs[0]!.shape.slice(1);
  if (expected.join() !== [h, w, c + 1].join())
    throw new PolicyOptionError('encoder', `expects input [${expected.join(', ')}], the feature maps need [${h}, ${w}, ${c + 1}]`);
  const check = (maps: tf.Tensor, rank: number, what: string) => checkMaps(maps, rank, featureShape, what);
  // Cell centres as fractions of the frame, [h * w, 2] (y, x).
  const { origin, step } = geometry;
  const cells = (): tf.Tensor2D => {
    const pos: number[] = [];
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) pos.push(origin[0] + i * step[0], origin[1] + j * step[1]);
    return tf.tensor2d(pos, [h * w, 2]);
  };
  const softWeights = (maps: tf.Tensor4D, training: boolean): tf.Tensor2D => {
    const n = maps.shape[0];
    // The map and its standardised channel maximum, computed off the gradient tape (the maps get
    // no gradient, so their backward pass would be wasted work).
    const input = stopGradient(maps, (x) => {
      const sal = tf.max(x, 3, true);
      const { mean, variance } = tf.moments(sal, [1, 2, 3], true);
      const standard = tf.div(tf.sub(sal, mean), tf.sqrt(tf.add(variance, 1e-6)));
      return tf.concat([x, standard], 3);
    });
    const scores = encoder.apply(input, { training }) as tf.Tensor;
    return tf.softmax(tf.reshape(scores, [n, h * w])) as tf.Tensor2D;
  };
  const centresOf = (maps: tf.Tensor4D, training: boolean): tf.Tensor2D => {
    // A patch as large as the frame has one position.
    if (patchFraction >= 1) return tf.fill([maps.shape[0], 2], 0.5) as tf.Tensor2D;
    const position = tf.matMul(softWeights(maps, training), cells());
    return tf.clipByValue(tf.div(tf.sub(position, patchFraction / 2), 1 - patchFraction), 0, 1) as tf.Tensor2D;
  };
  return {
    kind: 'spatial',
    featureShape,
    patchFraction,
    cells: geometry,
    encoder,
    initialState: (batch) => tf.zeros([batch, 1]) as tf.Tensor2D,
    step(maps, state, training = false) {
      check(maps, 4, 'step');
      return { centres: tf.tidy(() => centresOf(maps, training)), state: tf.clone(state) };
    },
    sequence(maps, training = false) {
      check(maps, 5, 'sequence');
      const [b, t] = maps.shape;
      return tf.tidy(() => tf.reshape(centresOf(tf.reshape(maps, [b * t, h, w, c]) as tf.Tensor4D, training), [b, t, 2]) as tf.Tensor3D);
    },
    weights(maps) {
      check(maps, 4, 'weights');
      return tf.tidy(() => softWeights(maps, false));
    },
    get trainableWeights() {
      return encoder.trainableWeights;
    },
    dispose() {
      encoder.dispose();
    },
  };
}
