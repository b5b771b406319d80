/**
 * `saccade bench` and `saccade demo`: train AdaFocus (V2, V1, Uni-AdaFocus) and the baselines on one dataset
 * (each run in a child `saccade train` process: wasm runs one thread, so --parallel 2 uses two
 * cores), then measure every model in this one process (same backend): accuracy, GFLOPs per video,
 * videos/s, the early-exit budget curve of AdaFocusV2 with the random-exit baseline; write
 * report.md, report.json and an accuracy-vs-GFLOPs SVG.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { BudgetPoint } from '@saccade/early-exit';
import { accuracyVsGflopsSvg, markdownTable, mean, median, sampleStd } from '@saccade/metrics';
import { calibrateExits, configFields, evaluate, exitBudgetCurve, fieldOwners, loadModel, methodVariant, methodVariants, saveBundle } from '@saccade/sdk';
import { initBackend } from '@saccade/tensor';
import { writeFileAtomic } from '@saccade/tensor/node';

import { dataCommand, loadSplit, type SpeedSummary, type TrainSummary } from './commands.js';
import { UsageError } from './errors.js';
import { createProgress } from './progress.js';

export interface BenchOptions {
  out: string;
  data?: string;
  trainVideos: number;
  valVideos: number;
  seeds: number;
  parallel: number;
  /** Config flags for every run (e.g. epochs). */
  flags: Record<string, unknown>;
  methods: string[];
  quiet?: boolean;
  /** Fashion-MNIST folder for building the data. */
  source?: string;
  /** Build the data with the item hidden for this fraction of every video (temporal redundancy). */
  hidden?: number;
  /** Build the data with this fraction of the item shown per frame (evidence that accumulates). */
  reveal?: number;
  /**
   * Child processes that time every model (`saccade speed`), one after another; each model's
   * videos/s is the median over them (default 3). One process's figures move by ~5% from the next's.
   */
  speedRuns?: number;
  signal?: AbortSignal;
}

interface RunSpec {
  method: string;
  seed: number;
}

export interface BenchGroup {
  method: string;
  seeds: number;
  accuracyMean: number;
  accuracyStd: number;
  accuracies: number[];
  /** Mean accuracy (%) after the first step alone (the prediction had every video stopped there): with the last step's, how much the later steps add. */
  firstStepAccuracyMean: number;
  gflopsPerVideo: number;
  /** Mean over the seeds of each model's median videos/s (over the speed processes). */
  videosPerSecond: number;
  /** The mean over the seeds in each speed process, in turn: how much the measure moved. */
  videosPerSecondRuns: number[];
  trainSecondsMean: number;
  /** Patch methods: % of validation frames (item visible) whose patch contains the item's centre. */
  itemInPatch?: number;
  /** Per seed, the last step's accuracy minus the first step's (points), where every seed measured its first step. */
  stepGains?: number[];
  /** Mean over the seeds of BenchRow.onVisible, where every seed has it. */
  onVisible?: { chosen: number; overall: number };
}

export interface ExitPoint {
  targetGflops: number;
  meanGflops: number;
  accuracy: number;
  randomAccuracy: number;
  seeds: number;
}

/** The mean of several seeds' budget curves, budget by budget. */
function meanCurve(curves: readonly BudgetPoint[][]): ExitPoint[] {
  const at = (f: (p: BudgetPoint) => number, k: number) => mean(curves.map((c) => f(c[k]!)));
  return curves[0]!.map((p, k) => ({
    targetGflops: p.targetGflops!,
    meanGflops: at((q) => q.meanGflops, k),
    accuracy: at((q) => q.accuracy, k),
    randomAccuracy: at((q) => q.randomAccuracy, k),
    seeds: curves.length,
  }));
}

interface ExitRun {
  msPerVideo: number;
  gflopsPerVideo: number;
  accuracy: number;
}

export interface BenchReport {
  data: string;
  backend: string;
  trainWallSeconds: number;
  groups: BenchGroup[];
  /** The early-exit budget curve of every AdaFocusV2 seed (seed order). */
  exitCurves?: BudgetPoint[][];
  /** Their mean at each budget (the same target GFLOPs for every seed: the same network). */
  exitCurve?: ExitPoint[];
  /** The same for every Uni-AdaFocus seed (its exits: the glance-only one, then one per focus frame). */
  uniExitCurves?: BudgetPoint[][];
  uniExitCurve?: ExitPoint[];
  /** Step-by-step classify of the same videos without and with the thresholds of the 0.5 budget. */
  /**
   * classify on the same videos: `full` step by step without exit (thresholds that never pass),
   * `early` step by step with a budget, `allAtOnce` without a budget (every step in one batch).
   */
  exitTiming?: { videos: number; targetGflops: number; full: ExitRun; early: ExitRun; allAtOnce?: ExitRun };
  checks: string[];
  flags: Record<string, unknown>;
}

