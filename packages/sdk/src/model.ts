/**
 * A trained model with its metadata (the content of a bundle's saccade.json) and `classify`: it runs
 * the network one frame at a time and stops at the first step whose confidence passes that step's
 * exit threshold, so an early exit saves real compute. Universal (Node and browser): the input is
 * decoded frames or a tensor; the Node entry adds video paths.
 */
import * as tf from '@tensorflow/tfjs';
import { confidence, type ScoreKind } from '@saccade/early-exit';
import { ByteImages } from '@saccade/tensor';

import { toSourcePixels, uniformSample, type Fit, type FrameGeometry } from '@saccade/video/browser';

import type { InferenceEngine } from './engine.js';
import type { StepState, VideoNet } from './video_net.js';
import { configFields, type TrainConfig, type TrainConfigInput } from './config.js';
import { createVideoNet } from './create.js';
import { forwardVideos, normalise } from './dataset.js';
import { reorderFrames } from './frame_order.js';
import { InputError } from './errors.js';

export const BUNDLE_FORMAT = 'saccade-bundle';
/**
 * The saccade.json version this SDK writes. 2: per-method configs (the shared fields and the
 * method's own). Version 1 (one flat config with every method's fields) is read through
 * `migrateBundleV1`.
 */
export const BUNDLE_VERSION = 2;

export interface ExitBudget {
  /** Target mean GFLOPs per video this budget was calibrated for. */
  targetGflops: number;
  /** The p of the p^k schedule found for it. */
  p: number;
  /** Threshold per step (the last accepts everything). */
  thresholds: number[];
  /** Mean GFLOPs per video on the calibration set. */
  expectedGflops: number;
}

export interface BundleMeta {
  format: typeof BUNDLE_FORMAT;
  version: number;
  method: TrainConfig['method'];
  patches: TrainConfig['patches'];
  classes: string[];
  frames: number;
  /** Inference steps (exit points): frames, or AdaFocus V3's focus frames. */
  steps: number;
  /**
   * The frame each step sees (config.frameOrder: the official coarse-to-fine order by default).
   * Absent: in time order (version-1 bundles, chronological configs) or picked by the method (V3).
   */
  frameOrder?: number[];
  frameSize: number;
  glanceSize: number;
  patchSize: number;
  normalisation: { mean: [number, number, number]; std: [number, number, number] };
  /** GFLOPs of each step and of a whole video (all steps). */
  gflopsPerStep: number[];
  gflopsPerVideo: number;
  /** Early-exit thresholds per budget (calibrated on the training set). */
  exit?: { score: ScoreKind; budgets: ExitBudget[] };
  /** The full training config (for reference and for rebuilding the network). */
  config: TrainConfig;
  /** Sub-network name -> folder of its model.json. */
  models: Record<string, string>;
  /**
   * Every weight shard ("folder/file", as the sub-networks' manifests name them) with its size in
   * bytes and SHA-256 (hex), checked before any weight is used. Absent in bundles written before
   * it existed (they load with a warning; `saccade bundle hash` adds it).
   */
  weights?: Record<string, { size: number; sha256: string }>;
  /** Figures measured when the bundle was written (accuracy etc.). */
  metrics?: Record<string, unknown>;
  createdBy: string;
}

/** Frames as bytes: [T, H, W, 3] RGB, or a tensor of that shape with values 0..255. */
export interface FramesInput {
  data: Uint8Array;
  frames: number;
  width: number;
  height: number;
  /**
   * Frames of the source video when `data` was already sampled from it (a decoder sets it): fewer
   * than the model's T means some of the T frames repeat (`ClassifyResult.repeatedFrames`).
   */
  sourceFrames?: number;
  /** How the source frames were resized to these (a decoder sets it): results then give source pixels too. */
  geometry?: FrameGeometry;
  /** The source video's frame index of each of these frames (a decoder sets it). */
  sourceIndices?: number[];
}

