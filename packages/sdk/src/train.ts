/**
 * Training and evaluation as library functions. `train` takes datasets, a config (validated) and
 * callbacks; it evaluates after every epoch, writes checkpoints through a CheckpointStore (Node:
 * `fileCheckpoints(dir)`, atomic), and resumes from one to the same weights as an uninterrupted
 * run: the data order, flips and random patches of step n depend only on (seed, epoch, n), and
 * the optimizer's whole state is saved.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, Rng } from '@saccade/tensor';

import { checkParts, createVideoNet } from './create.js';
import { migrateConfigV1 } from './config/v1.js';
import type { VideoNet } from './video_net.js';
import { configDifferences, describeDifferences, parseConfig, trainingStages, type TrainConfig, type TrainConfigInput } from './config.js';
import { forwardVideos, type VideoDataset } from './dataset.js';
import { CheckpointError, ConfigError, DatasetError, TrainingDivergedError } from './errors.js';
import { cosineLr, PartOptimizer } from './optimizer.js';
import { chunkVideos, joinStatistics, stageVariables, statisticsOf, stepGradients, weightsOf, type Chunk, type GradientPeers } from './peers.js';
import { initBackbones, type Pretrained } from './pretrained.js';

export interface EvalResult {
  videos: number;
  /** Top-1 accuracy of the last step's prediction. */
  accuracy: number;
  /** Top-1 accuracy after each step (the prediction if every video stopped there). */
  accuracyPerStep: number[];
  meanLoss: number;
  /** Logits [videos][steps][classes] (for early-exit calibration and reports). */
  logits: Float32Array;
  /** Patch centres [videos][steps][2] as (y, x) in [0, 1], for models that place patches (NaN: no patch at that step). */
  centres?: Float32Array;
  /** Box sides [videos][steps][2] (y, x) as fractions of the frame, for models that choose them (Uni-AdaFocus). */
  sizes?: Float32Array;
  /** The frame of each step's patch [videos][steps], where a step is not simply frame k (AdaFocus V3). */
  frameIndices?: Int32Array;
  labels: Int32Array;
  /** Every label of each video, on multi-label sets (`VideoDataset.labelSet`): accuracy counts any of them, mAP scores all. */
  labelSets?: number[][];
  steps: number;
  classes: number;
  /** Evaluation wall time. */
  seconds: number;
}

export interface EpochRecord {
  /** 1-based, counted over all stages. */
  epoch: number;
  /** 1-based training stage (AdaFocus V1 has three) and its name. */
  stage: number;
  stageName: string;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  lr: number;
  val?: { accuracy: number; accuracyPerStep: number[]; meanLoss: number };
  seconds: number;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  /** 1-based training stage and its name. */
  stage: number;
  stageName: string;
  batch: number;
  batches: number;
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  elapsedSeconds: number;
}

/** The state a run can be resumed from. */
export interface Checkpoint {
  /** 2: the config is per-method; 1: the flat config of every method (migrated when read). */
  version: 1 | 2;
  config: TrainConfig;
  classes: string[];
  /** Epoch and batch of the next step; `step` counts steps done. */
  epoch: number;
  batch: number;
  step: number;
  /** Running sums of the epoch in progress. */
  epochLoss: number;
  epochSeen: number;
  history: EpochRecord[];
  /** Weights of every sub-network, `${model}/${index}`, and the optimizer state. */
  weights: Record<string, tf.Tensor>;
  optimizerStep: number;
  optimizer: Record<string, tf.Tensor>;
  /** Training until a plateau (`TrainOptions.until`): the weights of the best epoch so far, and which. */
  best?: Record<string, tf.Tensor>;
  bestEpoch?: number;
}

export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
}

