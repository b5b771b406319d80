/**
 * Node-only: pretraining of the glance and focus backbones on still images, the role ImageNet
 * weights play in the AdaFocus papers (no weights can be downloaded here, so Saccade makes its
 * own). Each example is one frame composed as in the Moving Fashion-MNIST benchmark (a
 * Fashion-MNIST training image on a textured background with clutter, at a random place): the
 * glance network classifies the whole frame at the glance resolution, the focus network a patch
 * around the item (jittered, so that it also learns from patches that cut the item). Validation
 * images come from Fashion-MNIST's test split, which the benchmark's validation videos also use,
 * so pretraining never sees them.
 *
 * The result is a folder: glance/ and focus/ (tfjs-layers model.json + shards) and
 * pretrained.json (architecture, sizes, accuracy, images, seconds), written under a temporary
 * name and moved into place.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';
import { backboneOutputs, createBackbone } from '@saccade/backbones';
import { createRng, deriveSeed, type Rng } from '@saccade/tensor';
import { fileIO, writeFileAtomic } from '@saccade/tensor/node';
import { loadFashionMnist, renderMovingFashionVideo, type FashionMnistSplit } from '@saccade/video';

import { downscale } from '../net_common.js';
import { parseConfig, type TrainConfig, type TrainConfigInput } from '../config.js';
import { normalise } from '../dataset.js';
import { BundleError, ConfigError } from '../errors.js';
import type { Pretrained, PretrainedInfo } from '../pretrained.js';
import { PartOptimizer, cosineLr } from '../optimizer.js';
import { writeFolderAtomic } from './folder.js';

/**
 * The weights shipped with the package (made by `saccade pretrain` with its defaults), in
 * packages/sdk/pretrained: one folder up from dist/ (the built bundle), two from src/node/.
 */
export const SHIPPED_PRETRAINED =
  ['../pretrained/fashion-mnist', '../../pretrained/fashion-mnist']
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((p) => existsSync(join(p, 'pretrained.json'))) ?? fileURLToPath(new URL('../pretrained/fashion-mnist', import.meta.url));