/**
 * The bench's acceptance thresholds, all in one place (benchChecks reads them; the report prints
 * each verdict beside its figures):
 * - a learned policy beats a baseline when the margin between their mean accuracies exceeds the
 *   sum of their standard deviations over seeds (`marginOverSpreads`);
 * - AdaFocusV2 keeps the full-frame (uniform) baseline's accuracy within `uniformGapPoints`;
 * - early exit's best budget is the cheapest whose accuracy is within `exitLossPoints` of the
 *   full model's.
 */
export const BENCH_ACCEPTANCE = {
  marginOverSpreads: 1,
  uniformGapPoints: 2,
  exitLossPoints: 1,
  /** Uni-AdaFocus: within 1 point of AdaFocusV2 at this fraction of its GFLOPs or fewer. */
  uniGflopsFraction: 2 / 3,
  uniPoints: 1,
  /** A data set that needs time: the uniform baseline gains at least this many points from its first step to its last. */
  uniformStepGainPoints: 10,
} as const;

export interface ManifestVideo {
  file: string;
  boxes: [number, number][];
  visible?: boolean[];
}

export interface Manifest {
  options: { itemSize: number; size: number };
  videos: ManifestVideo[];
}

async function readManifest(data: string): Promise<Manifest | undefined> {
  return existsSync(join(data, 'manifest.json')) ? (JSON.parse(await readFile(join(data, 'manifest.json'), 'utf8')) as Manifest) : undefined;
}

/**
 * Where the patches went: the share of validation frames (where the item is visible) whose patch
 * contains the centre of the item, from the benchmark's manifest (the item's box in every frame).
 * Returns undefined without centres or without a manifest.
 */
function itemInPatch(
  manifest: Manifest | undefined,
  names: (i: number) => string,
  e: { centres?: Float32Array; sizes?: Float32Array; frameIndices?: Int32Array; steps: number },
  c: { frameSize: number; patchSize: number },
): number | undefined {
  const { centres, steps } = e;
  if (!centres || !manifest || manifest.options.size !== c.frameSize) return undefined;
  const byName = new Map(manifest.videos.map((v) => [basename(v.file), v]));
  const half = manifest.options.itemSize / 2;
  let inside = 0;
  let frames = 0;
  for (let i = 0; i < centres.length / (2 * steps); i++) {
    const video = byName.get(basename(names(i)));
    if (!video) return undefined;
    for (let k = 0; k < steps; k++) {
      const at = (i * steps + k) * 2;
      // A step without a patch (Uni-AdaFocus's glance-only exit) is not counted.
      if (Number.isNaN(centres[at]!)) continue;
      // Step k looks at frame k, or (Uni-AdaFocus) at the frame its temporal policy chose.
      const t = e.frameIndices ? e.frameIndices[i * steps + k]! : k;
      if (video.visible && !video.visible[t]) continue;
      const [by, bx] = video.boxes[t]!;
      // The box's sides: the patch size, or the size the method chose.
      const [h, w] = e.sizes ? [e.sizes[at]! * c.frameSize, e.sizes[at + 1]! * c.frameSize] : [c.patchSize, c.patchSize];
      const top = centres[at]! * (c.frameSize - h);
      const left = centres[at + 1]! * (c.frameSize - w);
      const [iy, ix] = [by + half, bx + half];
      if (iy >= top && iy <= top + h && ix >= left && ix <= left + w) inside++;
      frames++;
    }
  }
  return frames > 0 ? (100 * inside) / frames : undefined;
}

/**
 * Where a method that chooses its frames looked in time: the share (%) of its patch steps whose
 * frame shows the item, and the share of all validation frames that do, from the manifest's
 * visibility flags. Undefined without chosen frames, or when the item is never hidden.
 */
export function focusOnVisible(
  manifest: Manifest | undefined,
  names: (i: number) => string,
  e: { centres?: Float32Array; frameIndices?: Int32Array; steps: number },
): { chosen: number; overall: number } | undefined {
  const { centres, frameIndices, steps } = e;
  if (!centres || !frameIndices || !manifest || !manifest.videos.some((v) => v.visible?.includes(false))) return undefined;
  const byName = new Map(manifest.videos.map((v) => [basename(v.file), v]));
  let [shown, chosen, all, frames] = [0, 0, 0, 0];
  for (let i = 0; i < frameIndices.length / steps; i++) {
    const visible = byName.get(basename(names(i)))?.visible;
    if (!visible) return undefined;
    all += visible.filter(Boolean).length;
    frames += visible.length;
    for (let k = 0; k < steps; k++) {
      if (Number.isNaN(centres[(i * steps + k) * 2]!)) continue;
      chosen++;
      if (visible[frameIndices[i * steps + k]!]) shown++;
    }
  }
  return chosen > 0 ? { chosen: (100 * shown) / chosen, overall: (100 * all) / frames } : undefined;
}

