/**
 * What each command does, as functions (the commander wiring is in cli.ts): train, eval,
 * calibrate, classify, data and info. Results are plain objects; cli.ts prints them as text or
 * JSON.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import type { BudgetPoint } from '@saccade/early-exit';
import {
  acquireRunLock,
  calibrateExits,
  exitBudgetCurve,
  finalStepMap,
  measureThroughput,
  measureThroughputInterleaved,
  cleanRunFolder,
  configDifferences,
  describeDifferences,
  readCheckpointState,
  trainingStages,
  type EpochRecord,
  evaluate,
  fileCheckpoints,
  frameCacheDir,
  frameCacheEnabled,
  loadModel,
  loadPretrained,
  loadVideoDataset,
  methodVariants,
  importOfficialCheckpoint,
  withoutIdleFields,
  pretrainBackbones,
  parseConfig,
  saveBundle,
  train,
  type ClassifyResult,
  type PretrainedInfo,
  type LoadModelOptions,
  type SaccadeModel,
  type TrainConfig,
  type TrainConfigInput,
  type VideoDataset,
  writeVisualization,
} from '@saccade/sdk';
import { BACKEND_ORDER, initBackend, type BackendInfo } from '@saccade/tensor';
import { writeFileAtomic } from '@saccade/tensor/node';
import { buildMovingFashionMnist, locateFashionMnist, locateFfmpeg, type FfmpegInfo, type Fit } from '@saccade/video';

import { UsageError } from './errors.js';
import { createProgress } from './progress.js';

/** The method names `--method` and `--methods` take: the SDK's registered variants, then their aliases (the methods' ids). */
export function methodNames(): string[] {
  const variants = methodVariants();
  return [...variants.map((m) => m.name), ...variants.flatMap((m) => m.aliases ?? [])];
}

/** CLI method names -> config fields (the SDK's variants; no other field is changed). */
export function methodConfig(method: string): TrainConfigInput {
  const v = methodVariants().find((m) => m.name === method || (m.aliases ?? []).includes(method));
  if (!v) throw new UsageError(`--method ${method}: unknown; use one of ${methodNames().join(', ')}`);
  return { ...v.config };
}