export interface ClassifyOptions {
  /** How many classes to list. Default 5. */
  topK?: number;
  /** Stop early under this mean-GFLOPs budget: the calibrated budget with the largest target <= it. */
  budgetGflops?: number;
  /** Explicit per-step thresholds (overrides budgetGflops). */
  thresholds?: readonly number[];
  /** Seed of random patches (models trained with random patches). */
  seed?: number;
  /**
   * How a file's frames of another aspect reach the model's square (paths only): 'crop' (shorter
   * side to the square, centre crop: the official validation transform), 'squash' or 'letterbox'.
   * Default: the model's own (`config.fit`, as it was trained).
   */
  fit?: Fit;
}

export interface ClassifyResult {
  label: string;
  index: number;
  probability: number;
  topK: { label: string; index: number; probability: number }[];
  /** 1-based step at which it stopped, of `steps` (a step is a frame; AdaFocus V3: a focus frame). */
  exitStep: number;
  steps: number;
  /** Confidence score at the exit step. */
  score: number;
  gflops: number;
  /** Patch centre and size per step, in pixels of the model's frame, and the frame it was cut from (AdaFocus only). */
  patches: {
    frame: number;
    y: number;
    x: number;
    size: number;
    /** The box the patch was resampled from, in pixels of the model's frame, where the method chooses its size (Uni-AdaFocus); else the box is size x size. */
    height?: number;
    width?: number;
    /** The patch in the source video's pixels (top-left corner and size), when the input's geometry is known (a file). */
    source?: { x: number; y: number; width: number; height: number };
  }[];
  /** The source frame and how it became the model's (`fit`, scale, the crop's or bars' offset), when known. */
  frame?: FrameGeometry;
  /** Each step that ran: the frame it saw (of the model's T; `sourceIndex` in the video when known) and the top class after it. */
  trace: { frame: number; sourceIndex?: number; label: string; probability: number }[];
  timingsMs: { decode: number; inference: number; total: number };
  /**
   * How many of the T frames the model read repeat an earlier one: the video had fewer frames than
   * the model's T (0 otherwise). Its prediction rests on fewer distinct frames than the model's.
   */
  repeatedFrames: number;
}

/** One step of `classifySteps`, as it runs. */
export interface ClassifyStep {
  /** 1-based. */
  step: number;
  /** The frame it saw, of the model's T (`sourceIndex`: in the video, when known). */
  frame: number;
  sourceIndex?: number;
  /** The top class after this step. */
  label: string;
  index: number;
  probability: number;
  /** Every class's probability after this step (softmax of its logits). */
  probabilities: number[];
  /** The prediction's logits after this step (what the exit score is computed from). */
  logits: number[];
  /** The exit score after this step, and the threshold it was held to (when exiting early). */
  score: number;
  threshold?: number;
  /** This is the last step that runs (its score passed the threshold, or the last frame). */
  exit: boolean;
  /** GFLOPs spent up to and including this step. */
  gflops: number;
  /** This step's patch (AdaFocus). */
  patch?: ClassifyResult['patches'][number];
  /**
   * The policy's map over the model's frame (`maps: true`; methods with a policy; see
   * `StepOutput.map`), scaled so that its largest value is 1; row-major, `height` rows of `width`.
   */
  map?: { width: number; height: number; values: Float32Array };
}

/** One video's outcome in `classifyEach`: its result, or the typed error that stopped it. */
export type ClassifyOutcome<I = string | FramesInput | tf.Tensor> =
  ({ input: I; ok: true } & ClassifyResult) | { input: I; ok: false; error: { code: string; name: string; message: string } };

/** The stable code of an error (typed errors carry one), for per-item reports. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'INTERNAL';
}

/** Where classifySteps reads each step from: the step's logits, the frame it saw, its patch centre (y, x in [0, 1]) and map. */
interface StepSource {
  next(k: number): { logits: Float32Array; seen: number; centre?: [number, number]; size?: [number, number]; map?: ClassifyStep['map'] };
  dispose(): void;
}

