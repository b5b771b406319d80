/**
 * Memory over many classifications: classify a video file (ffmpeg decode + step-by-step inference)
 * N times in a row with one loaded bundle and print tf.memory().numTensors and the process RSS
 * along the way.
 *
 *   node dist/bench/memory.js --model runs/bench/models/adafocus_v2-s0 --video clip.mp4 [--count 500]
 */
import { initBackend } from '@saccade/tensor';
import * as tf from '@tensorflow/tfjs';

import { loadModel } from '../src/index.js';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const backend = await initBackend(process.env.SACCADE_BACKEND || 'wasm');
const model = await loadModel(arg('model')!);
const video = arg('video')!;
const count = Number(arg('count', '500'));
const mb = () => process.memoryUsage().rss / 2 ** 20;
// Warm-up (first calls allocate kernels and wasm memory), then the measured run.
for (let i = 0; i < 10; i++) await model.classify(video);
const start = { tensors: tf.memory().numTensors, rss: mb() };
console.log(`backend ${backend.name}; after warm-up: ${start.tensors} tensors, RSS ${start.rss.toFixed(0)} MiB`);
const started = performance.now();
const rows: string[] = [];
for (let i = 1; i <= count; i++) {
  // Alternate full runs and early exits so that both paths are exercised.
  await model.classify(video, i % 2 ? {} : { thresholds: new Array(model.meta.steps).fill(-Infinity) });
  if (i % 100 === 0 || i === count) rows.push(`| ${i} | ${tf.memory().numTensors} | ${mb().toFixed(0)} |`);
}
const seconds = (performance.now() - started) / 1000;
console.log(['| classifications | tensors | RSS (MiB) |', '| --- | --- | --- |', `| 0 | ${start.tensors} | ${start.rss.toFixed(0)} |`, ...rows].join('\n'));
console.log(
  `${count} classifications in ${seconds.toFixed(1)} s (${((1000 * seconds) / count).toFixed(1)} ms each, decode included); tensors ${start.tensors} -> ${tf.memory().numTensors}`,
);
model.dispose();
if (tf.memory().numTensors !== 0) process.exitCode = 1;
