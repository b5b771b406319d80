/**
 * The Moving Fashion-MNIST benchmark of issue 5: AdaFocusV2 beside the baselines on the same data
 * and backbones, every figure measured in one run.
 *
 *   node dist/bench/mfm.js [--out runs/bench] [--data DIR] [--train 600] [--val 200]
 *                          [--seeds 3] [--parallel 2] [--config '{"epochs":4}'] [--only adafocus_v2,uniform]
 *
 * Trains each model in a child process (wasm runs one thread, so --parallel 2 uses both cores),
 * saves its bundle, then measures every bundle's accuracy, GFLOPs per video and videos/s in this
 * one process (same backend), and writes report.md and report.json into --out.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { initBackend } from '@saccade/tensor';
import { buildMovingFashionMnist } from '@saccade/video';

import { evaluate, loadModel, loadVideoDataset, parseConfig, saveBundle, train, type TrainConfigInput, type VideoDataset } from '../src/index.js';

interface RunSpec {
  name: string;
  seed: number;
  config: TrainConfigInput;
}

interface RunResult {
  name: string;
  seed: number;
  accuracy: number;
  accuracyPerStep: number[];
  trainSeconds: number;
  epochs: number;
  bundle: string;
}

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const out = resolve(arg('out', 'runs/bench')!);
const dataDir = resolve(arg('data', join(out, 'data'))!);

async function datasets(config: ReturnType<typeof parseConfig>): Promise<[VideoDataset, VideoDataset]> {
  const opts = { frames: config.frames, size: config.frameSize };
  return [await loadVideoDataset(dataDir, { split: 'train', ...opts }), await loadVideoDataset(dataDir, { split: 'val', ...opts })];
}

/** Child: train one model and save its bundle and result. */
async function runOne(spec: RunSpec): Promise<void> {
  const backend = await initBackend(process.env.SACCADE_BACKEND || 'wasm');
  const config = parseConfig({ ...spec.config, seed: spec.seed });
  const [trainSet, valSet] = await datasets(config);
  const bundle = join(out, 'models', `${spec.name}-s${spec.seed}`);
  const r = await train({
    config,
    train: trainSet,
    val: valSet,
    onEpoch: (e) => console.log(`[${spec.name} s${spec.seed}] epoch ${e.epoch}: loss ${e.trainLoss.toFixed(3)}, val ${(100 * (e.val?.accuracy ?? 0)).toFixed(1)}% (${e.seconds.toFixed(0)} s)`),
  });
  const e = evaluate(r.net, valSet);
  await saveBundle(r.net, bundle, { classes: r.classes, metrics: { valAccuracy: e.accuracy, trainSeconds: r.seconds, backend: backend.name } });
  r.net.dispose();
  const result: RunResult = { name: spec.name, seed: spec.seed, accuracy: e.accuracy, accuracyPerStep: e.accuracyPerStep, trainSeconds: r.seconds, epochs: r.history.length, bundle };
  await writeFile(join(bundle, 'result.json'), JSON.stringify(result, null, 2));
}

function child(spec: RunSpec): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--out', out, '--data', dataDir, '--run', JSON.stringify(spec)], { stdio: 'inherit' });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`run ${spec.name} s${spec.seed} exited with ${code}`))));
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));