function softmax(row: Float32Array | number[]): number[] {
  const max = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function encodeThresholds(t: readonly number[]): (number | string)[] {
  return t.map((v) => (Number.isFinite(v) ? v : v > 0 ? 'Infinity' : '-Infinity'));
}

export function decodeThresholds(t: readonly (number | string)[]): number[] {
  return t.map((v) => (typeof v === 'number' ? v : v === 'Infinity' ? Infinity : -Infinity));
}

/** Decodes a video file to the model's T frames of S x S (set by the Node entry). */
export type VideoDecoder = (path: string, frames: number, size: number, fit?: Fit) => Promise<FramesInput>;

/**
 * A square of side `size` at (x, y) in the model's frame, in source pixels (a box of another shape
 * when the fit squashed), clipped to the source frame (letterbox bars map outside it).
 */
function sourceBox(g: FrameGeometry, x: number, y: number, width: number, height: number): { x: number; y: number; width: number; height: number } {
  const clip = ([sx, sy]: [number, number]) => [Math.min(g.source.width, Math.max(0, sx)), Math.min(g.source.height, Math.max(0, sy))] as const;
  const [x0, y0] = clip(toSourcePixels(g, x, y));
  const [x1, y1] = clip(toSourcePixels(g, x + width, y + height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export class SaccadeModel {
  constructor(
    readonly net: VideoNet,
    readonly meta: BundleMeta,
    readonly decoder?: VideoDecoder,
    /** What runs the sub-networks (`loadModel(path, { engine })`): undefined for tfjs (its current backend). */
    readonly engine?: InferenceEngine,
  ) {}

  /** The engine's name: 'tfjs' or, say, 'onnx'. */
  get engineName(): string {
    return this.engine?.name ?? 'tfjs';
  }

  /**
   * Classify one video: a file path (Node), decoded frames, or a [T, H, W, 3] tensor of 0..255.
   * Frames must be the model's size (a path is resized by ffmpeg); T' != T frames are sampled evenly.
   */
  async classify(input: string | FramesInput | tf.Tensor, options: ClassifyOptions = {}): Promise<ClassifyResult> {
    if (typeof input !== 'string') return this.classifyFrames(input, options);
    if (!this.decoder) throw new InputError('input', 'video paths can be classified in Node only (import from @saccade/sdk); pass decoded frames');
    const started = performance.now();
    const frames = await this.decoder(input, this.meta.frames, this.meta.frameSize, options.fit ?? this.meta.config.fit);
    return this.classifyFrames(frames, options, performance.now() - started);
  }

  /**
   * Classify many videos, one after the other, keeping every good result: a video that cannot be
   * read or classified gets `{ ok: false, error: { code, name, message } }` in its place and the
   * others go on. Options are checked first (a bad budget fails the whole call, as it would fail
   * every video). Results are in the order of the inputs.
   */
  async classifyEach<I extends string | FramesInput | tf.Tensor>(inputs: readonly I[], options: ClassifyOptions = {}): Promise<ClassifyOutcome<I>[]> {
    this.thresholdsFor(options);
    const out: ClassifyOutcome<I>[] = [];
    for (const input of inputs) {
      try {
        out.push({ input, ok: true, ...(await this.classify(input, options)) });
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        out.push({ input, ok: false, error: { code: errorCode(error), name: e.name, message: e.message } });
      }
    }
    return out;
  }

  /** Classify many videos, one after the other (each with its own early exit); the first error rejects. */
  async classifyBatch(inputs: readonly (string | FramesInput | tf.Tensor)[], options: ClassifyOptions = {}): Promise<ClassifyResult[]> {
    const out: ClassifyResult[] = [];
    for (const input of inputs) out.push(await this.classify(input, options));
    return out;
  }

  get classes(): string[] {
    return this.meta.classes;
  }

  private fullFrame?: number;

  /**
   * GFLOPs per video of the full-frame model this one is measured against: the uniform baseline
   * (TSN), the focus backbone on every whole frame at the model's frame size, all T frames. Counted
   * from the architecture (a network of random weights is built once and disposed).
   */
  fullFrameGflops(): number {
    if (this.fullFrame === undefined) {
      const own = new Set(configFields('uniform'));
      const shared = Object.fromEntries(Object.entries(this.meta.config).filter(([field]) => own.has(field)));
      const net = createVideoNet({ ...shared, method: 'uniform' } as TrainConfigInput, this.meta.classes.length);
      try {
        this.fullFrame = net.gflopsPerStep().reduce((a, b) => a + b, 0);
      } finally {
        net.dispose();
      }
    }
    return this.fullFrame;
  }

  /** Thresholds for a budget (undefined: no early exit). */
  thresholdsFor(options: ClassifyOptions): number[] | undefined {
    const t = this.meta.steps;
    if (options.thresholds) {
      if (options.thresholds.length !== t) throw new InputError('thresholds', `must have ${t} entries (one per step), got ${options.thresholds.length}`);
      return [...options.thresholds];
    }
    if (options.budgetGflops === undefined) return undefined;
    if (!(options.budgetGflops > 0)) throw new InputError('budgetGflops', `must be a positive number, got ${options.budgetGflops}`);
    const budgets = this.meta.exit?.budgets ?? [];
    if (budgets.length === 0) throw new InputError('budgetGflops', 'this model has no calibrated exit thresholds (run `saccade calibrate` or pass thresholds)');
    const fitting = budgets.filter((b) => b.targetGflops <= options.budgetGflops!).sort((a, b) => b.targetGflops - a.targetGflops);
    if (fitting.length === 0) {
      const least = Math.min(...budgets.map((b) => b.targetGflops));
      throw new InputError('budgetGflops', `${options.budgetGflops} is below the smallest calibrated budget (${least} GFLOPs)`);
    }
    return fitting[0]!.thresholds;
  }

  /** Bytes [T', S', S', 3] -> the bytes of T frames of S x S (uniformly sampled; sizes must match), and how many of them repeat. */
  private prepare(input: FramesInput | tf.Tensor): { bytes: Uint8Array; repeatedFrames: number } {
    const { frames: t, frameSize: s } = this.meta;
    let bytes: Uint8Array;
    let n: number;
    if (input instanceof tf.Tensor) {
      if (input.rank !== 4 || input.shape[3] !== 3) throw new InputError('frames', `tensor must be [T, H, W, 3] RGB (0..255), got [${input.shape}]`);
      if (input.shape[1] !== s || input.shape[2] !== s)
        throw new InputError('frames', `must be ${s}x${s} (the model's frame size), got ${input.shape[2]}x${input.shape[1]}`);
      n = input.shape[0]!;
      if (n === 0) throw new InputError('frames', 'the video has no frames');
      bytes = Uint8Array.from(input.dataSync());
    } else {
      const { data, frames, width, height } = input;
      if (frames === 0 || data.length === 0) throw new InputError('frames', 'the video has no frames');
      if (width !== s || height !== s) throw new InputError('frames', `must be ${s}x${s} (the model's frame size), got ${width}x${height}`);
      const channels = data.length / (frames * width * height);
      if (channels !== 3)
        throw new InputError('frames', `must be RGB (3 channels): ${data.length} bytes for ${frames} frames of ${width}x${height} is ${channels} channels`);
      n = frames;
      bytes = data;
    }
    const per = s * s * 3;
    const source = input instanceof tf.Tensor ? n : (input.sourceFrames ?? n);
    const repeatedFrames = Math.max(0, t - Math.min(source, n));
    if (n === t) return { bytes, repeatedFrames };
    const out = new Uint8Array(t * per);
    // Spread evenly, first and last included, as training samples them (repeats when n < T).
    uniformSample(n, t).forEach((f, i) => out.set(bytes.subarray(f * per, (f + 1) * per), i * per));
    return { bytes: out, repeatedFrames };
  }

  /**
   * The step state for one video: a network that reads pixels through a downscale or a crop gets
   * each step's frame as bytes when it runs (packed and normalised only where it reads them, and
   * not at all after an early exit); the others get the normalised video (`video`, to dispose).
   */
  private beginVideo(input: Uint8Array): { state: StepState; video?: tf.Tensor5D } {
    const { frames: t, frameSize: s } = this.meta;
    // Step k sees frame frameOrder[k].
    const bytes = this.net.frameOrder ? reorderFrames(input, this.net.frameOrder) : input;
    if (this.net.beginPixels) {
      const per = s * s * 3;
      return { state: this.net.beginPixels(1, (k) => ByteImages.from([bytes.subarray(k * per, (k + 1) * per)], [1, s, s, 3])) };
    }
    const video = normalise([bytes], t, s, this.meta.normalisation);
    return { state: this.net.begin(video), video };
  }

  /** The steps of one video run one by one (`net.step`), each read out as it runs. */
  private stepByStep(bytes: Uint8Array, options: ClassifyOptions & { maps?: boolean }): StepSource {
    const begun = this.beginVideo(bytes);
    let state = begun.state;
    return {
      next: () => {
        const out = this.net.step(state, options.seed, options.maps ? { map: true } : undefined);
        state = out.state;
        const logits = out.logits.dataSync() as Float32Array;
        out.logits.dispose();
        let map: ClassifyStep['map'];
        if (out.map) {
          const [, h, w] = out.map.shape;
          const values = out.map.dataSync() as Float32Array;
          out.map.dispose();
          const max = values.reduce((a, v) => Math.max(a, v), 0);
          map = { width: w, height: h, values: max > 0 ? values.map((v) => v / max) : values };
        }
        let centre: [number, number] | undefined;
        if (out.centre) {
          const [cy, cx] = out.centre.dataSync();
          out.centre.dispose();
          centre = [cy!, cx!];
        }
        let size: [number, number] | undefined;
        if (out.size) {
          const [sy, sx] = out.size.dataSync();
          out.size.dispose();
          size = [sy!, sx!];
        }
        // The frame this step saw, of the model's T.
        const seen = this.net.frameOrder ? this.net.frameOrder[out.frames[0]!]! : out.frames[0]!;
        return { logits, seen, centre, size, map };
      },
      dispose: () => {
        tf.dispose(state.tensors);
        begun.video?.dispose();
      },
    };
  }

  /** Every step of one video at once (forwardVideos, as evaluation runs it), read out step by step. */
  private allSteps(bytes: Uint8Array, seed?: number): StepSource {
    const c = this.classes.length;
    const [logits, centres, frames, sizes] = tf.tidy(() => {
      const r = forwardVideos(this.net, [bytes], seed);
      return [r.logits.dataSync() as Float32Array, r.centres?.dataSync(), r.frameIndices?.dataSync(), r.sizes?.dataSync()] as const;
    });
    return {
      next: (k) => ({
        logits: logits.subarray(k * c, (k + 1) * c),
        seen: frames ? frames[k]! : k,
        centre: centres ? [centres[2 * k]!, centres[2 * k + 1]!] : undefined,
        size: sizes ? [sizes[2 * k]!, sizes[2 * k + 1]!] : undefined,
      }),
      dispose: () => {},
    };
  }

  /** Classify one video given as frames; stops at the first confident step. */
  classifyFrames(input: FramesInput | tf.Tensor, options: ClassifyOptions = {}, decodeMs = 0): ClassifyResult {
    const run = this.classifySteps(input, options, decodeMs);
    for (;;) {
      const next = run.next();
      if (next.done) return next.value;
    }
  }

  /**
   * Classify one video given as frames, one step at a time: yields each step as it runs (its
   * frame, patch, probabilities and, with `maps`, the policy's map) and returns the result that
   * `classifyFrames` gives. Stopping the iteration early (`return()`, a `break`) frees its tensors.
   * For a UI that draws between steps.
   */
  *classifySteps(input: FramesInput | tf.Tensor, options: ClassifyOptions & { maps?: boolean } = {}, decodeMs = 0): Generator<ClassifyStep, ClassifyResult> {
    const started = performance.now();
    const thresholds = this.thresholdsFor(options);
    const { steps: t, frameSize: s, patchSize: p } = this.meta;
    const score: ScoreKind = this.meta.exit?.score ?? 'maxLogit';
    const prepared = this.prepare(input);
    // Without an early exit every step runs, so they run at once (the sub-networks on all T frames
    // in one call each: the same computation in larger batches, which every engine does faster);
    // with one, step by step, so that a stop after step k has run k steps.
    const steps = thresholds === undefined && !options.maps ? this.allSteps(prepared.bytes, options.seed) : this.stepByStep(prepared.bytes, options);
    const patches: ClassifyResult['patches'] = [];
    const trace: ClassifyResult['trace'] = [];
    // Source frame numbers hold only when the input is the model's T frames (a decoder's output).
    const sourceIndices = input instanceof tf.Tensor || input.sourceIndices?.length !== this.meta.frames ? undefined : input.sourceIndices;
    const geometry = input instanceof tf.Tensor ? undefined : input.geometry;
    let probs: number[] = [];
    let exitStep = t;
    let conf = 0;
    // Time spent in the caller between steps is not inference.
    let paused = 0;
    try {
      for (let k = 0; k < t; k++) {
        const { logits: last, seen, centre, size, map } = steps.next(k);
        let patch: ClassifyResult['patches'][number] | undefined;
        // A step without a patch (Uni-AdaFocus's glance-only exit) has a NaN centre.
        if (centre && !Number.isNaN(centre[0])) {
          const [cy, cx] = centre;
          // The box's sides: the patch size, or the size the method chose (a fraction of the frame).
          const [h, w] = size ? [size[0] * s, size[1] * s] : [p, p];
          // The centre of the patch in frame pixels (the crop puts the corner at c * (S - side)).
          const y = cy! * (s - h) + h / 2;
          const x = cx! * (s - w) + w / 2;
          patch = {
            frame: seen,
            y,
            x,
            size: p,
            ...(size ? { height: h, width: w } : {}),
            ...(geometry ? { source: sourceBox(geometry, x - w / 2, y - h / 2, w, h) } : {}),
          };
          patches.push(patch);
        }
        probs = softmax(last);
        const top = probs.indexOf(Math.max(...probs));
        const traced = {
          frame: seen,
          ...(sourceIndices ? { sourceIndex: sourceIndices[seen]! } : {}),
          label: this.meta.classes[top]!,
          probability: probs[top]!,
        };
        trace.push(traced);
        conf = confidence(Array.from(last), score);
        const exit = k === t - 1 || (thresholds !== undefined && conf >= thresholds[k]!);
        const yielded = performance.now();
        yield {
          step: k + 1,
          ...traced,
          index: top,
          probabilities: probs,
          logits: Array.from(last),
          score: conf,
          ...(thresholds ? { threshold: thresholds[k]! } : {}),
          exit,
          gflops: this.meta.gflopsPerStep.slice(0, k + 1).reduce((a, b) => a + b, 0),
          ...(patch ? { patch } : {}),
          ...(map ? { map } : {}),
        };
        paused += performance.now() - yielded;
        if (exit && k < t - 1) {
          exitStep = k + 1;
          break;
        }
      }
    } finally {
      steps.dispose();
    }
    const order = probs.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    const topK = order.slice(0, Math.max(1, options.topK ?? 5)).map(([prob, i]) => ({ label: this.meta.classes[i]!, index: i, probability: prob }));
    const inference = performance.now() - started - paused;
    return {
      label: topK[0]!.label,
      index: topK[0]!.index,
      probability: topK[0]!.probability,
      topK,
      exitStep,
      steps: t,
      score: conf,
      gflops: this.meta.gflopsPerStep.slice(0, exitStep).reduce((a, b) => a + b, 0),
      patches,
      ...(geometry ? { frame: geometry } : {}),
      trace,
      timingsMs: { decode: decodeMs, inference, total: decodeMs + inference },
      repeatedFrames: prepared.repeatedFrames,
    };
  }

  /**
   * Logits of a batch of videos, all steps at once (the fastest path when no early exit is wanted):
   * bytes of N videos [T, S, S, 3] -> [N][T][classes].
   */
  logitsBatch(videos: readonly Uint8Array[], seed?: number): Float32Array {
    return tf.tidy(() => forwardVideos(this.net, videos, seed).logits.dataSync() as Float32Array);
  }

  dispose(): void {
    this.net.dispose();
    this.engine?.dispose();
  }
}
