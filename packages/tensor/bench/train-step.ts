/**
 * Engine benchmark: training-step and forward time of a ResNet basic-block stack and a MobileNetV2
 * inverted-residual stack on wasm (with Saccade's kernels) and on the pure-JS cpu backend, in one
 * process, with the same model and data; plus a per-kernel profile of the wasm step.
 *
 *   node dist/bench/train-step.js [--batch 32] [--size 96] [--steps 5] [--cpu-steps 1] [--skip-cpu]
 *     [--model all|resnet|mobilenet] [--top 12] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';

import { initBackend } from '../src/index.js';
import { mobilenetV2Stack, resnetStack } from './models.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '96' },
    steps: { type: 'string', default: '5' },
    'cpu-steps': { type: 'string', default: '1' },
    json: { type: 'string' },
    'skip-cpu': { type: 'boolean', default: false },
    model: { type: 'string', default: 'all' },
    top: { type: 'string', default: '12' },
  },
});
const batch = Number(values.batch);
const size = Number(values.size);
const steps = Number(values.steps);
const cpuSteps = Number(values['cpu-steps']);

interface Timing {
  stepMs: number[];
  /** Inference forward (model.predict: batch norm with its moving statistics). */
  forwardMs: number[];
  /** The step's own forward pass: training mode (batch statistics), no gradient tape. */
  trainForwardMs: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function data(classes: number) {
  return tf.tidy(() => {
    const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 42);
    const labels = tf.randomUniform([batch], 0, classes, 'int32', 43);
    return { x, y: tf.oneHot(labels, classes).toFloat() };
  });
}

async function measure(build: () => tf.LayersModel, backend: string, n: number, warmUp: boolean): Promise<Timing> {
  await tf.setBackend(backend);
  const model = build();
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  const { x, y } = data(10);
  if (warmUp) {
    // First calls allocate, create XNNPACK operators and compile. (The cpu backend has nothing of
    // the kind worth a minutes-long extra step.)
    await model.trainOnBatch(x, y);
    tf.tidy(() => model.predict(x));
    tf.tidy(() => model.apply(x, { training: true }) as tf.Tensor);
  }
  const timing: Timing = { stepMs: [], forwardMs: [], trainForwardMs: [] };
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await model.trainOnBatch(x, y);
    timing.stepMs.push(performance.now() - t);
    t = performance.now();
    const out = model.predict(x) as tf.Tensor;
    await out.data();
    out.dispose();
    timing.forwardMs.push(performance.now() - t);
    t = performance.now();
    const train = model.apply(x, { training: true }) as tf.Tensor;
    await train.data();
    train.dispose();
    timing.trainForwardMs.push(performance.now() - t);
  }
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  return timing;
}

async function profile(build: () => tf.LayersModel) {
  await tf.setBackend('wasm');
  const model = build();
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  const { x, y } = data(10);
  await model.trainOnBatch(x, y);
  // tf.profile reuses one result object, so each profile is summarised before the next.
  const step = summarise(
    await tf.profile(async () => {
      await model.trainOnBatch(x, y);
    }),
  );
  const forward = summarise(
    await tf.profile(() => {
      tf.tidy(() => model.predict(x));
    }),
  );
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  return { step, forward };
}

function summarise(info: Awaited<ReturnType<typeof tf.profile>>) {
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    // tf.fused ops record an extra "<op>__op" entry around the kernel they run: not kernel time.
    if (k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    total += ms;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  return {
    totalKernelMs: total,
    kernels: [...byKernel.entries()].map(([name, e]) => ({ name, ms: e.ms, calls: e.calls, share: e.ms / total })).sort((a, b) => b.ms - a.ms),
  };
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

const backend = await initBackend('wasm');
console.log(`Saccade engine benchmark: batch ${batch}, ${size}x${size}x3, ${steps} wasm steps, ${values['skip-cpu'] ? 'no' : cpuSteps} cpu steps`);
console.log(`backend: ${backend.name} (${backend.reason}); Saccade kernels: ${backend.kernels.length}`);

const results: Record<string, unknown> = { batch, size, node: process.version };
for (const [name, build] of [
  ['ResNet basic-block stack', () => resnetStack(size)],
  ['MobileNetV2 inverted-residual stack', () => mobilenetV2Stack(size)],
] as const) {
  if (values.model !== 'all' && !name.toLowerCase().startsWith(String(values.model).toLowerCase())) continue;
  const wasm = await measure(build, 'wasm', steps, true);
  const cpu = values['skip-cpu'] ? undefined : await measure(build, 'cpu', cpuSteps, false);
  const prof = await profile(build);
  const wStep = median(wasm.stepMs);
  const wFwd = median(wasm.forwardMs);
  const wTrainFwd = median(wasm.trainForwardMs);
  console.log(`\n## ${name}`);
  console.log(
    `wasm  train step ${fmt(wStep)}   forward ${fmt(wFwd)} (training mode ${fmt(wTrainFwd)})   ` +
      `step/forward ${(wStep / wFwd).toFixed(2)}x (vs training-mode forward ${(wStep / wTrainFwd).toFixed(2)}x)`,
  );
  if (cpu) {
    const cStep = median(cpu.stepMs);
    const cFwd = median(cpu.forwardMs);
    console.log(`cpu   train step ${fmt(cStep)}   forward ${fmt(cFwd)} (training mode ${fmt(median(cpu.trainForwardMs))})`);
    console.log(`wasm vs cpu: train step ${(cStep / wStep).toFixed(1)}x faster, forward ${(cFwd / wFwd).toFixed(1)}x faster`);
  }
  for (const [what, p] of [
    ['one train step', prof.step],
    ['one forward (inference)', prof.forward],
  ] as const) {
    console.log(`wasm per-kernel profile of ${what} (${fmt(p.totalKernelMs)} in kernels):`);
    for (const k of p.kernels.slice(0, what === 'one train step' ? Number(values.top) : Math.min(6, Number(values.top)))) {
      console.log(`  ${k.name.padEnd(36)} ${fmt(k.ms).padStart(10)}  ${(k.share * 100).toFixed(1).padStart(5)}%  (${k.calls} calls)`);
    }
  }
  results[name] = {
    wasm,
    cpu,
    profile: prof,
    wasmStepMs: wStep,
    wasmForwardMs: wFwd,
    wasmTrainForwardMs: wTrainFwd,
    cpuStepMs: cpu ? median(cpu.stepMs) : undefined,
  };
}
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
