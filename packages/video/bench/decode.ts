/**
 * Decoding benchmarks (figures in the README):
 * 1. frames/s of decode + resize to 128x128 through Saccade (rgb24 over a pipe) against
 *    `ffmpeg -i f -vf scale=128:128 -f null -` doing the same work on the same file;
 * 2. sampling 16 frames from a 10-minute 720p video, by select and by seek, against decoding it all;
 * 3. the fraction of a training step spent waiting for the loader.
 *
 *   node dist/bench/decode.js [--minutes 10] [--work-dir /tmp/saccade-bench]
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@saccade/tensor';

import { batchToTensor, buildMovingFashionMnist, decodeFrames, loadBatches, locateFfmpeg, probe, readList } from '../src/index.js';
import { run } from '../src/ffmpeg.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'work-dir': { type: 'string', default: '/tmp/saccade-video-bench' },
    'loader-only': { type: 'boolean', default: false },
    'throughput-only': { type: 'boolean', default: false },
  },
});
const work = values['work-dir']!;
await mkdir(work, { recursive: true });
const { ffmpeg } = await locateFfmpeg();
console.log(`ffmpeg: ${ffmpeg.path} (${ffmpeg.source}; ${ffmpeg.version})`);

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function makeClip(file: string, duration: number): Promise<void> {
  if (existsSync(file)) return;
  const t0 = performance.now();
  const r = await run(ffmpeg.path, [
    '-hide_banner',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=1280x720:rate=30`,
    '-t',
    String(duration),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '60',
    '-pix_fmt',
    'yuv420p',
    '-y',
    file,
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  console.log(`made ${file} (${duration} s of 720p30) in ${seconds(t0).toFixed(1)} s`);
}

// 1. Throughput against ffmpeg alone.
if (!values['loader-only']) {
  const short = join(work, 'clip-720p-20s.mp4');
  await makeClip(short, 20);
  const info = await probe(short);
  const rounds = 7;
  const ours: number[] = [];
  const alone: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    const out = await decodeFrames(short, { width: 128, height: 128, info });
    ours.push(out.frames / seconds(t0));
    t0 = performance.now();
    const r = await run(ffmpeg.path, [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-i',
      short,
      '-vf',
      'scale=128:128:flags=area',
      '-pix_fmt',
      'rgb24',
      '-f',
      'null',
      '-',
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
    alone.push(info.frames / seconds(t0));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n1. decode + resize to 128x128 (${info.frames} frames of 720p H.264, median of ${rounds}):`);
  console.log(
    `   Saccade decodeFrames ${med(ours).toFixed(0)} frames/s; ffmpeg -f null ${med(alone).toFixed(0)} frames/s; ratio ${(med(ours) / med(alone)).toFixed(2)}`,
  );

  // 2. Sampling from a long video.
  if (!values['throughput-only']) {
    const minutes = Number(values.minutes);
    const long = join(work, `clip-720p-${minutes}min.mp4`);
    await makeClip(long, minutes * 60);
    const longInfo = await probe(long);
    const indices = Array.from({ length: 16 }, (_, i) => Math.floor(((i + 0.5) * longInfo.frames) / 16));
    console.log(`\n2. 16 frames from ${minutes} min of 720p (${longInfo.frames} frames), resized to 128x128:`);
    for (const method of ['seek', 'select'] as const) {
      const t0 = performance.now();
      await decodeFrames(long, { indices, width: 128, height: 128, method, info: longInfo });
      console.log(`   ${method.padEnd(6)} ${seconds(t0).toFixed(2)} s`);
    }
    {
      const t0 = performance.now();
      const r = await run(ffmpeg.path, ['-hide_banner', '-nostdin', '-v', 'error', '-i', long, '-vf', 'scale=128:128:flags=area', '-f', 'null', '-']);
      if (r.code !== 0) throw new Error(r.stderr);
      console.log(`   decoding all of it (ffmpeg -f null) ${seconds(t0).toFixed(2)} s`);
    }
  }
}

// 3. Loader wait during training.
await initBackend('wasm');
const data = join(work, 'mfm');
if (!existsSync(join(data, 'manifest.json'))) await buildMovingFashionMnist({ out: data, trainVideos: 64, valVideos: 0, seed: 1 });
const entries = await readList(join(data, 'train_list.txt'), { numClasses: 10 });
/** One training pass over the data set with a model of the given width; returns the waiting share. */
async function feed(size: number, width: number) {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters: width, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tf.layers.conv2d({ filters: 2 * width, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tf.layers.conv2d({ filters: 4 * width, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const optimizer = tf.train.sgd(0.01);
  let waiting = 0;
  let computing = 0;
  let t0 = performance.now();
  for await (const batch of loadBatches({ root: data, entries, frames: 16, size, batchSize: 4, mode: 'train', seed: 2, prefetch: 2 })) {
    waiting += performance.now() - t0;
    const c0 = performance.now();
    tf.tidy(() => {
      const x = tf.reshape(batchToTensor(batch), [-1, size, size, 3]);
      const y = tf.oneHot(
        tf.tensor1d(
          batch.labels.flatMap((l) => Array(16).fill(l[0])),
          'int32',
        ),
        10,
      );
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar);
    });
    computing += performance.now() - c0;
    t0 = performance.now();
  }
  model.dispose();
  optimizer.dispose();
  const steps = Math.floor(entries.length / 4);
  console.log(
    `   ${size}x${size}, width ${width}: ${(computing / steps).toFixed(0)} ms of compute per step; waiting ${(waiting / 1000).toFixed(2)} s of ${((waiting + computing) / 1000).toFixed(2)} s: ${((100 * waiting) / (waiting + computing)).toFixed(1)}% waiting for data`,
  );
}
if (!values['throughput-only']) {
  console.log(`\n3. loader feeding training steps (4 videos x 16 frames per step, prefetch 2, 2 ffmpeg decoders, multi-scale crop + flip):`);
  await feed(64, 16);
  await feed(128, 32);
}
if (process.env.SACCADE_BENCH_CLEAN) await rm(work, { recursive: true, force: true });