async function main(): Promise<void> {
  const single = arg('run');
  if (single) return runOne(JSON.parse(single) as RunSpec);
  const base = JSON.parse(arg('config', '{}')!) as TrainConfigInput;
  const seeds = Number(arg('seeds', '3'));
  const parallel = Number(arg('parallel', '2'));
  const only = arg('only')?.split(',');
  await mkdir(out, { recursive: true });
  if (!existsSync(join(dataDir, 'classInd.txt'))) {
    console.log(`building Moving Fashion-MNIST in ${dataDir}`);
    await buildMovingFashionMnist({ out: dataDir, trainVideos: Number(arg('train', '600')), valVideos: Number(arg('val', '200')), seed: 1 });
  }
  const seedList = Array.from({ length: seeds }, (_, i) => i);
  const specs: RunSpec[] = [
    ...seedList.map((seed) => ({ name: 'adafocus_v2', seed, config: { ...base, method: 'adafocus_v2' as const, patches: 'policy' as const } })),
    ...seedList.map((seed) => ({ name: 'random_patches', seed, config: { ...base, method: 'adafocus_v2' as const, patches: 'random' as const } })),
    ...seedList.map((seed) => ({ name: 'centre_patches', seed, config: { ...base, method: 'adafocus_v2' as const, patches: 'centre' as const } })),
    { name: 'uniform', seed: 0, config: { ...base, method: 'uniform' as const, microBatch: 2 } },
    { name: 'glance', seed: 0, config: { ...base, method: 'glance' as const } },
  ].filter((s) => !only || only.includes(s.name));
  const started = performance.now();
  const queue = specs.filter((s) => !existsSync(join(out, 'models', `${s.name}-s${s.seed}`, 'result.json')));
  console.log(`${specs.length} runs, ${specs.length - queue.length} already done, ${parallel} at a time`);
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (queue.length > 0) await child(queue.shift()!);
    }),
  );
  const trainWall = (performance.now() - started) / 1000;

  // Measure every bundle in this one process: accuracy, GFLOPs and throughput on the same backend.
  const backend = await initBackend(process.env.SACCADE_BACKEND || 'wasm');
  const results: (RunResult & { gflopsPerVideo: number; videosPerSecond: number })[] = [];
  let valSet: VideoDataset | undefined;
  for (const s of specs) {
    const dir = join(out, 'models', `${s.name}-s${s.seed}`);
    const r = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as RunResult;
    const model = await loadModel(dir);
    valSet ??= (await datasets(model.net.config))[1];
    const e = evaluate(model.net, valSet);
    const videos = Array.from({ length: 8 }, (_, i) => valSet!.video(i));
    model.logitsBatch(videos);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      model.logitsBatch(videos);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    results.push({ ...r, accuracy: e.accuracy, gflopsPerVideo: model.meta.gflopsPerVideo, videosPerSecond: videos.length / (times[2]! / 1000) });
    model.dispose();
  }
  const groups = [...new Set(results.map((r) => r.name))].map((name) => {
    const rs = results.filter((r) => r.name === name);
    const acc = rs.map((r) => 100 * r.accuracy);
    return {
      name,
      seeds: rs.length,
      accuracyMean: mean(acc),
      accuracyStd: std(acc),
      accuracies: acc,
      gflopsPerVideo: rs[0]!.gflopsPerVideo,
      videosPerSecond: mean(rs.map((r) => r.videosPerSecond)),
      trainSecondsMean: mean(rs.map((r) => r.trainSeconds)),
    };
  });
  const by = (n: string) => groups.find((g) => g.name === n);
  const ada = by('adafocus_v2');
  const uni = by('uniform');
  const checks: string[] = [];
  if (ada && by('random_patches') && by('centre_patches')) {
    for (const other of [by('random_patches')!, by('centre_patches')!]) {
      const margin = ada.accuracyMean - other.accuracyMean;
      const spread = ada.accuracyStd + other.accuracyStd;
      checks.push(`learned policy vs ${other.name}: ${margin >= 0 ? '+' : ''}${margin.toFixed(1)} points (spreads ${ada.accuracyStd.toFixed(1)} + ${other.accuracyStd.toFixed(1)} = ${spread.toFixed(1)}): ${margin > spread ? 'margin outside the spread' : 'NOT outside the spread'}`);
    }
  }
  if (ada && uni) {
    const gRatio = uni.gflopsPerVideo / ada.gflopsPerVideo;
    const sRatio = ada.videosPerSecond / uni.videosPerSecond;
    checks.push(`AdaFocusV2 ${ada.accuracyMean.toFixed(1)}% vs uniform ${uni.accuracyMean.toFixed(1)}%: ${(ada.accuracyMean - uni.accuracyMean).toFixed(1)} points at 1/${gRatio.toFixed(2)} of its GFLOPs (target: within 2 points at <= 1/4)`);
    checks.push(`throughput ratio ${sRatio.toFixed(2)}x vs GFLOPs ratio ${gRatio.toFixed(2)}x: ${(sRatio / gRatio).toFixed(2)} of it (target >= 0.75)`);
  }
  const config = parseConfig(base);
  const lines = [
    `# Moving Fashion-MNIST benchmark`,
    '',
    `Data: ${dataDir} (T=${config.frames}, ${config.frameSize}px). Backend: ${backend.name}. Training wall time of all runs: ${(trainWall / 60).toFixed(1)} min (${parallel} at a time).`,
    '',
    '| model | seeds | val accuracy (%) | GFLOPs / video | videos/s | train time (s) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...groups.map((g) => `| ${g.name} | ${g.seeds} | ${g.accuracyMean.toFixed(1)} ± ${g.accuracyStd.toFixed(1)} (${g.accuracies.map((a) => a.toFixed(1)).join(', ')}) | ${g.gflopsPerVideo.toFixed(3)} | ${g.videosPerSecond.toFixed(1)} | ${g.trainSecondsMean.toFixed(0)} |`),
    '',
    ...checks.map((c) => `- ${c}`),
    '',
  ];
  await writeFile(join(out, 'report.md'), lines.join('\n'));
  await writeFile(join(out, 'report.json'), JSON.stringify({ config: base, backend: backend.name, trainWallSeconds: trainWall, groups, runs: results, checks }, null, 2));
  console.log(lines.join('\n'));

}

await main();
