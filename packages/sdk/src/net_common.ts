/** Helpers shared by the networks of adafocus.ts, v1.ts and v3.ts (not part of the public API). */
import * as tf from '@tensorflow/tfjs';
import { backboneOutputs, countFlops, createBackbone, featureMapGeometry, namedBackbone, type Backbone } from '@saccade/backbones';
import type { CellGeometry } from '@saccade/policy';
import type { ByteImages, ChannelAffine } from '@saccade/tensor';

import { deriveModel } from './engine.js';
import type { StepState } from './video_net.js';
import type { TrainConfig } from './config/base.js';
import { InputError } from './errors.js';

/** MACs of the Dense and convolution layers of a small model (policy, classifier) for one example. */
export function denseMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dense') {
      // A Dense on a sequence [B, T, d] runs once per position.
      const input = (layer.input as tf.SymbolicTensor).shape;
      const positions = input.length > 2 ? input.slice(1, -1).reduce((a: number, b) => a * (b ?? 1), 1) : 1;
      macs += layer.getWeights()[0]!.size * positions;
    } else if (cls === 'Conv1D' || cls === 'Conv2D' || cls === 'Conv3D') {
      // Kernel size times the output positions (every axis but the batch and the channels).
      const out = layer.outputShape as number[];
      macs += layer.getWeights()[0]!.size * out.slice(1, -1).reduce((a, b) => a * b, 1);
    }
  }
  return macs;
}

/** MACs of a backbone without its 'predictions' head (AdaFocus's per-frame heads are training-only). */
export function backboneMacs(model: tf.LayersModel, withHead: boolean): number {
  const report = countFlops(model);
  return withHead ? report.macs : report.layers.filter((l) => l.name !== 'predictions').reduce((a, l) => a + l.macs, 0);
}

/** Videos [B, T, S, S, 3] (rank 5) or frames [B, S, S, 3] (rank 4) of the config's sizes, else InputError. */
export function checkFrames(frames: tf.Tensor, c: TrainConfig, rank: 4 | 5): void {
  const s = c.frameSize;
  const expected = rank === 5 ? `[B, ${c.frames}, ${s}, ${s}, 3]` : `[B, ${s}, ${s}, 3]`;
  const shape = frames.shape;
  const ok =
    frames.rank === rank && shape[rank - 1] === 3 && shape[rank - 2] === s && shape[rank - 3] === s && (rank === 4 || shape[1] === c.frames) && shape[0]! > 0;
  if (!ok) throw new InputError('frames', `expected ${expected}, got [${shape}]`);
}

export function backbone(name: string, width: number, size: number, classes: number, seed: number, modelName: string, pooling: 'avg' | 'max'): Backbone {
  return createBackbone(name, { inputSize: size, width, numClasses: classes, seed, name: modelName, pooling });
}

/** Frames [N, S, S, 3] to the glance size: average pooling when S is a multiple, else bilinear. */
export function downscale(x: tf.Tensor4D, from: number, to: number): tf.Tensor4D {
  if (from === to) return x;
  return from % to === 0 ? tf.avgPool(x, from / to, from / to, 'valid') : (tf.image.resizeBilinear(x, [to, to], true) as tf.Tensor4D);
}

/**
 * Decoded frames [N, S, S, 3] (0-255) at size `to`, normalised (x * scale + shift per channel):
 * the block means when S is a multiple of `to` (one pass over the bytes on wasm and cpu), else the
 * normalised frames resized bilinearly. Equal to `downscale` of the normalised frames up to float
 * rounding: the map is affine and both averages are convex combinations.
 */
export function pixelsAt(pixels: ByteImages, to: number, affine: ChannelAffine): tf.Tensor4D {
  const s = pixels.shape[1];
  return s % to === 0 ? pixels.blockMean(s / to, affine) : downscale(pixels.blockMean(1, affine), s, to);
}

/** Decoded frames as `forwardPixels` takes them: [B * T, S, S, 3] for the config; returns B. */
export function checkPixels(pixels: ByteImages, c: TrainConfig): number {
  const [n, h, w, ch] = pixels.shape;
  const s = c.frameSize;
  if (n % c.frames !== 0 || h !== s || w !== s || ch !== 3)
    throw new InputError('frames', `expected [B * ${c.frames}, ${s}, ${s}, 3] pixels, got [${pixels.shape}]`);
  return n / c.frames;
}

/** Per-frame one-hot labels [B*t, classes]. */
export function frameTargets(labels: tf.Tensor1D, t: number, classes: number): tf.Tensor2D {
  const b = labels.shape[0];
  return tf.oneHot(tf.reshape(tf.tile(tf.reshape(labels, [b, 1]), [1, t]), [b * t]) as tf.Tensor1D, classes) as tf.Tensor2D;
}

/** Frame k of every video [B, T, S, S, 3] -> [B, S, S, 3]. */
export function frameAt(video: tf.Tensor5D, k: number): tf.Tensor4D {
  const [b, , h, w, c] = video.shape;
  return tf.tidy(() => tf.reshape(tf.slice(video, [0, k, 0, 0, 0], [b, 1, h, w, c]), [b, h, w, c]) as tf.Tensor4D);
}

/** The normalised videos of a state from `begin` (networks that do not step on pixels). */
export function stateVideo(state: StepState): tf.Tensor5D {
  if (!state.video) throw new InputError('state', 'this network steps on normalised videos (begin), not on pixels (beginPixels)');
  return state.video;
}