export interface PretrainOptions {
  /** Output folder. */
  out: string;
  /** Architecture and normalisation come from this config (defaults: the SDK's). */
  config?: TrainConfigInput;
  /** Fashion-MNIST folder (default: $FASHION_MNIST_DIR, Debian's package, else the shipped sample). */
  source?: string;
  /** Training images per epoch (default: the whole training split). */
  images?: number;
  /** Validation images from the test split. Default 2000. */
  valImages?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Side of the item in the composed frame (the benchmark's default, 40). */
  itemSize?: number;
  /** Largest shift (pixels) of the focus patch away from the item's centre. Default 12. */
  jitter?: number;
  seed?: number;
  signal?: AbortSignal;
  onStep?: (p: { step: number; steps: number; loss: number; lr: number; seconds: number }) => void;
  /** Called with the trained backbones before they are saved (to inspect them; they are disposed after). */
  onTrained?: (models: { glance: tf.LayersModel; focus: tf.LayersModel }) => void | Promise<void>;
}

interface Composed {
  frames: Uint8Array[];
  patches: Uint8Array[];
  labels: number[];
}

/** Compose `indices` of a split into frames and item patches (deterministic in rng). */
function compose(split: FashionMnistSplit, indices: number[], c: TrainConfig, itemSize: number, jitter: number, rng: Rng): Composed {
  const s = c.frameSize;
  const p = c.patchSize;
  const out: Composed = { frames: [], patches: [], labels: [] };
  const image = (i: number) => split.images.subarray(i * 784, (i + 1) * 784);
  for (const i of indices) {
    const r = rng.fork(`image-${i}`);
    const clutter = [0, 1, 2].map(() => image(r.int(0, split.count - 1)));
    const { data, boxes } = renderMovingFashionVideo(image(i), clutter, r.fork('render'), {
      frames: 1,
      size: s,
      itemSize,
      clutterIntensity: 0.6,
      backgroundIntensity: 0.35,
      speed: [0, 0],
    });
    const [by, bx] = boxes[0]!;
    const place = (corner: number) => Math.min(s - p, Math.max(0, Math.round(corner + itemSize / 2 - p / 2 + r.uniform(-jitter, jitter))));
    const top = place(by);
    const left = place(bx);
    const patch = new Uint8Array(p * p * 3);
    for (let y = 0; y < p; y++) patch.set(data.subarray(((top + y) * s + left) * 3, ((top + y) * s + left + p) * 3), y * p * 3);
    out.frames.push(data);
    out.patches.push(patch);
    out.labels.push(split.labels[i]!);
  }
  return out;
}

/** Network inputs of composed examples: glance frames [N, g, g, 3] and focus patches [N, P, P, 3]. */
function inputs(batch: Composed, c: TrainConfig): { g: tf.Tensor4D; f: tf.Tensor4D } {
  return tf.tidy(() => {
    const frames = tf.reshape(normalise(batch.frames, 1, c.frameSize, c), [batch.labels.length, c.frameSize, c.frameSize, 3]) as tf.Tensor4D;
    const f = tf.reshape(normalise(batch.patches, 1, c.patchSize, c), [batch.labels.length, c.patchSize, c.patchSize, 3]) as tf.Tensor4D;
    return { g: downscale(frames, c.frameSize, c.glanceSize), f };
  });
}

function scoreBackbones(glance: tf.LayersModel, focus: tf.LayersModel, examples: Composed, c: TrainConfig): { glanceAccuracy: number; focusAccuracy: number } {
  const correct = [0, 0];
  for (let i = 0; i < examples.labels.length; i += 256) {
    const part: Composed = {
      frames: examples.frames.slice(i, i + 256),
      patches: examples.patches.slice(i, i + 256),
      labels: examples.labels.slice(i, i + 256),
    };
    const { g, f } = inputs(part, c);
    [glance.apply(g, { training: false }), focus.apply(f, { training: false })].forEach((out, k) => {
      const predicted = tf.tidy(() => tf.argMax(backboneOutputs(out as tf.Tensor[]).logits, 1).dataSync());
      correct[k]! += part.labels.filter((l, j) => predicted[j] === l).length;
      tf.dispose(out as tf.Tensor[]);
    });
    tf.dispose([g, f]);
  }
  return { glanceAccuracy: correct[0]! / examples.labels.length, focusAccuracy: correct[1]! / examples.labels.length };
}

/**
 * Accuracy of pretrained backbones on frames composed from Fashion-MNIST's test split (held out
 * from pretraining and from the benchmark's training videos): the glance network on whole frames,
 * the focus network on jittered patches around the item.
 */
export async function evaluatePretrained(
  p: Pretrained,
  o: { source?: string; images?: number; itemSize?: number; jitter?: number; seed?: number } = {},
): Promise<{ glanceAccuracy: number; focusAccuracy: number; images: number }> {
  const c = parseConfig({
    glanceSize: p.info.glanceSize,
    patchSize: p.info.patchSize,
    frameSize: p.info.frameSize,
    mean: [...p.info.mean],
    std: [...p.info.std],
  });
  const mnist = await loadFashionMnist(o.source);
  const n = Math.min(o.images ?? 2000, mnist.test.count);
  const examples = compose(
    mnist.test,
    Array.from({ length: n }, (_, i) => i),
    c,
    o.itemSize ?? 40,
    o.jitter ?? 12,
    createRng(deriveSeed(o.seed ?? 0, 'val')),
  );
  return { ...scoreBackbones(p.glance, p.focus, examples, c), images: n };
}

/** Pretrain the glance and focus backbones of `config` and save them to `out`. */
export async function pretrainBackbones(o: PretrainOptions): Promise<PretrainedInfo> {
  const started = performance.now();
  const c = parseConfig(o.config ?? {});
  const mnist = await loadFashionMnist(o.source);
  const seed = o.seed ?? 0;
  const itemSize = o.itemSize ?? 40;
  const jitter = o.jitter ?? 12;
  const epochs = o.epochs ?? 1;
  const bs = o.batchSize ?? 64;
  const baseLr = o.lr ?? 2e-3;
  const images = Math.min(o.images ?? mnist.train.count, mnist.train.count);
  if (itemSize > c.frameSize) throw new ConfigError('itemSize', `${itemSize} is larger than the frame (${c.frameSize})`);
  const classes = 10;
  const glance = createBackbone(c.glanceBackbone, {
    inputSize: c.glanceSize,
    width: c.glanceWidth,
    numClasses: classes,
    seed: deriveSeed(seed, 'glance'),
    name: 'glance',
    pooling: c.pooling,
  }).model;
  const focus = createBackbone(c.focusBackbone, {
    inputSize: c.patchSize,
    width: c.focusWidth,
    numClasses: classes,
    seed: deriveSeed(seed, 'focus'),
    name: 'focus',
    pooling: c.pooling,
  }).model;
  const opt = new PartOptimizer(
    { kind: 'adam', lr: baseLr, momentum: 0.9, weightDecay: c.weightDecay },
    { glance: glance.trainableWeights, focus: focus.trainableWeights },
    { glance: 1, focus: 1 },
  );
  const rng = createRng(seed);
  const val = compose(
    mnist.test,
    Array.from({ length: Math.min(o.valImages ?? 2000, mnist.test.count) }, (_, i) => i),
    c,
    itemSize,
    jitter,
    createRng(deriveSeed(seed, 'val')),
  );
  const batches = Math.floor(images / bs);
  const steps = batches * epochs;
  const varNames = opt.names;
  const vars = varNames.map((n) => opt.vars.get(n)!);
  const ce = (labels: number[], logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), logits);
  let step = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng
        .fork(`epoch-${epoch}`)
        .shuffle(Array.from({ length: mnist.train.count }, (_, i) => i))
        .slice(0, images);
      for (let b = 0; b < batches; b++) {
        if (o.signal?.aborted) throw new Error('pretraining interrupted');
        const batch = compose(mnist.train, order.slice(b * bs, (b + 1) * bs), c, itemSize, jitter, rng.fork(`train-${epoch}`));
        const { g, f } = inputs(batch, c);
        const { value, grads } = tf.variableGrads(() => {
          const gl = backboneOutputs(glance.apply(g, { training: true }) as tf.Tensor[]).logits;
          const fl = backboneOutputs(focus.apply(f, { training: true }) as tf.Tensor[]).logits;
          return tf.add(ce(batch.labels, gl), ce(batch.labels, fl)) as tf.Scalar;
        }, vars);
        const named = Object.fromEntries(varNames.map((n, i) => [n, grads[vars[i]!.name]!]));
        const lr = cosineLr(baseLr, step, steps);
        opt.apply(named, lr);
        const loss = value.dataSync()[0]!;
        tf.dispose([value, g, f, ...Object.values(grads)]);
        step++;
        o.onStep?.({ step, steps, loss, lr, seconds: (performance.now() - started) / 1000 });
      }
    }
    const { glanceAccuracy, focusAccuracy } = scoreBackbones(glance, focus, val, c);
    const info: PretrainedInfo = {
      version: 1,
      glanceBackbone: c.glanceBackbone,
      glanceWidth: c.glanceWidth,
      glanceSize: c.glanceSize,
      focusBackbone: c.focusBackbone,
      focusWidth: c.focusWidth,
      patchSize: c.patchSize,
      frameSize: c.frameSize,
      pooling: c.pooling,
      classes,
      mean: c.mean,
      std: c.std,
      images,
      epochs,
      seed,
      source: String(mnist.source),
      glanceAccuracy,
      focusAccuracy,
      seconds: (performance.now() - started) / 1000,
    };
    await o.onTrained?.({ glance, focus });
    await writeFolderAtomic(o.out, async (temp) => {
      await glance.save(fileIO(join(temp, 'glance')));
      await focus.save(fileIO(join(temp, 'focus')));
      await writeFileAtomic(join(temp, 'pretrained.json'), `${JSON.stringify(info, null, 2)}\n`);
    });
    return info;
  } finally {
    opt.dispose();
    glance.dispose();
    focus.dispose();
  }
}

/** Load pretrained backbones written by pretrainBackbones (default: the ones shipped with the SDK). */
export async function loadPretrained(dir: string = SHIPPED_PRETRAINED): Promise<Pretrained> {
  const where = resolve(dir);
  const file = join(where, 'pretrained.json');
  if (!existsSync(file)) throw new BundleError(where, 'has no pretrained.json (not a folder of pretrained backbones)');
  const info = JSON.parse(await readFile(file, 'utf8')) as PretrainedInfo;
  if (info.version !== 1) throw new BundleError(where, `pretrained.json has version ${String(info.version)}; this SDK reads version 1`);
  const glance = await tf.loadLayersModel(fileIO(join(where, 'glance')));
  const focus = await tf.loadLayersModel(fileIO(join(where, 'focus')));
  return { info, glance, focus };
}