/** "beats random exit ... at k of n budgets", over the mean curve of the seeds and seed by seed. */
function beatsRandom(curves: readonly BudgetPoint[][]): string {
  const mean = meanCurve(curves);
  const seeds = curves.length === 1 ? 'one seed' : `mean of ${curves.length} seeds`;
  const beats = (c: readonly { accuracy: number; randomAccuracy: number }[]) => c.filter((p) => p.accuracy > p.randomAccuracy).length;
  return `beats random exit (its expected accuracy at the same exit counts) at ${beats(mean)} of ${mean.length} budgets (${seeds})${curves.length > 1 ? `; seed by seed: ${curves.map((c) => beats(c)).join(', ')} of ${mean.length}` : ''}`;
}

/** One run's figures, as the bench measures them (accuracy in percent). */
export interface BenchRow {
  method: string;
  seed: number;
  accuracy: number;
  gflops: number;
  vps: number;
  vpsRuns?: number[];
  trainSeconds: number;
  inPatch?: number;
  /** Methods that choose their frames, on data that hides the item: % of patch steps whose frame shows it, and % of all frames that do. */
  onVisible?: { chosen: number; overall: number };
  /** Accuracy (%) after the first step. */
  firstStep?: number;
}

/**
 * Rows of every run -> one group per method (in the order methods first appear): mean and sample
 * standard deviation (n - 1) of accuracy over seeds, mean videos/s over seeds (and per speed
 * process), mean training time.
 */
export function summariseGroups(rows: readonly BenchRow[]): BenchGroup[] {
  return [...new Set(rows.map((r) => r.method))].map((method) => {
    const rs = rows.filter((r) => r.method === method);
    return {
      method,
      seeds: rs.length,
      accuracyMean: mean(rs.map((r) => r.accuracy)),
      accuracyStd: sampleStd(rs.map((r) => r.accuracy)),
      accuracies: rs.map((r) => r.accuracy),
      firstStepAccuracyMean: mean(rs.map((r) => r.firstStep ?? r.accuracy)),
      gflopsPerVideo: rs[0]!.gflops,
      videosPerSecond: mean(rs.map((r) => r.vps)),
      videosPerSecondRuns: rs[0]!.vpsRuns!.map((_, k) => mean(rs.map((r) => r.vpsRuns![k]!))),
      trainSecondsMean: mean(rs.map((r) => r.trainSeconds)),
      ...(rs.every((r) => r.inPatch !== undefined) ? { itemInPatch: mean(rs.map((r) => r.inPatch!)) } : {}),
      ...(rs.every((r) => r.firstStep !== undefined) ? { stepGains: rs.map((r) => r.accuracy - r.firstStep!) } : {}),
      ...(rs.every((r) => r.onVisible !== undefined)
        ? { onVisible: { chosen: mean(rs.map((r) => r.onVisible!.chosen)), overall: mean(rs.map((r) => r.onVisible!.overall)) } }
        : {}),
    };
  });
}

/**
 * The bench's verdicts, each one line: the learned policy against random and centre patches (V2),
 * V1 against random patches, V2 against V1 and V3, AdaFocusV2 against the uniform baseline and its
 * throughput, early exit against random exit, and the step-by-step classify timing, by the
 * thresholds of BENCH_ACCEPTANCE.
 */