/** Parse "key=value" overrides: numbers, booleans and JSON arrays are typed, the rest are strings. */
export function parseOverrides(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--set ${pair}: expected key=value`);
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    let value: unknown = raw;
    if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(raw)) value = Number(raw);
    else if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (raw.startsWith('[')) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw new UsageError(`--set ${pair}: the value is not valid JSON`);
      }
    }
    out[key] = value;
  }
  return out;
}

/** The config of a run: defaults < config file < method < flags. */
export async function resolveConfig(o: { method?: string; configFile?: string; flags?: Record<string, unknown> }): Promise<TrainConfig> {
  let file: Record<string, unknown> = {};
  if (o.configFile) {
    if (!existsSync(o.configFile)) throw new UsageError(`--config ${o.configFile}: no such file`);
    try {
      file = JSON.parse(await readFile(o.configFile, 'utf8'));
    } catch {
      throw new UsageError(`--config ${o.configFile}: not valid JSON`);
    }
  }
  const method = o.method ? methodConfig(o.method) : {};
  const chosen = String(method.method ?? o.flags?.['method'] ?? file['method'] ?? 'adafocus_v2');
  // A whole config file (a run's config.json from before per-method configs) may carry other
  // methods' fields at their defaults: those did nothing and are dropped. Any other field of
  // another method, in the file or a flag, is a ConfigError naming it (exit 2).
  return parseConfig({ ...withoutIdleFields(file, chosen), ...method, ...(o.flags ?? {}) });
}

export interface RunPaths {
  root: string;
  model: string;
  metrics: string;
  config: string;
  summary: string;
}

export function runPaths(out: string): RunPaths {
  const root = resolve(out);
  return { root, model: join(root, 'model'), metrics: join(root, 'metrics.jsonl'), config: join(root, 'config.json'), summary: join(root, 'summary.json') };
}

/** A run folder (its model/ bundle) or a bundle folder itself. */
export function bundlePath(run: string): string {
  const r = resolve(run);
  return existsSync(join(r, 'saccade.json')) ? r : join(r, 'model');
}

const datasetCache = new Map<string, VideoDataset>();

/**
 * Where a dataset is: a folder in Saccade's layout (classInd.txt, train_list.txt, val_list.txt,
 * the videos), or the official layouts' lists kept apart from the videos: `root` is where the
 * lists' paths are resolved, `trainList`/`valList` the list files, `classes` a class file or the
 * number of classes.
 */
export interface DataSpec {
  root: string;
  trainList?: string;
  valList?: string;
  classes?: string | number;
}

export type DataSource = string | DataSpec;

export function dataSpec(d: DataSource): DataSpec {
  return typeof d === 'string' ? { root: d } : d;
}

/** A dataset source for progress lines. */
export function describeData(d: DataSource): string {
  const s = dataSpec(d);
  return [s.root, s.trainList && `train list ${s.trainList}`, s.valList && `val list ${s.valList}`].filter(Boolean).join(', ');
}

export async function loadSplit(
  data: DataSource,
  split: 'train' | 'val',
  config: { frames: number; frameSize: number; fit?: Fit },
  limit?: number,
): Promise<VideoDataset> {
  const s = dataSpec(data);
  const list = split === 'train' ? s.trainList : s.valList;
  const key = JSON.stringify([
    resolve(s.root),
    split,
    list && resolve(list),
    s.classes ?? null,
    config.frames,
    config.frameSize,
    config.fit ?? '',
    limit ?? '',
  ]);
  let d = datasetCache.get(key);
  if (!d) {
    d = await loadVideoDataset(resolve(s.root), {
      split,
      ...(list ? { list } : {}),
      ...(s.classes !== undefined ? { classes: s.classes } : {}),
      frames: config.frames,
      size: config.frameSize,
      ...(config.fit ? { fit: config.fit } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    datasetCache.set(key, d);
  }
  return d;
}

export interface TrainCommandOptions {
  data: DataSource;
  out: string;
  method?: string;
  configFile?: string;
  flags?: Record<string, unknown>;
  resume?: boolean;
  quiet?: boolean;
  label?: string;
  signal?: AbortSignal;
  /** Folder of pretrained backbones (saccade pretrain) instead of the SDK's shipped ones. */
  pretrainedDir?: string;
  /**
   * Train until the validation accuracy stops improving (`train({ until })`): the config's epochs
   * are the most it trains, the bundle holds the best epoch's weights.
   */
  until?: { patience: number; minDelta?: number; timeBudgetSeconds?: number };
  /** Threads that compute each step (`train({ workers })`). Default 1. */
  workers?: number;
}

export interface TrainSummary {
  run: string;
  bundle: string;
  method: string;
  patches: string;
  epochs: number;
  steps: number;
  valAccuracy: number;
  accuracyPerStep: number[];
  gflopsPerVideo: number;
  trainSeconds: number;
  interrupted: boolean;
  /** Training until a plateau: why it stopped before its last epoch (if it did) and the epoch the bundle holds. */
  stopped?: 'plateau' | 'timeBudget';
  bestEpoch?: number;
}

/** A JSON file written whole or not at all (a kill leaves the old content). */
async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** metrics.jsonl as the checkpoint knows it: one line per finished epoch (and the final summary). */
async function writeMetrics(path: string, history: readonly EpochRecord[], final?: TrainSummary): Promise<void> {
  const lines = [...history.map((e) => JSON.stringify({ type: 'epoch', ...e })), ...(final ? [JSON.stringify({ type: 'final', ...final })] : [])];
  await writeFileAtomic(path, lines.length > 0 ? `${lines.join('\n')}\n` : '');
}

const BARS = '▁▂▃▄▅▆▇█';

/** Validation accuracies as a sparkline (scaled to 0..100%), the best so far and the epochs since it (of this call's epochs). */
export function curveText(curve: readonly { epoch: number; accuracy: number }[], until: { patience: number; minDelta?: number }): string {
  const line = curve.map((c) => BARS[Math.min(BARS.length - 1, Math.floor(c.accuracy * BARS.length))]).join('');
  // The best as training until a plateau counts it: better only by more than minDelta.
  const best = curve.reduce((a, c) => (c.accuracy > a.accuracy + (until.minDelta ?? 0) ? c : a), curve[0]!);
  const patience = until.patience;
  const since = curve.at(-1)!.epoch - best.epoch;
  return `val curve ${line} best ${(100 * best.accuracy).toFixed(1)}% at epoch ${best.epoch}${since > 0 ? `, ${since}/${patience} epochs without a better one` : ''}`;
}

/** Whether a run's summary says it stopped at its plateau or out of time (a finished run). */
async function stoppedEarly(summary: string): Promise<boolean> {
  if (!existsSync(summary)) return false;
  const s = JSON.parse(await readFile(summary, 'utf8')) as Partial<TrainSummary>;
  return s.stopped === 'plateau' || s.stopped === 'timeBudget';
}

/**
 * Train into a run folder. One process per run folder (run.lock; a second gets RunLockedError
 * naming the holder's pid). Every file is written atomically, and what killed runs left (temporary
 * files and folders) is removed at the start. With `resume`, the stored config is compared with
 * the requested one before anything is written: a difference is a UsageError naming every field,
 * and the folder stays as it was. Resuming a finished run changes nothing and returns its summary
 * (its bundle, calibrated exit thresholds included, is kept).
 */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainSummary> {
  const config = await resolveConfig({
    ...(o.method ? { method: o.method } : {}),
    ...(o.configFile ? { configFile: o.configFile } : {}),
    ...(o.flags ? { flags: o.flags } : {}),
  });
  const paths = runPaths(o.out);
  const checkpoint = join(paths.root, 'checkpoint.bin');
  if (!o.resume && existsSync(checkpoint)) throw new UsageError(`${paths.root} already holds a run; pass --resume to continue it or choose another --out`);
  await mkdir(paths.root, { recursive: true });
  const lock = await acquireRunLock(paths.root);
  try {
    await cleanRunFolder(paths.root);
    // Checked again under the lock: another process may have started a run here meanwhile.
    if (!o.resume && existsSync(checkpoint)) throw new UsageError(`${paths.root} already holds a run; pass --resume to continue it or choose another --out`);
    let history: EpochRecord[] = [];
    if (o.resume && existsSync(checkpoint)) {
      const state = await readCheckpointState(checkpoint);
      const differences = configDifferences(state.config, config);
      if (differences.length > 0)
        throw new UsageError(
          `--resume: the run in ${paths.root} was trained with another config: ${describeDifferences(differences)}; pass the run's values (its config.json) or choose another --out`,
        );
      history = state.history;
      const total = trainingStages(config).reduce((a, st) => a + st.epochs, 0);
      const finished = state.epoch >= total || (o.until !== undefined && state.bestEpoch !== undefined && (await stoppedEarly(paths.summary)));
      if (finished && existsSync(paths.summary) && existsSync(join(paths.model, 'saccade.json'))) {
        // Finished already: nothing to train and nothing to rewrite.
        return { ...(JSON.parse(await readFile(paths.summary, 'utf8')) as TrainSummary), interrupted: false };
      }
    }
    await writeJsonAtomic(paths.config, config);
    // Epoch lines beyond the checkpoint (a kill after an epoch's line, before its checkpoint) and a
    // final line of an earlier finish are dropped: the checkpoint's history is the truth.
    await writeMetrics(paths.metrics, history);
    return await trainLocked(o, config, paths);
  } finally {
    await lock.release();
  }
}