/** The empty state of `beginPixels`: `batch` videos whose frames `frame(k)` gives step by step; `tensors` makes the initial carried tensors. */
export function pixelState(batch: number, frame: (k: number) => ByteImages, tensors: (batch: number) => tf.Tensor[] = () => []): StepState {
  if (!Number.isInteger(batch) || batch < 1) throw new InputError('batch', `must be a positive integer, got ${batch}`);
  return { batch, step: 0, pixels: frame, tensors: tensors(batch) };
}

/**
 * One step's computation, inside tf.tidy, on frame `state.step` of the videos: what `fromFrame`
 * makes of the normalised frame (`begin`) or `fromPixels` of its bytes (`beginPixels`; the bytes
 * are checked against [B, S, S, 3] and disposed after).
 */
export function withStepInputs<I, R extends tf.TensorContainer>(
  state: StepState,
  c: TrainConfig,
  fromFrame: (x: tf.Tensor4D) => I,
  fromPixels: (px: ByteImages) => I,
  body: (inputs: I) => R,
): R {
  const k = state.step;
  if (!state.pixels) return tf.tidy(() => body(fromFrame(frameAt(stateVideo(state), k))));
  const px = state.pixels(k);
  try {
    const [n, h, w, ch] = px.shape;
    const s = c.frameSize;
    if (n !== state.batch || h !== s || w !== s || ch !== 3)
      throw new InputError('frames', `step ${k + 1}: expected [${state.batch}, ${s}, ${s}, 3] pixels, got [${px.shape}]`);
    return tf.tidy(() => body(fromPixels(px)));
  } finally {
    px.dispose();
  }
}

/** The state checks every `step` makes. */
export function checkStep(state: { step: number }, steps: number): void {
  if (state.step >= steps) throw new InputError('step', `the model has ${steps} steps; step ${state.step + 1} asked for`);
}

/** The focus network on patches [N, P, P, 3]: [vectors [N, C], per-frame head logits [N, classes]]. */
export function focusOn(focus: tf.LayersModel, patches: tf.Tensor4D, training: boolean): { vectors: tf.Tensor2D; logits: tf.Tensor2D } {
  const { vector, logits } = namedBackbone(focus).apply(patches, training);
  return { vectors: vector as tf.Tensor2D, logits: logits as tf.Tensor2D };
}

/**
 * The glance model with its policy map first: `[map, vector, logits]`, where map is the backbone's
 * last feature map or, when `shape` names another [h, w, c], the output of the last layer that
 * produces that shape (the end of an earlier stage). The returned model shares the glance's layers
 * and weights (dispose the glance, not it).
 */
export function glanceWithMap(glance: tf.LayersModel, shape: readonly number[]): tf.LayersModel {
  const layer = policyMapLayer(glance, shape);
  if (layer === undefined) return glance;
  const { vector, logits } = backboneOutputs(glance.outputs);
  return deriveModel(
    tf.model({ inputs: glance.inputs, outputs: [layer.output as tf.SymbolicTensor, vector, logits], name: `${glance.name}_policy_view` }),
    glance,
  );
}

/** The layer whose output is the policy's map of `shape`: undefined when it is the glance's first output. */
function policyMapLayer(glance: tf.LayersModel, shape: readonly number[]): tf.layers.Layer | undefined {
  const last = namedBackbone(glance).mapShape;
  if (last.every((d, i) => d === shape[i])) return undefined;
  const layer = lastFeatureMap(glance, (out) => out.slice(1).every((d, i) => d === shape[i]));
  if (!layer) throw new InputError('policy', `the glance network has no feature map of shape [${shape.join(', ')}]`);
  return layer;
}

/**
 * Where the cells of the policy's map of `shape` look in the frame, as fractions of it (the
 * receptive-field centres, from the glance's layers; the spatial policy's soft-argmax averages them).
 */
export function policyMapCells(glance: tf.LayersModel, shape: readonly number[]): CellGeometry {
  const layer = policyMapLayer(glance, shape);
  const g = layer ? featureMapGeometry(glance, layer) : namedBackbone(glance).geometry();
  return { origin: [g.origin[0] / g.input[0], g.origin[1] / g.input[1]], step: [g.step[0] / g.input[0], g.step[1] / g.input[1]] };
}

/** Shape [h, w, c] of the feature map at the end of the glance's stage before the last (twice the resolution). */
export function previousStageShape(glance: tf.LayersModel): [number, number, number] {
  const [h, w] = namedBackbone(glance).mapShape;
  const layer = lastFeatureMap(glance, (out, name) => out[1] === 2 * h! && out[2] === 2 * w! && !name.endsWith('_pad'));
  if (!layer) throw new InputError('policyMap', `the glance network has no stage at twice its last map's resolution (${2 * h!} x ${2 * w!})`);
  return (layer.outputShape as number[]).slice(1) as [number, number, number];
}

/** The last layer (in graph order) with a 4-D output that passes `test`. */
function lastFeatureMap(model: tf.LayersModel, test: (outputShape: number[], name: string) => boolean): tf.layers.Layer | undefined {
  return [...model.layers].reverse().find((l) => {
    const out = l.outputShape as number[];
    return Array.isArray(out) && out.length === 4 && test(out, l.name);
  });
}