export function benchChecks(
  groups: readonly BenchGroup[],
  exitCurves: readonly BudgetPoint[][],
  exitTiming?: BenchReport['exitTiming'],
  uniExitCurves: readonly BudgetPoint[][] = [],
): string[] {
  const by = (m: string) => groups.find((g) => g.method === m);
  const checks: string[] = [];
  // A learned policy against a baseline: the margin must exceed the sum of the two spreads.
  const against = (what: string, a: BenchGroup, b: BenchGroup) => {
    const margin = a.accuracyMean - b.accuracyMean;
    const spread = BENCH_ACCEPTANCE.marginOverSpreads * (a.accuracyStd + b.accuracyStd);
    checks.push(
      `${what} vs ${METHOD_LABEL[b.method]}: ${margin >= 0 ? '+' : ''}${margin.toFixed(1)} points; spreads ${a.accuracyStd.toFixed(1)} + ${b.accuracyStd.toFixed(1)} = ${spread.toFixed(1)}: margin ${margin > spread ? 'outside' : 'NOT outside'} the spread`,
    );
  };
  const ada = by('v2');
  for (const other of [by('random'), by('centre')]) if (ada && other) against('learned policy', ada, other);
  const v1 = by('v1');
  for (const rnd of [by('v1-random'), by('random')]) if (v1 && rnd) against("AdaFocus V1's learned policy", v1, rnd);
  if (v1 && ada) {
    checks.push(
      `AdaFocusV2 vs V1: ${ada.accuracyMean.toFixed(1)}% in ${ada.trainSecondsMean.toFixed(0)} s of training vs ${v1.accuracyMean.toFixed(1)}% in ${v1.trainSecondsMean.toFixed(0)} s (three stages): V2 ${ada.trainSecondsMean < v1.trainSecondsMean ? 'faster' : 'NOT faster'}, ${ada.accuracyMean >= v1.accuracyMean ? 'equal or better' : 'less'} accuracy`,
    );
  }
  const uniFocus = by('uni');
  if (uniFocus && ada) {
    const fraction = uniFocus.gflopsPerVideo / ada.gflopsPerVideo;
    const cheap = fraction <= BENCH_ACCEPTANCE.uniGflopsFraction + 1e-9;
    checks.push(
      `Uni-AdaFocus vs AdaFocusV2: ${uniFocus.accuracyMean.toFixed(1)}% at ${uniFocus.gflopsPerVideo.toFixed(3)} GFLOPs/video vs ${ada.accuracyMean.toFixed(1)}% at ${ada.gflopsPerVideo.toFixed(3)} (${fraction.toFixed(2)} of its GFLOPs, ${cheap ? 'within' : 'NOT within'} 2/3): ${uniFocus.accuracyMean >= ada.accuracyMean - BENCH_ACCEPTANCE.uniPoints ? 'within 1 point of' : 'NOT within 1 point of'} V2's accuracy`,
    );
    if (uniFocus.onVisible)
      checks.push(
        `Uni-AdaFocus's focus frames show the item in ${uniFocus.onVisible.chosen.toFixed(1)}% of its steps; the videos show it in ${uniFocus.onVisible.overall.toFixed(1)}% of their frames`,
      );
    if (uniFocus.itemInPatch !== undefined && ada.itemInPatch !== undefined)
      checks.push(
        `Uni-AdaFocus's boxes hold the item in ${uniFocus.itemInPatch.toFixed(1)}% of frames, AdaFocusV2's patches in ${ada.itemInPatch.toFixed(1)}%: ${uniFocus.itemInPatch >= ada.itemInPatch ? 'at least' : 'NOT at least'} V2's share`,
      );
  }
  const uni = by('uniform');
  if (uni?.stepGains) {
    const gain = mean(uni.stepGains);
    const perSeed = uni.stepGains.length > 1 ? `; seed by seed ${uni.stepGains.map((g) => `${g >= 0 ? '+' : ''}${g.toFixed(1)}`).join(', ')}` : '';
    checks.push(
      `uniform baseline from its first step to its last: ${uni.firstStepAccuracyMean.toFixed(1)}% -> ${uni.accuracyMean.toFixed(1)}%, ${gain >= 0 ? '+' : ''}${gain.toFixed(1)} points (mean of ${uni.stepGains.length} seed${uni.stepGains.length > 1 ? 's' : ''}${perSeed}): ${gain >= BENCH_ACCEPTANCE.uniformStepGainPoints ? 'at least' : 'NOT at least'} ${BENCH_ACCEPTANCE.uniformStepGainPoints} (evidence ${gain >= BENCH_ACCEPTANCE.uniformStepGainPoints ? 'accumulates' : 'does not accumulate enough'} over the frames)`,
    );
  }
  if (ada && uni) {
    const gRatio = uni.gflopsPerVideo / ada.gflopsPerVideo;
    const sRatio = ada.videosPerSecond / uni.videosPerSecond;
    const gap = ada.accuracyMean - uni.accuracyMean;
    checks.push(
      `AdaFocusV2 ${ada.accuracyMean.toFixed(1)} ± ${ada.accuracyStd.toFixed(1)}% vs uniform ${uni.accuracyMean.toFixed(1)} ± ${uni.accuracyStd.toFixed(1)}% (${gap >= 0 ? '+' : ''}${gap.toFixed(2)} points: ${gap >= -BENCH_ACCEPTANCE.uniformGapPoints ? 'within' : 'NOT within'} ${BENCH_ACCEPTANCE.uniformGapPoints}) at 1/${gRatio.toFixed(2)} of its GFLOPs`,
    );
    const perRun =
      ada.videosPerSecondRuns.length > 1
        ? ` (each speed process alone: ${ada.videosPerSecondRuns.map((v, k) => (v / uni.videosPerSecondRuns[k]! / gRatio).toFixed(2)).join(', ')})`
        : '';
    checks.push(`videos/s ratio ${sRatio.toFixed(2)}x against a GFLOPs ratio of ${gRatio.toFixed(2)}x: ${(sRatio / gRatio).toFixed(2)} of it${perRun}`);
  }
  const exitCurve = exitCurves.length > 0 ? meanCurve(exitCurves) : undefined;
  if (exitCurve && ada) {
    const seeds = `${exitCurves.length === 1 ? 'one seed' : `mean of ${exitCurves.length} seeds`}`;
    const ok = exitCurve.filter((p) => p.accuracy * 100 >= ada.accuracyMean - BENCH_ACCEPTANCE.exitLossPoints);
    const best = [...ok].sort((a, b) => a.meanGflops - b.meanGflops)[0];
    if (best)
      checks.push(
        `early exit (${seeds}): ${(ada.gflopsPerVideo / best.meanGflops).toFixed(2)}x fewer GFLOPs per video at ${(ada.accuracyMean - 100 * best.accuracy).toFixed(1)} points accuracy loss (budget ${best.targetGflops.toFixed(3)})`,
      );
    checks.push(`early exit ${beatsRandom(exitCurves)}`);
  }
  if (uniExitCurves.length > 0) checks.push(`Uni-AdaFocus's early exit ${beatsRandom(uniExitCurves)}`);
  if (exitTiming) {
    const { full, early } = exitTiming;
    checks.push(
      `classify step by step (${exitTiming.videos} videos): ${full.msPerVideo.toFixed(1)} ms and ${full.gflopsPerVideo.toFixed(3)} GFLOPs per video without exit, ${early.msPerVideo.toFixed(1)} ms and ${early.gflopsPerVideo.toFixed(3)} GFLOPs with the ${exitTiming.targetGflops.toFixed(3)}-GFLOPs budget (${(full.msPerVideo / early.msPerVideo).toFixed(2)}x faster)${exitTiming.allAtOnce ? `; without a budget classify runs every step at once: ${exitTiming.allAtOnce.msPerVideo.toFixed(1)} ms` : ''}`,
    );
  }
  return checks;
}