async function trainLocked(o: TrainCommandOptions, config: TrainConfig, paths: RunPaths): Promise<TrainSummary> {
  const backend = await initBackend();
  const progress = createProgress({ ...(o.quiet ? { quiet: true } : {}), ...(o.label ? { label: o.label } : {}) });
  progress.note(`backend ${backend.name}${(o.workers ?? 1) > 1 ? ` on ${o.workers} threads` : ''}; loading ${describeData(o.data)}`);
  const trainSet = await loadSplit(o.data, 'train', config);
  const valSet = await loadSplit(o.data, 'val', config);
  progress.note(`${trainSet.length} training and ${valSet.length} validation videos, ${trainSet.classes.length} classes`);
  let epochShown = -1;
  // The validation curve of the epochs this call trains, for progress lines.
  const curve: { epoch: number; accuracy: number }[] = [];
  const pretrained = o.pretrainedDir && config.pretrained ? await loadPretrained(o.pretrainedDir) : undefined;
  // Epoch lines are appended in order; the final rewrite waits for them.
  let appended: Promise<void> = Promise.resolve();
  try {
    const r = await train({
      config,
      ...(pretrained ? { pretrained } : {}),
      train: trainSet,
      val: valSet,
      checkpoints: fileCheckpoints(paths.root),
      resume: o.resume ?? false,
      ...(o.until ? { until: o.until } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      workers: o.workers ?? 1,
      onBatch: (p) => {
        if (p.epoch !== epochShown) {
          progress.epochStart(p.epoch, p.epochs, p.batches);
          epochShown = p.epoch;
        }
        progress.batch(p.batch, p.loss, p.lr);
      },
      onEpoch: (e) => {
        curve.push({ epoch: e.epoch, accuracy: e.val?.accuracy ?? 0 });
        progress.epochEnd(
          `epoch ${e.epoch}${config.method === 'adafocus_v1' ? ` (${e.stageName})` : ''}: loss ${e.trainLoss.toFixed(3)}, train acc ${(100 * e.trainAccuracy).toFixed(1)}%, val acc ${(100 * (e.val?.accuracy ?? 0)).toFixed(1)}% (${e.seconds.toFixed(0)} s)` +
            (o.until ? `; ${curveText(curve, o.until)}` : ''),
        );
        // For progress readers; rewritten from the checkpoint's history at the next start.
        const line = `${JSON.stringify({ type: 'epoch', ...e })}\n`;
        appended = appended.then(() => appendFile(paths.metrics, line));
      },
    });
    try {
      const interrupted = r.stopped === 'aborted';
      if (interrupted) {
        await appended;
        progress.stop();
        return {
          run: paths.root,
          bundle: '',
          method: config.method,
          patches: config.patches,
          epochs: r.history.length,
          steps: r.steps,
          valAccuracy: NaN,
          accuracyPerStep: [],
          gflopsPerVideo: NaN,
          trainSeconds: r.seconds,
          interrupted,
        };
      }
      // A run that finished every epoch was evaluated on the validation split with its final
      // weights at the end of the last one, and one trained until a plateau holds the weights of
      // its best epoch, evaluated at that epoch's end (evaluation is deterministic): no second pass.
      const last = r.history.at(-1)?.val;
      const kept = r.bestEpoch !== undefined ? r.history.find((h) => h.epoch === r.bestEpoch)?.val : !r.stopped ? last : undefined;
      const e = kept ?? evaluate(r.net, valSet);
      const meta = await saveBundle(r.net, paths.model, {
        classes: r.classes,
        metrics: { valAccuracy: e.accuracy, accuracyPerStep: e.accuracyPerStep, trainSeconds: r.seconds, backend: backend.name },
      });
      const summary: TrainSummary = {
        run: paths.root,
        bundle: paths.model,
        method: config.method,
        patches: config.patches,
        epochs: r.history.length,
        steps: r.steps,
        valAccuracy: e.accuracy,
        accuracyPerStep: e.accuracyPerStep,
        gflopsPerVideo: meta.gflopsPerVideo,
        trainSeconds: r.seconds,
        interrupted: false,
        ...(r.stopped === 'plateau' || r.stopped === 'timeBudget' ? { stopped: r.stopped } : {}),
        ...(r.bestEpoch !== undefined ? { bestEpoch: r.bestEpoch } : {}),
      };
      await appended;
      await writeMetrics(paths.metrics, r.history, summary);
      await writeJsonAtomic(paths.summary, summary);
      progress.stop();
      return summary;
    } finally {
      r.net.dispose();
    }
  } finally {
    pretrained?.glance.dispose();
    pretrained?.focus.dispose();
    progress.stop();
  }
}

export interface EvalSummary {
  bundle: string;
  /** What computed: the tfjs backend's name, or onnx. */
  engine: string;
  method: string;
  patches: string;
  videos: number;
  accuracy: number;
  mAP: number;
  accuracyPerStep: number[];
  gflopsPerVideo: number;
  videosPerSecond: number;
  budgetCurve?: BudgetPoint[];
}

export interface SpeedSummary {
  /** Videos per batch (the first of the validation split) and timed rounds. */
  videos: number;
  rounds: number;
  bundles: { bundle: string; engine: string; method: string; gflopsPerVideo: number; videosPerSecond: number }[];
}

/** What `--engine` names: a tfjs backend (auto, node-gpu, node, wasm, cpu) or onnx (ONNX Runtime for the networks). */
export const ENGINE_CHOICES = ['auto', ...BACKEND_ORDER, 'onnx'] as const;

/**
 * Start what computes for `--engine` (default auto) and `--threads`: the tfjs backend (auto for
 * onnx, whose crops and joins run in tfjs), and the options that make loadModel use it.
 */
export async function startEngine(engine = 'auto', threads?: number): Promise<{ backend: BackendInfo; load: LoadModelOptions; name: string }> {
  if (!(ENGINE_CHOICES as readonly string[]).includes(engine))
    throw new UsageError(`--engine must be one of ${ENGINE_CHOICES.join(', ')}, got ${JSON.stringify(engine)}`);
  if (threads !== undefined && engine !== 'onnx') throw new UsageError("--threads sets ONNX Runtime's threads: give it with --engine onnx");
  const onnx = engine === 'onnx';
  const backend = await initBackend(onnx || engine === 'auto' ? undefined : engine);
  return {
    backend,
    load: onnx ? { engine: 'onnx', ...(threads !== undefined ? { threads } : {}) } : {},
    name: onnx ? 'onnx' : backend.name,
  };
}

/**
 * Videos/s of several bundles on the same decoded validation videos, timed in interleaved rounds
 * in this process (measureThroughputInterleaved). The bench runs it in a child process of its own,
 * so that the timing does not inherit the heap of the evaluations before it.
 */
export async function speedCommand(o: {
  runs: readonly string[];
  data: DataSource;
  videos?: number;
  rounds?: number;
  /** Engines to time each run on: at most one tfjs backend (auto, wasm, ...) and onnx. Default: auto. */
  engines?: readonly string[];
  threads?: number;
}): Promise<SpeedSummary> {
  if (o.runs.length === 0) throw new UsageError('speed: name at least one run or bundle');
  const engines = [...new Set(o.engines ?? ['auto'])];
  const tfjsEngines = engines.filter((e) => e !== 'onnx');
  if (tfjsEngines.length > 1) throw new UsageError(`--engine: one tfjs backend per process (${tfjsEngines.join(', ')} given); onnx can go beside it`);
  if (o.threads !== undefined && !engines.includes('onnx')) throw new UsageError("--threads sets ONNX Runtime's threads: give it with --engine onnx");
  const started = await startEngine(tfjsEngines[0] ?? 'auto');
  const models: SaccadeModel[] = [];
  const labels: { run: string; engine: string }[] = [];
  try {
    for (const run of o.runs)
      for (const engine of engines) {
        const onnx = engine === 'onnx';
        models.push(await loadModel(bundlePath(run), onnx ? { engine: 'onnx', ...(o.threads !== undefined ? { threads: o.threads } : {}) } : {}));
        labels.push({ run, engine: onnx ? 'onnx' : started.name });
      }
    const { frames, frameSize } = models[0]!.net.config;
    const other = models.findIndex((m) => m.net.config.frames !== frames || m.net.config.frameSize !== frameSize);
    if (other >= 0)
      throw new UsageError(
        `speed: ${labels[other]!.run} reads ${models[other]!.net.config.frames} frames of ${models[other]!.net.config.frameSize} px, ${o.runs[0]} ${frames} of ${frameSize}: time bundles of one input size together`,
      );
    const valSet = await loadSplit(o.data, 'val', { frames, frameSize }, o.videos ?? 8);
    const videos = Array.from({ length: valSet.length }, (_, i) => valSet.video(i));
    const rounds = o.rounds ?? 11;
    const vps = measureThroughputInterleaved(models, videos, rounds);
    return {
      videos: videos.length,
      rounds,
      bundles: models.map((m, i) => ({
        bundle: bundlePath(labels[i]!.run),
        engine: labels[i]!.engine,
        method: m.meta.method,
        gflopsPerVideo: m.meta.gflopsPerVideo,
        videosPerSecond: vps[i]!,
      })),
    };
  } finally {
    for (const m of models) m.dispose();
  }
}

export async function evalCommand(o: {
  run: string;
  data: DataSource;
  curve?: boolean;
  calibrationLimit?: number;
  engine?: string;
  threads?: number;
}): Promise<EvalSummary> {
  const { load, name } = await startEngine(o.engine, o.threads);
  const bundle = bundlePath(o.run);
  const model = await loadModel(bundle, load);
  try {
    const c = model.net.config;
    const valSet = await loadSplit(o.data, 'val', c);
    const e = evaluate(model.net, valSet);
    const mAP = finalStepMap(e);
    const summary: EvalSummary = {
      bundle,
      engine: name,
      method: c.method,
      patches: c.patches,
      videos: e.videos,
      accuracy: e.accuracy,
      mAP,
      accuracyPerStep: e.accuracyPerStep,
      gflopsPerVideo: model.meta.gflopsPerVideo,
      videosPerSecond: measureThroughput(model, valSet),
    };
    if (o.curve !== false) {
      const trainSet = await loadSplit(o.data, 'train', c, o.calibrationLimit);
      const cal = evaluate(model.net, trainSet);
      summary.budgetCurve = exitBudgetCurve(model, cal, e);
    }
    return summary;
  } finally {
    model.dispose();
  }
}

export async function calibrateCommand(o: {
  run: string;
  data: DataSource;
  budgets?: number[];
  fractions?: number[];
  limit?: number;
}): Promise<{ bundle: string; budgets: { targetGflops: number; expectedGflops: number; thresholds: number[] }[] }> {
  await initBackend();
  const bundle = bundlePath(o.run);
  // No bundle there: loadModel says so (a BundleError naming the folder) before any lock is taken.
  if (!existsSync(join(bundle, 'saccade.json'))) (await loadModel(bundle)).dispose();
  // The bundle is rewritten: not while its run trains or another calibration writes it.
  const lock = await acquireRunLock(dirname(bundle));
  const model = await loadModel(bundle).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  try {
    const full = model.meta.gflopsPerVideo;
    const targets = o.budgets ?? (o.fractions ?? [0.25, 0.4, 0.5, 0.67, 0.8]).map((f) => f * full);
    const bad = targets.find((t) => !(t >= model.meta.gflopsPerStep[0]!) || !Number.isFinite(t));
    if (bad !== undefined) throw new UsageError(`budget ${bad} GFLOPs is below one step's cost (${model.meta.gflopsPerStep[0]!.toFixed(4)}) or not a number`);
    const trainSet = await loadSplit(o.data, 'train', model.net.config, o.limit);
    const exit = calibrateExits(model.net, evaluate(model.net, trainSet), targets);
    await saveBundle(model, bundle, { exit });
    return { bundle, budgets: exit.budgets };
  } finally {
    model.dispose();
    await lock.release();
  }
}

/** One file's entry in `saccade classify`: its result, or the error that stopped it (the others go on). */
export type ClassifyEntry =
  | ({ file: string; ok: true; /** Where --visualize wrote the video. */ visualization?: string } & ClassifyResult)
  | { file: string; ok: false; error: { code: string; message: string } };

/**
 * Classify several files with one model, keeping every good result: a file that cannot be decoded
 * or classified gets an error entry in its place (in the order given). Bundle and option errors
 * (a bad budget) still fail the whole command.
 */
export async function classifyCommand(o: {
  run: string;
  files: string[];
  budget?: number;
  topK?: number;
  fit?: Fit;
  visualize?: string;
  engine?: string;
  threads?: number;
}): Promise<ClassifyEntry[]> {
  if (o.visualize && o.files.length !== 1) throw new UsageError(`--visualize writes one video: give one file, not ${o.files.length}`);
  const { load } = await startEngine(o.engine, o.threads);
  const model = await loadModel(bundlePath(o.run), load);
  try {
    const outcomes = await model.classifyEach(
      o.files.map((f) => resolve(f)),
      { topK: o.topK ?? 5, ...(o.fit ? { fit: o.fit } : {}), ...(o.budget !== undefined ? { budgetGflops: o.budget } : {}) },
    );
    const entries: ClassifyEntry[] = outcomes.map((r, i) => {
      const file = o.files[i]!;
      if (!r.ok) return { file, ok: false, error: { code: r.error.code, message: r.error.message } };
      const { input: _input, ...result } = r;
      return { file, ...result };
    });
    const [first] = entries;
    if (o.visualize && first?.ok) {
      await writeVisualization(resolve(o.files[0]!), first, resolve(o.visualize), { allStepsGflops: model.meta.gflopsPerVideo });
      first.visualization = resolve(o.visualize);
    }
    return entries;
  } finally {
    model.dispose();
  }
}

export async function dataCommand(o: {
  out: string;
  train: number;
  val: number;
  frames: number;
  size: number;
  itemSize?: number;
  hidden?: number;
  reveal?: number;
  seed: number;
  source?: string;
  quiet?: boolean;
}): Promise<{ root: string; videos: number; classes: string[]; source: string }> {
  const progress = createProgress({ ...(o.quiet ? { quiet: true } : {}), label: 'data' });
  let last = 0;
  const d = await buildMovingFashionMnist({
    out: resolve(o.out),
    trainVideos: o.train,
    valVideos: o.val,
    frames: o.frames,
    size: o.size,
    ...(o.itemSize !== undefined ? { itemSize: o.itemSize } : {}),
    ...(o.hidden !== undefined ? { hidden: o.hidden } : {}),
    ...(o.reveal !== undefined ? { reveal: o.reveal } : {}),
    seed: o.seed,
    ...(o.source ? { source: o.source } : {}),
    onProgress: (done, total) => {
      if (done === total || done - last >= Math.max(1, Math.round(total / 10))) {
        last = done;
        progress.note(`${done}/${total} videos`);
      }
    },
  });
  progress.stop();
  return { root: d.root, videos: d.videos.length, classes: d.classes, source: String(d.source) };
}

export async function pretrainCommand(o: {
  out: string;
  configFile?: string;
  flags?: Record<string, unknown>;
  images?: number;
  epochs?: number;
  seed?: number;
  source?: string;
  quiet?: boolean;
  signal?: AbortSignal;
}): Promise<PretrainedInfo & { out: string }> {
  const config = await resolveConfig({ ...(o.configFile ? { configFile: o.configFile } : {}), ...(o.flags ? { flags: o.flags } : {}) });
  const backend = await initBackend();
  const progress = createProgress({ ...(o.quiet ? { quiet: true } : {}), label: 'pretrain' });
  progress.note(
    `backend ${backend.name}; glance ${config.glanceBackbone} x${config.glanceWidth} at ${config.glanceSize} px, focus ${config.focusBackbone} x${config.focusWidth} at ${config.patchSize} px`,
  );
  let started = false;
  const info = await pretrainBackbones({
    out: resolve(o.out),
    config,
    ...(o.images !== undefined ? { images: o.images } : {}),
    ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.source ? { source: o.source } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onStep: (p) => {
      if (!started) progress.epochStart(0, 1, p.steps);
      started = true;
      progress.batch(p.step, p.loss, p.lr);
    },
  });
  progress.epochEnd(
    `glance ${(100 * info.glanceAccuracy).toFixed(1)}%, focus ${(100 * info.focusAccuracy).toFixed(1)}% on held-out test-split images (${info.seconds.toFixed(0)} s)`,
  );
  progress.stop();
  return { ...info, out: resolve(o.out) };
}

export interface InfoSummary {
  saccade: string;
  node: string;
  backend: { name: string; package: string; reason: string; skipped: BackendInfo['skipped'] };
  ffmpeg: FfmpegInfo | { error: string };
  fashionMnist: { dir: string; source: string } | { error: string };
  frameCache: { dir: string; enabled: boolean };
  platform: string;
}

export async function infoCommand(): Promise<InfoSummary> {
  const backend: BackendInfo = await initBackend();
  const ffmpeg = await locateFfmpeg().catch((error: Error) => ({ error: error.message }));
  const fmnist = await Promise.resolve()
    .then(() => locateFashionMnist())
    .catch((error: Error) => ({ error: error.message }));
  const own = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return {
    saccade: own.version,
    node: process.version,
    backend: { name: backend.name, package: backend.package, reason: backend.reason, skipped: backend.skipped },
    ffmpeg,
    fashionMnist: fmnist,
    frameCache: { dir: frameCacheDir(), enabled: frameCacheEnabled() },
    platform: `${process.platform} ${process.arch}`,
  };
}

export interface ImportSummary {
  checkpoint: string;
  bundle: string;
  method: string;
  classes: number;
  frames: number;
  frameSize: number;
  patchSize: number;
  gflopsPerVideo: number;
  /** Checkpoint entries left out on purpose (the backbones' ImageNet heads, BN counters). */
  ignored: string[];
}

/** Class names for an imported model: a file of one name per line, or AdaFocus's classInd.txt ("1 name" lines); default class_0... */
async function classNames(file: string | undefined, count: number): Promise<string[]> {
  if (!file) return Array.from({ length: count }, (_, i) => `class_${i}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`--classes ${file}: cannot be read`);
  }
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^\d+[ ,]+/, ''));
  if (names.length !== count) throw new UsageError(`--classes ${file}: ${names.length} names, but the checkpoint has ${count} classes`);
  return names;
}

/** `saccade import`: an official checkpoint -> a Saccade bundle (atomic). */
export async function importCommand(o: {
  checkpoint: string;
  out: string;
  method: string;
  patchSize?: number;
  frameSize?: number;
  frames?: number;
  glanceSize?: number;
  shiftDiv?: number;
  sideMin?: number;
  sideMax?: number;
  classes?: string;
}): Promise<ImportSummary> {
  const { net, ignored } = await importOfficialCheckpoint(resolve(o.checkpoint), o.method, {
    ...(o.patchSize !== undefined ? { patchSize: o.patchSize } : {}),
    ...(o.frameSize !== undefined ? { frameSize: o.frameSize } : {}),
    ...(o.frames !== undefined ? { frames: o.frames } : {}),
    ...(o.glanceSize !== undefined ? { glanceSize: o.glanceSize } : {}),
    ...(o.shiftDiv !== undefined ? { shiftDiv: o.shiftDiv } : {}),
    ...(o.sideMin !== undefined ? { sideMin: o.sideMin } : {}),
    ...(o.sideMax !== undefined ? { sideMax: o.sideMax } : {}),
  });
  try {
    const names = await classNames(o.classes, net.classes);
    const out = resolve(o.out);
    await saveBundle(net, out, { classes: names, metrics: { importedFrom: basename(o.checkpoint) } });
    const perStep = net.gflopsPerStep();
    return {
      checkpoint: resolve(o.checkpoint),
      bundle: out,
      method: net.config.method,
      classes: net.classes,
      frames: net.config.frames,
      frameSize: net.config.frameSize,
      patchSize: net.config.patchSize,
      gflopsPerVideo: perStep.reduce((a, b) => a + b, 0),
      ignored,
    };
  } finally {
    net.dispose();
  }
}