export interface TrainOptions {
  config?: TrainConfigInput;
  train: VideoDataset;
  val?: VideoDataset;
  checkpoints?: CheckpointStore;
  /** Continue from the store's checkpoint if there is one. */
  resume?: boolean;
  /** Stop (after a checkpoint) when aborted: Ctrl-C. */
  signal?: AbortSignal;
  /** Stop after this many steps in this call (a checkpoint is written first). */
  maxSteps?: number;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Batch size of evaluation. Default 8. */
  evalBatchSize?: number;
  /**
   * Pretrained backbones for config.pretrained (Node's train loads the shipped ones when this is
   * absent; `loadPretrained`). Not disposed by train.
   */
  pretrained?: Pretrained;
  /**
   * Train until the validation accuracy stops improving (needs `val`): stop once `patience` epochs
   * in a row have not beaten the best by more than `minDelta` (default 0), or once the epochs so
   * far took `timeBudgetSeconds`, and return the best epoch's weights (kept in the checkpoint, so
   * a resumed run knows them). `config.epochs` is then the most it trains (the learning-rate
   * schedule spans it). In a method that trains in stages, only its last stage stops early and
   * keeps its best.
   */
  until?: { patience: number; minDelta?: number; timeBudgetSeconds?: number };
  /**
   * Peers that compute part of each step (data parallel; Node's `train({ workers })` makes worker
   * threads): a step's micro-batches (config.microBatch, or the batch split evenly among this
   * thread and the peers) are dealt out round-robin, and the gradients are summed and the
   * batch-norm statistics joined in participant order, so that a seed and a peer count give the
   * same weights every time. Not closed by train.
   */
  peers?: GradientPeers;
}

export interface TrainResult {
  net: VideoNet;
  config: TrainConfig;
  classes: string[];
  history: EpochRecord[];
  steps: number;
  /** Optimiser steps taken by this call (0 when a resumed run had already finished). */
  stepsThisCall: number;
  /** Why it stopped before the last epoch, if it did: interrupted, `maxSteps`, or `until` (no better for `patience` epochs, or out of time). */
  stopped?: 'aborted' | 'maxSteps' | 'plateau' | 'timeBudget';
  /** With `until`: the 1-based epoch whose weights `net` holds (the best validation accuracy). */
  bestEpoch?: number;
  seconds: number;
}

function checkDataset(d: VideoDataset, c: TrainConfig, what: string): void {
  if (d.length === 0) throw new DatasetError(what, 'has no videos');
  if (d.frames !== c.frames || d.size !== c.frameSize) {
    throw new DatasetError(what, `holds ${d.frames} frames of ${d.size}px, the config wants ${c.frames} of ${c.frameSize}px`);
  }
}

/** Evaluate a network on a dataset (no augmentation, all steps). */
export function evaluate(net: VideoNet, data: VideoDataset, options: { batchSize?: number; seed?: number } = {}): EvalResult {
  const c = net.config;
  const started = performance.now();
  const bs = options.batchSize ?? 8;
  const t = net.steps;
  const k = net.classes;
  const logits = new Float32Array(data.length * t * k);
  const labels = new Int32Array(data.length);
  let centres: Float32Array | undefined;
  let frameIndices: Int32Array | undefined;
  let sizes: Float32Array | undefined;
  let lossSum = 0;
  for (let i = 0; i < data.length; i += bs) {
    const idx = Array.from({ length: Math.min(bs, data.length - i) }, (_, j) => i + j);
    idx.forEach((v) => (labels[v] = data.label(v)));
    const [values, loss, where, which, sides] = tf.tidy(() => {
      // From the bytes where the network reads them (as classify does, so that calibrated exit
      // thresholds meet the same scores at inference).
      const r = forwardVideos(
        net,
        idx.map((v) => data.video(v)),
        deriveSeed(options.seed ?? c.seed, `eval-${i}`),
      );
      const y = tf.oneHot(
        tf.tensor1d(
          idx.map((v) => data.label(v)),
          'int32',
        ),
        k,
      );
      const last = tf.reshape(tf.slice(r.logits, [0, t - 1, 0], [idx.length, 1, k]), [idx.length, k]);
      return [
        r.logits.dataSync() as Float32Array,
        tf.losses.softmaxCrossEntropy(y, last).dataSync()[0]!,
        r.centres?.dataSync() as Float32Array | undefined,
        r.frameIndices?.dataSync() as Int32Array | undefined,
        r.sizes?.dataSync() as Float32Array | undefined,
      ];
    });
    logits.set(values, i * t * k);
    if (where) (centres ??= new Float32Array(data.length * t * 2)).set(where, i * t * 2);
    if (which) (frameIndices ??= new Int32Array(data.length * t)).set(which, i * t);
    if (sides) (sizes ??= new Float32Array(data.length * t * 2)).set(sides, i * t * 2);
    lossSum += loss * idx.length;
  }
  // Multi-label sets: a top-1 prediction of any of a video's labels is right.
  const labelSets = data.labelSet ? Array.from({ length: data.length }, (_, v) => [...data.labelSet!(v)]) : undefined;
  const accuracyPerStep = Array.from({ length: t }, (_, s) => {
    let correct = 0;
    for (let v = 0; v < data.length; v++) {
      const row = logits.subarray((v * t + s) * k, (v * t + s + 1) * k);
      let best = 0;
      for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
      if (best === labels[v] || (labelSets !== undefined && labelSets[v]!.includes(best))) correct++;
    }
    return correct / data.length;
  });
  return {
    videos: data.length,
    accuracy: accuracyPerStep[t - 1]!,
    accuracyPerStep,
    meanLoss: lossSum / data.length,
    logits,
    ...(centres ? { centres } : {}),
    ...(frameIndices ? { frameIndices } : {}),
    ...(sizes ? { sizes } : {}),
    labels,
    ...(labelSets ? { labelSets } : {}),
    steps: t,
    classes: k,
    seconds: (performance.now() - started) / 1000,
  };
}