const METHOD_LABEL: Record<string, string> = Object.fromEntries(methodVariants().map((m) => [m.name, m.label]));

/**
 * `saccade ARGS...` in a child process, stopped with SIGINT (it checkpoints and exits) when
 * `signal` aborts; resolves with its stdout when it exits 0.
 */
function childSaccade(args: readonly string[], signal: AbortSignal, what: string): Promise<string> {
  const cli = fileURLToPath(new URL('../bin/saccade.js', import.meta.url));
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const kill = () => p.kill('SIGINT');
    if (signal.aborted) kill();
    signal.addEventListener('abort', kill, { once: true });
    p.on('error', reject);
    p.on('exit', (code) => {
      signal.removeEventListener('abort', kill);
      if (code === 0) resolvePromise(out);
      else reject(new Error(`${what} exited with ${code}`));
    });
  });
}

async function childTrain(spec: RunSpec, o: BenchOptions & { signal: AbortSignal }, data: string, run: string): Promise<void> {
  // The bench compares methods on one fixed schedule (the config's epochs), not each until its plateau.
  const args = [
    'train',
    '--fixed',
    // Two runs train at a time, one thread each.
    '--workers',
    '1',
    '--method',
    spec.method,
    '--data',
    data,
    '--out',
    run,
    '--seed',
    String(spec.seed),
    '--label',
    `${spec.method} s${spec.seed}`,
  ];
  // --set applies to every method; a field that belongs to another method (focusFrames for Uni-AdaFocus
  // in a bench of v2 and uni) goes only to the runs of that method.
  for (const [k, v] of Object.entries(flagsFor(spec.method, o.flags))) args.push('--set', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (o.quiet) args.push('--quiet');
  await childSaccade(args, o.signal, `saccade train --method ${spec.method} --seed ${spec.seed}`);
}

/** The config flags a bench passes to one method's runs: every flag but those that belong only to other methods. */
function flagsFor(method: string, flags: Record<string, unknown>): Record<string, unknown> {
  const own = configFields(methodVariant(method).config.method);
  return Object.fromEntries(Object.entries(flags).filter(([k]) => own.includes(k) || fieldOwners(k).length === 0));
}

/**
 * Why a finished run cannot stand for `method` at `seed` with these flags: each field of its stored
 * config (config.json) that differs from what the bench would train it with (the method's variant,
 * the seed, the flags that reach it), as "field: stored (asked ...)"; [] when it can be reused.
 */
export function reuseMismatch(stored: Record<string, unknown>, method: string, seed: number, flags: Record<string, unknown>): string[] {
  const asked: Record<string, unknown> = { ...methodVariant(method).config, ...flagsFor(method, flags), seed };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return Object.entries(asked)
    .filter(([k, v]) => !same(stored[k], v))
    .map(([k, v]) => `${k}: ${JSON.stringify(stored[k])} (asked ${JSON.stringify(v)})`);
}

/** `saccade speed` on the bundles in a child process: its JSON. */
async function childSpeed(bundles: readonly string[], data: string, signal: AbortSignal): Promise<SpeedSummary> {
  return JSON.parse(await childSaccade(['speed', ...bundles, '--data', data, '--json'], signal, 'saccade speed')) as SpeedSummary;
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const out = resolve(o.out);
  await mkdir(out, { recursive: true });
  const progress = createProgress({ ...(o.quiet ? { quiet: true } : {}), label: 'bench' });
  const data = resolve(o.data ?? join(out, 'data'));
  if (!existsSync(join(data, 'classInd.txt'))) {
    progress.note(`building Moving Fashion-MNIST (${o.trainVideos} + ${o.valVideos} videos) in ${data}`);
    await dataCommand({
      out: data,
      train: o.trainVideos,
      val: o.valVideos,
      frames: 16,
      size: 128,
      seed: 1,
      ...(o.hidden !== undefined ? { hidden: o.hidden } : {}),
      ...(o.reveal !== undefined ? { reveal: o.reveal } : {}),
      ...(o.source ? { source: o.source } : {}),
      quiet: o.quiet ?? false,
    });
  }
  // Every method with every seed: the comparisons (AdaFocus against uniform as much as against
  // random patches) are between means, each with its spread.
  const specs: RunSpec[] = o.methods.flatMap((method) => Array.from({ length: o.seeds }, (_, seed) => ({ method, seed })));
  const runDir = (s: RunSpec) => join(out, 'runs', `${s.method}-s${s.seed}`);
  const queue = specs.filter((s) => !existsSync(join(runDir(s), 'summary.json')));
  // A finished run is reused only if it was trained as this bench would train it.
  const stale: string[] = [];
  for (const s of specs.filter((x) => !queue.includes(x))) {
    const stored = JSON.parse(await readFile(join(runDir(s), 'config.json'), 'utf8')) as Record<string, unknown>;
    const diff = reuseMismatch(stored, s.method, s.seed, o.flags);
    if (diff.length > 0) stale.push(`${runDir(s)}: ${diff.join(', ')}`);
  }
  if (stale.length > 0)
    throw new UsageError(`finished runs in ${out} were trained otherwise than this bench asks (remove them, or give another --out):\n${stale.join('\n')}`);
  const trainedNow = queue.length;
  progress.note(`${specs.length} training runs (${specs.length - queue.length} already done), ${o.parallel} at a time`);
  const started = performance.now();
  // One failed run stops the others (they checkpoint and exit, as on Ctrl-C) before the error is
  // reported, so that no training process outlives the bench.
  const stop = new AbortController();
  o.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.max(1, o.parallel) }, async () => {
      while (queue.length > 0 && !stop.signal.aborted) {
        const s = queue.shift()!;
        try {
          await childTrain(s, { ...o, signal: stop.signal }, data, runDir(s));
        } catch (error) {
          if (!stop.signal.aborted) failures.push(error);
          stop.abort();
        }
      }
    }),
  );
  if (failures.length > 0) throw failures[0];
  if (o.signal?.aborted) throw new Error('interrupted');
  const trainWall = (performance.now() - started) / 1000;

  progress.note('evaluating every model in one process');
  const backend = await initBackend();
  const manifest = await readManifest(data);
  const rows: BenchRow[] = [];
  const exitCurves: BudgetPoint[][] = [];
  const uniExitCurves: BudgetPoint[][] = [];
  let exitTiming: BenchReport['exitTiming'];
  // One model loaded at a time; videos/s is timed afterwards, in a child process.
  for (const s of specs) {
    const model = await loadModel(join(runDir(s), 'model'));
    try {
      const summary = JSON.parse(await readFile(join(runDir(s), 'summary.json'), 'utf8')) as TrainSummary;
      const c = model.net.config;
      const valSet = await loadSplit(data, 'val', c);
      const e = evaluate(model.net, valSet);
      const inPatch = itemInPatch(manifest, (i) => valSet.name(i), e, c);
      const onVisible = focusOnVisible(manifest, (i) => valSet.name(i), e);
      rows.push({
        method: s.method,
        seed: s.seed,
        accuracy: 100 * e.accuracy,
        firstStep: 100 * e.accuracyPerStep[0]!,
        gflops: model.meta.gflopsPerVideo,
        vps: NaN,
        trainSeconds: summary.trainSeconds,
        ...(inPatch !== undefined ? { inPatch } : {}),
        ...(onVisible ? { onVisible } : {}),
      });
      if (s.method === 'uni') uniExitCurves.push(exitBudgetCurve(model, evaluate(model.net, await loadSplit(data, 'train', c)), e));
      if (s.method === 'v2') {
        // Every seed's budget curve (thresholds from its training-set logits); seed 0's thresholds
        // go into its bundle and its step-by-step classify is timed.
        // loadSplit decodes the training split once for every seed.
        const cal = evaluate(model.net, await loadSplit(data, 'train', c));
        exitCurves.push(exitBudgetCurve(model, cal, e));
        if (s.seed === 0) {
          const full = model.meta.gflopsPerVideo;
          const exit = calibrateExits(
            model.net,
            cal,
            [0.25, 0.4, 0.5, 0.67, 0.8].map((f) => f * full),
          );
          await saveBundle(model, join(runDir(s), 'model'), { exit });
          // Early exit saves real compute: classify the same videos step by step with thresholds
          // that never pass and with the budget's, and time it (and, for reference, without a
          // budget, which runs every step at once).
          const n = Math.min(60, valSet.length);
          const frames = (i: number) => ({ data: valSet.video(i), frames: c.frames, width: c.frameSize, height: c.frameSize });
          const timed = async (thresholds?: number[]) => {
            await model.classify(frames(0), thresholds ? { thresholds } : {});
            const t0 = performance.now();
            let gflops = 0;
            let correct = 0;
            for (let i = 0; i < n; i++) {
              const r = await model.classify(frames(i), thresholds ? { thresholds } : {});
              gflops += r.gflops;
              if (r.index === valSet.label(i)) correct++;
            }
            return { msPerVideo: (performance.now() - t0) / n, gflopsPerVideo: gflops / n, accuracy: correct / n };
          };
          const half = exit.budgets.find((b) => b.targetGflops >= 0.5 * full - 1e-12)!;
          exitTiming = {
            videos: n,
            targetGflops: half.targetGflops,
            full: await timed(new Array<number>(model.meta.steps).fill(Infinity)),
            early: await timed(half.thresholds),
            allAtOnce: await timed(),
          };
        }
      }
    } finally {
      model.dispose();
    }
  }
  // Throughput in a phase of its own, in a child process (`saccade speed`) that holds nothing but
  // the bundles and 8 videos: this process's heap, grown by every split it evaluated, moved the
  // figures by up to a fifth between runs. Every model is timed in turn, round after round, so that
  // drift spreads over all models instead of landing on whichever was measured at the wrong moment.
  const speedRuns = o.speedRuns ?? 3;
  progress.note(`measuring videos/s of every model, interleaved, in ${speedRuns === 1 ? 'a child process' : `${speedRuns} child processes in turn (median)`}`);
  const timings: SpeedSummary[] = [];
  for (let i = 0; i < speedRuns; i++) {
    timings.push(
      await childSpeed(
        specs.map((s) => join(runDir(s), 'model')),
        data,
        o.signal ?? new AbortController().signal,
      ),
    );
  }
  rows.forEach((r, i) => {
    r.vpsRuns = timings.map((t) => t.bundles[i]!.videosPerSecond);
    r.vps = median(r.vpsRuns);
  });
  const groups = summariseGroups(rows);
  const exitCurve = exitCurves.length > 0 ? meanCurve(exitCurves) : undefined;
  const checks = benchChecks(groups, exitCurves, exitTiming, uniExitCurves);
  const uniExitCurve = uniExitCurves.length > 0 ? meanCurve(uniExitCurves) : undefined;
  const report: BenchReport = {
    data,
    backend: backend.name,
    trainWallSeconds: trainWall,
    groups,
    ...(exitCurve ? { exitCurves, exitCurve } : {}),
    ...(uniExitCurve ? { uniExitCurves, uniExitCurve } : {}),
    ...(exitTiming ? { exitTiming } : {}),
    checks,
    flags: o.flags,
  };
  const lines = [
    '# Saccade benchmark: Moving Fashion-MNIST',
    '',
    `Data: ${data}. Backend: ${backend.name}. ${trainedNow > 0 ? `Training wall time of the ${trainedNow} runs trained now: ${(trainWall / 60).toFixed(1)} min (${o.parallel} at a time)` : 'All training runs reused from earlier invocations (their train times are in the table)'}. Config flags: ${JSON.stringify(o.flags)}.`,
    '',
    markdownTable(
      groups.map((g) => ({
        model: METHOD_LABEL[g.method] ?? g.method,
        seeds: String(g.seeds),
        accuracy: `${g.accuracyMean.toFixed(1)} ± ${g.accuracyStd.toFixed(1)} (${g.accuracies.map((a) => a.toFixed(1)).join(', ')})`,
        first: g.firstStepAccuracyMean,
        gflops: g.gflopsPerVideo,
        vps: g.videosPerSecond,
        train: g.trainSecondsMean,
        inPatch: g.itemInPatch !== undefined ? g.itemInPatch.toFixed(1) : '-',
      })),
      [
        { key: 'model' },
        { key: 'seeds' },
        { key: 'accuracy', title: 'val accuracy (%)' },
        { key: 'first', title: 'after step 1 (%)', digits: 1 },
        { key: 'gflops', title: 'GFLOPs / video', digits: 3 },
        { key: 'vps', title: 'videos/s', digits: 1 },
        { key: 'train', title: 'train time (s)', digits: 0 },
        { key: 'inPatch', title: 'item in patch (%)' },
      ],
    ).trimEnd(),
    '',
    'Item in patch: the share of validation frames whose patch contains the centre of the moving item (from the manifest); it shows whether a policy looks at the item.',
    '',
    ...exitTable('AdaFocusV2', exitCurves),
    ...exitTable('Uni-AdaFocus', uniExitCurves),
    ...checks.map((c) => `- ${c}`),
    '',
  ];
  await writeFileAtomic(join(out, 'report.md'), lines.join('\n'));
  await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const series = groups.map((g) => ({ name: METHOD_LABEL[g.method] ?? g.method, points: [{ gflops: g.gflopsPerVideo, accuracy: g.accuracyMean }] }));
  if (exitCurve) {
    series.push({ name: 'AdaFocusV2 + early exit', points: exitCurve.map((p) => ({ gflops: p.meanGflops, accuracy: 100 * p.accuracy })) });
    series.push({ name: 'random exit', points: exitCurve.map((p) => ({ gflops: p.meanGflops, accuracy: 100 * p.randomAccuracy })) });
  }
  if (uniExitCurve) {
    series.push({ name: 'Uni-AdaFocus + early exit', points: uniExitCurve.map((p) => ({ gflops: p.meanGflops, accuracy: 100 * p.accuracy })) });
    series.push({ name: 'Uni-AdaFocus, random exit', points: uniExitCurve.map((p) => ({ gflops: p.meanGflops, accuracy: 100 * p.randomAccuracy })) });
  }
  await writeFileAtomic(join(out, 'accuracy-vs-gflops.svg'), await accuracyVsGflopsSvg(series, { title: 'Moving Fashion-MNIST' }));
  progress.stop();
  return report;
}

