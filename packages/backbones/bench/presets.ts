/**
 * Parameters, GFLOPs, and wasm forward / training-step time of the backbones at the sizes the
 * Moving Fashion-MNIST benchmark uses (a video = 16 frames: batch 16), plus the torchvision
 * models' published figures for reference.
 *
 *   node dist/bench/presets.js [--batch 16] [--steps 5]
 */
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@saccade/tensor';

import { countFlops, countParams, createBackbone } from '../src/index.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '16' }, steps: { type: 'string', default: '5' } } });
const batch = Number(values.batch);
const steps = Number(values.steps);

const info = await initBackend('wasm');
console.log(`backbones on ${info.name}: batch ${batch} (one 16-frame video), median of ${steps} runs after warm-up`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[] = [
  '| backbone | input | params (10-class head) | GFLOPs / frame | forward (ms) | train step (ms) |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
];
for (const [name, size] of [
  ['mobilenet_v2_glance', 32],
  ['resnet_small', 48],
  ['mobilenet_v2', 96],
  ['resnet18', 96],
] as const) {
  const b = createBackbone(name, { inputSize: size, numClasses: 10 });
  const flops = countFlops(b.model);
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2), 10).toFloat());
  const optimizer = tf.train.sgd(0.01);
  const logitsOf = (training: boolean) => (b.model.apply(x, { training }) as tf.Tensor[])[2]!;
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logitsOf(true)) as tf.Scalar);
    });
  const forward = () => tf.tidy(() => logitsOf(false).dataSync());
  forward();
  step();
  const fwd: number[] = [];
  const train: number[] = [];
  for (let i = 0; i < steps; i++) {
    let t = performance.now();
    forward();
    fwd.push(performance.now() - t);
    t = performance.now();
    step();
    train.push(performance.now() - t);
  }
  rows.push(
    `| ${name} | ${size}x${size} | ${countParams(b.model).toLocaleString('en-US')} | ${flops.gflops.toFixed(4)} | ${median(fwd).toFixed(1)} | ${median(train).toFixed(1)} |`,
  );
  tf.dispose([x, y]);
  optimizer.dispose();
  b.model.dispose();
}
console.log(rows.join('\n'));

console.log('\nPublished figures (1000-class head, 224x224):');
for (const name of ['mobilenet_v2', 'resnet18', 'resnet34', 'resnet50']) {
  const b = createBackbone(name, { numClasses: 1000 });
  console.log(`  ${name.padEnd(13)} params ${countParams(b.model).toLocaleString('en-US').padStart(11)}   GFLOPs ${countFlops(b.model).gflops.toFixed(4)}`);
  if (name === 'resnet50') {
    for (const s of [96, 128, 160, 192]) console.log(`  resnet50 patch ${s}: GFLOPs ${countFlops(b.model, [s, s]).gflops.toFixed(4)}`);
  }
  b.model.dispose();
}