function snapshot(net: VideoNet): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, model] of Object.entries(net.models())) model.getWeights().forEach((w, i) => (out[`${name}/${i}`] = w.clone()));
  return out;
}

function restoreWeights(net: VideoNet, weights: Record<string, tf.Tensor>, where: string, config: TrainConfig): void {
  try {
    checkParts(config, [...new Set(Object.keys(weights).map((k) => k.slice(0, k.lastIndexOf('/'))))], undefined, 'its weights');
  } catch (error) {
    throw new CheckpointError(where, (error as Error).message);
  }
  for (const [name, model] of Object.entries(net.models())) {
    const current = model.getWeights();
    const values = current.map((w, i) => {
      const v = weights[`${name}/${i}`];
      if (!v || v.shape.join() !== w.shape.join()) throw new CheckpointError(where, `weight ${name}/${i} is missing or has the wrong shape`);
      return v;
    });
    model.setWeights(values);
  }
}

/** Train a network; returns it with the history. The caller owns (and disposes) `result.net`. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const config = parseConfig(options.config ?? {});
  const data = options.train;
  checkDataset(data, config, 'training set');
  if (options.val) checkDataset(options.val, config, 'validation set');
  if (options.val && options.val.classes.join('\n') !== data.classes.join('\n'))
    throw new DatasetError('validation set', 'has other classes than the training set');
  const until = options.until;
  if (until) {
    if (!options.val) throw new ConfigError('until', 'training until the validation accuracy stops improving needs a validation set (options.val)');
    if (!Number.isInteger(until.patience) || until.patience < 1)
      throw new ConfigError('until.patience', `must be a whole number of epochs >= 1, got ${until.patience}`);
    if (until.minDelta !== undefined && !(until.minDelta >= 0)) throw new ConfigError('until.minDelta', `must be >= 0, got ${until.minDelta}`);
    if (until.timeBudgetSeconds !== undefined && !(until.timeBudgetSeconds > 0))
      throw new ConfigError('until.timeBudgetSeconds', `must be a positive number of seconds, got ${until.timeBudgetSeconds}`);
  }
  const classes = [...data.classes];
  const bs = Math.min(config.batchSize, data.length);
  const batches = Math.floor(data.length / bs);
  const stages = trainingStages(config);
  const totalEpochs = stages.reduce((a, st) => a + st.epochs, 0);
  const totalSteps = batches * totalEpochs;
  const warmup = Math.round(config.warmupEpochs * batches);
  /** The stage of a (0-based) epoch, and the step its cosine schedule starts at. */
  const stageOf = (e: number) => {
    let first = 0;
    for (let i = 0; i < stages.length; i++) {
      if (e < first + stages[i]!.epochs || i === stages.length - 1) return { index: i, ...stages[i]!, firstStep: first * batches };
      first += stages[i]!.epochs;
    }
    throw new Error('unreachable');
  };

  if (config.pretrained && !options.pretrained)
    throw new ConfigError('pretrained', 'is true but no weights were given: pass options.pretrained (loadPretrained() in Node), or set pretrained to false');
  const net = createVideoNet(config, classes.length);
  try {
    if (config.pretrained) initBackbones(net, options.pretrained!);
  } catch (error) {
    net.dispose();
    throw error;
  }
  const opt = new PartOptimizer({ kind: config.optimizer, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay }, net.parts(), {
    policy: config.lrPolicy,
    glance: config.lrGlance,
    focus: config.lrFocus,
    classifier: config.lrClassifier,
  });
  let epoch = 0;
  let batch = 0;
  let step = 0;
  let epochLoss = 0;
  let epochSeen = 0;
  let history: EpochRecord[] = [];
  let epochStarted = performance.now();
  // Training until a plateau: the best epoch of the last stage and its weights.
  let best: Record<string, tf.Tensor> | undefined;
  let bestEpoch: number | undefined;

  try {
    if (options.resume && options.checkpoints) {
      const ck = await options.checkpoints.load();
      if (ck) {
        // A later run may go on to more stages (V1 one stage at a time): stages may differ, nothing else.
        // Version-1 checkpoints hold the flat config of every method: migrated (migrateConfigV1).
        let stored: TrainConfig;
        try {
          stored = parseConfig(ck.version === 1 ? migrateConfigV1(ck.config) : ck.config);
        } catch (error) {
          tf.dispose([...Object.values(ck.weights), ...Object.values(ck.optimizer), ...Object.values(ck.best ?? {})]);
          throw new CheckpointError('checkpoint', `its config: ${(error as Error).message}`);
        }
        const differences = configDifferences(stored, config);
        const sameClasses = ck.classes.join('\n') === classes.join('\n');
        if (differences.length > 0 || !sameClasses) {
          tf.dispose([...Object.values(ck.weights), ...Object.values(ck.optimizer), ...Object.values(ck.best ?? {})]);
          const what = [
            ...(differences.length > 0 ? [`another config: ${describeDifferences(differences)}`] : []),
            ...(sameClasses ? [] : [`other classes (${ck.classes.length} in the run, ${classes.length} now)`]),
          ];
          throw new CheckpointError('checkpoint', `was written by a run with ${what.join('; and ')}; start a new run folder or pass the same config`);
        }
        try {
          restoreWeights(net, ck.weights, 'checkpoint', config);
          opt.restore(ck.optimizerStep, ck.optimizer);
        } catch (error) {
          tf.dispose(Object.values(ck.best ?? {}));
          throw error;
        } finally {
          tf.dispose([...Object.values(ck.weights), ...Object.values(ck.optimizer)]);
        }
        ({ epoch, batch, step, epochLoss, epochSeen, history } = ck);
        if (ck.best && until && ck.bestEpoch !== undefined) {
          best = ck.best;
          bestEpoch = ck.bestEpoch;
        } else if (ck.best) tf.dispose(Object.values(ck.best));
      }
    }

    const save = async () => {
      if (!options.checkpoints) return;
      const weights = snapshot(net);
      const state = opt.state();
      const optimizer = Object.fromEntries(state.tensors.map((x) => [x.name, x.tensor]));
      try {
        await options.checkpoints.save({
          version: 2,
          config,
          classes,
          epoch,
          batch,
          step,
          epochLoss,
          epochSeen,
          history,
          weights,
          optimizerStep: state.step,
          optimizer,
          ...(best && bestEpoch !== undefined ? { best, bestEpoch } : {}),
        });
      } finally {
        tf.dispose([...Object.values(weights), ...Object.values(optimizer)]);
      }
    };

    /** Why training until a plateau stops after the epochs in `history`, if it does. */
    const untilReached = (): 'plateau' | 'timeBudget' | undefined => {
      if (!until) return undefined;
      const spent = history.reduce((a, h) => a + h.seconds, 0);
      if (until.timeBudgetSeconds !== undefined && spent >= until.timeBudgetSeconds) return 'timeBudget';
      const last = history.at(-1);
      if (!last || bestEpoch === undefined || last.stage !== stages.length) return undefined;
      return last.epoch - bestEpoch >= until.patience ? 'plateau' : undefined;
    };
    const resultOf = (stopped?: TrainResult['stopped']): TrainResult => ({
      net,
      config,
      classes,
      history,
      steps: step,
      stepsThisCall,
      ...(stopped ? { stopped } : {}),
      ...(until && bestEpoch !== undefined ? { bestEpoch } : {}),
      seconds: (performance.now() - started) / 1000,
    });
    /** The end of training until a plateau (stopped early or not): the best epoch's weights into the network. */
    const finishUntil = (why?: 'plateau' | 'timeBudget'): TrainResult => {
      if (best) restoreWeights(net, best, 'the best epoch', config);
      return resultOf(why);
    };

    // The same variables, in the same order, as the peers' replicas train.
    const stageVars = stages.map((st) => stageVariables(net, st.parts));
    let stepsThisCall = 0;
    const peers = options.peers;
    const statistics = peers ? statisticsOf(net) : [];
    const replicas = peers ? weightsOf(net) : [];
    // The peers start from these weights (fresh, pretrained or restored from the checkpoint) and get them after every step.
    // Not awaited where it is sent: the workers take the weights before the next step's work (their
    // port is in order), and the next step waits for both; a failure surfaces there.
    let synced: Promise<unknown> = Promise.resolve();
    const syncPeers = () => {
      if (!peers) return;
      synced = peers.sync(replicas.map((w) => (w.read().dataSync() as Float32Array).slice()));
      synced.catch(() => {});
    };
    syncPeers();
    // A resumed run that had already stopped at its plateau (or spent its time) stays stopped.
    const already = untilReached();
    if (already) return finishUntil(already);
    while (epoch < totalEpochs) {
      const stage = stageOf(epoch);
      const vars = stageVars[stage.index]!;
      const stageSteps = stage.epochs * batches;
      const rng = new Rng(deriveSeed(config.seed, `epoch-${epoch}`));
      const order = rng.shuffle(Array.from({ length: data.length }, (_, i) => i));
      const flips = order.map(() => config.flip && rng.bernoulli(0.5));
      // Multi-label videos: one of their labels, drawn per epoch (the official VideoRecord shuffles
      // them and trains on the first), from a stream of its own so that single-label sets keep theirs.
      const labelRng = new Rng(deriveSeed(config.seed, `labels-${epoch}`));
      const drawn = data.labelSet
        ? Array.from({ length: data.length }, (_, i) => {
            const set = data.labelSet!(i);
            return set.length > 1 ? set[labelRng.int(0, set.length - 1)]! : data.label(i);
          })
        : undefined;
      const labelOf = (i: number) => (drawn ? drawn[i]! : data.label(i));
      while (batch < batches) {
        // Let the event loop run between batches, so that an abort (the CLI's Ctrl-C) is seen at the
        // next batch; without a peer to await, a whole epoch would otherwise run in one task.
        await new Promise<void>((resolveTick) => setTimeout(resolveTick, 0));
        if (options.signal?.aborted) {
          await save();
          return resultOf('aborted');
        }
        if (options.maxSteps !== undefined && stepsThisCall >= options.maxSteps) {
          await save();
          return resultOf('maxSteps');
        }
        const idx = order.slice(batch * bs, (batch + 1) * bs);
        // A stage with its own optimiser (V1's PPO in the paper) runs at its constant rate.
        const lr = stage.optimizer ? stage.optimizer.lr : cosineLr(config.lr, step - stage.firstStep, stageSteps, stage.index === 0 ? warmup : 0);
        const stepSeed = deriveSeed(config.seed, `step-${step}`);
        const flipOf = idx.map((_, j) => flips[batch * bs + j]!);
        const participants = (peers?.count ?? 0) + 1;
        const chunk = config.microBatch > 0 ? config.microBatch : Math.ceil(idx.length / participants);
        // Micro-batch j goes to participant j mod P (this thread is participant 0; without peers, every one).
        const assigned: Chunk[][] = Array.from({ length: participants }, () => []);
        for (let at = 0, j = 0; at < idx.length; at += chunk, j++) {
          const part = idx.slice(at, at + chunk);
          assigned[j % participants]!.push({
            videos: chunkVideos(net, data, part),
            labels: part.map(labelOf),
            flips: flipOf.slice(at, at + chunk),
            seed: deriveSeed(stepSeed, at),
            weight: part.length / idx.length,
          });
        }
        const start = statistics.map((st) => (st.variable.read().dataSync() as Float32Array).slice());
        for (const st of statistics) st.updates = 0;
        const pending = peers?.step(assigned.slice(1), stage.index);
        const { summed: total, loss: ownLoss } = stepGradients(net, config, vars, stage.index, assigned[0]!);
        let loss = ownLoss;
        if (pending) {
          const results = await Promise.all([pending, synced])
            .then(([r]) => r)
            .catch((error: unknown) => {
              tf.dispose([...total.values()]);
              throw error;
            });
          for (const r of results) {
            for (const g of r.grads) {
              const prev = total.get(g.index);
              total.set(
                g.index,
                tf.tidy(() => (prev ? tf.add(prev, tf.tensor(g.data, g.shape)) : tf.tensor(g.data, g.shape))),
              );
              prev?.dispose();
            }
            loss += r.loss;
          }
          statistics.forEach((st, i) => {
            const own = { data: (st.variable.read().dataSync() as Float32Array).slice(), updates: st.updates };
            const joined = tf.tensor(joinStatistics(start[i]!, st.momentum, [own, ...results.map((r) => r.statistics[i]!)]), st.variable.read().shape);
            st.variable.write(joined);
            joined.dispose();
          });
        }
        const summed = Object.fromEntries([...total].map(([i, g]) => [vars[i]!.name, g]));
        opt.apply(summed, lr, stage.optimizer ? { kind: stage.optimizer.kind, step: step - stage.firstStep + 1 } : undefined);
        tf.dispose(Object.values(summed));
        syncPeers();
        if (!Number.isFinite(loss))
          throw new TrainingDivergedError(
            step,
            loss,
            `training diverged: loss ${loss} at step ${step} (epoch ${epoch + 1}, batch ${batch + 1}); lower config.lr`,
          );
        epochLoss += loss * idx.length;
        epochSeen += idx.length;
        step++;
        batch++;
        stepsThisCall++;
        options.onBatch?.({
          epoch,
          epochs: totalEpochs,
          stage: stage.index + 1,
          stageName: stage.name,
          batch,
          batches,
          step,
          totalSteps,
          loss,
          lr,
          elapsedSeconds: (performance.now() - started) / 1000,
        });
        if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && batch < batches) await save();
      }
      // Training accuracy of the epoch's weights, measured on a fixed subset after the epoch (cheap).
      const sub = Math.min(data.length, 64);
      const subset: VideoDataset = {
        classes: data.classes,
        frames: data.frames,
        size: data.size,
        length: sub,
        label: (i) => data.label(order[i]!),
        video: (i) => data.video(order[i]!),
        name: (i) => data.name(order[i]!),
      };
      const trainAccuracy = evaluate(net, subset, { batchSize: options.evalBatchSize }).accuracy;
      const val = options.val ? evaluate(net, options.val, { batchSize: options.evalBatchSize }) : undefined;
      const record: EpochRecord = {
        epoch: epoch + 1,
        stage: stage.index + 1,
        stageName: stage.name,
        step,
        trainLoss: epochLoss / Math.max(1, epochSeen),
        trainAccuracy,
        lr: stage.optimizer ? stage.optimizer.lr : cosineLr(config.lr, step - 1 - stage.firstStep, stageSteps, stage.index === 0 ? warmup : 0),
        ...(val ? { val: { accuracy: val.accuracy, accuracyPerStep: val.accuracyPerStep, meanLoss: val.meanLoss } } : {}),
        seconds: (performance.now() - epochStarted) / 1000,
      };
      history = [...history, record];
      // The best epoch of the last stage (by validation accuracy), kept for training until a plateau.
      if (until && stage.index === stages.length - 1 && val) {
        const bestAccuracy = bestEpoch === undefined ? -Infinity : history.find((h) => h.epoch === bestEpoch)!.val!.accuracy;
        if (val.accuracy > bestAccuracy + (until.minDelta ?? 0)) {
          if (best) tf.dispose(Object.values(best));
          best = snapshot(net);
          bestEpoch = record.epoch;
        }
      }
      options.onEpoch?.(record);
      epoch++;
      batch = 0;
      epochLoss = 0;
      epochSeen = 0;
      epochStarted = performance.now();
      await save();
      const reached = untilReached();
      if (reached) return finishUntil(reached);
    }
    return until ? finishUntil() : resultOf();
  } catch (error) {
    net.dispose();
    throw error;
  } finally {
    opt.dispose();
    if (best) tf.dispose(Object.values(best));
  }
}