/** The report's table of a method's early-exit curve (mean over the seeds, then seed by seed); none without curves. */
function exitTable(label: string, curves: readonly BudgetPoint[][]): string[] {
  if (curves.length === 0) return [];
  const mean = meanCurve(curves);
  return [
    `Early exit (${label}, every seed: ${curves.length}; max-logit thresholds found on each model's training-set logits for each target mean GFLOPs; random exit: the expected accuracy when the same numbers of videos exit at each step, chosen at random; mean over the seeds, then seed by seed):`,
    '',
    markdownTable(
      mean.map((p, k) => ({
        target: p.targetGflops,
        gflops: p.meanGflops,
        accuracy: p.accuracy,
        random: p.randomAccuracy,
        seeds: curves.map((c) => `${(100 * c[k]!.accuracy).toFixed(1)} / ${(100 * c[k]!.randomAccuracy).toFixed(1)}`).join(', '),
      })),
      [
        { key: 'target', title: 'target GFLOPs', digits: 3 },
        { key: 'gflops', title: 'mean GFLOPs', digits: 3 },
        { key: 'accuracy', title: 'accuracy (%)', digits: 1, scale: 100 },
        { key: 'random', title: 'random exit: accuracy (%)', digits: 1, scale: 100 },
        { key: 'seeds', title: 'per seed: exit / random (%)' },
      ],
    ).trimEnd(),
    '',
  ];
}

export function reportText(r: BenchReport): string {
  return [
    markdownTable(
      r.groups.map((g) => ({
        model: METHOD_LABEL[g.method] ?? g.method,
        accuracy: `${g.accuracyMean.toFixed(1)}${g.seeds > 1 ? ` ± ${g.accuracyStd.toFixed(1)}` : ''}`,
        gflops: g.gflopsPerVideo,
        vps: g.videosPerSecond,
      })),
      [
        { key: 'model' },
        { key: 'accuracy', title: 'val accuracy (%)' },
        { key: 'gflops', title: 'GFLOPs / video', digits: 3 },
        { key: 'vps', title: 'videos/s', digits: 1 },
      ],
    ).trimEnd(),
    '',
    ...r.checks.map((c) => `- ${c}`),
  ].join('\n');
}
