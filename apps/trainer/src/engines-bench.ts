/**
 * The engines side by side on this machine, in one run (`npm run bench:engines`):
 *
 * - classify ms per video on tfjs (the backend initBackend picks: wasm here) and on ONNX Runtime
 *   (1 and 2 threads), from decoded frames, for the demo model (all steps, and step by step under
 *   its middle calibrated budget) and for the paper's AdaFocusV2 configuration (MobileNetV2 glance
 *   at 224 on 16 frames, ResNet-50 focus on 16 patches of 128, the 2048-wide policy GRU, a
 *   1024-wide classifier, 200 classes; random weights: speed only), also with decoding (ffmpeg);
 * - the bare backbones of that configuration on ONNX Runtime (batch 16), as Saccade exports them
 *   and as torch.onnx exports torchvision's, and PyTorch's own time for them (1 and 2 threads)
 *   where Debian's python3-torch and python3-torchvision are installed;
 * - training samples/s on 1 and 2 threads (`train({ workers })`), the demo model's configuration,
 *   with its own micro-batches (0: the batch split between the threads) and with micro-batches of 2;
 * - memory over many classifies on either engine: tensors, ONNX sessions, RSS.
 *
 * Prints the figures with the machine and its load; `--out FILE` writes them as JSON.
 *
 *   npm run bench:engines -- [--runs 7] [--paper-runs 5] [--memory-runs 500] [--train-steps 10] [--train-rounds 3] [--train-micro-batches 0,2] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';
import { exportLayersModel, OnnxRuntime, type FloatTensor } from '@saccade/onnx';
import {
  createVideoNet,
  datasetFromArrays,
  decodeVideo,
  loadModel,
  saveBundle,
  train,
  type ClassifyOptions,
  type FramesInput,
  type SaccadeModel,
} from '@saccade/sdk';
import { PAPER_V2 } from '@saccade/sdk/internal';
import { initBackend } from '@saccade/tensor';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'paper-runs': { type: 'string', default: '5' },
    'memory-runs': { type: 'string', default: '500' },
    'train-steps': { type: 'string', default: '10' },
    'train-rounds': { type: 'string', default: '3' },
    'train-micro-batches': { type: 'string', default: '0,2' },
    out: { type: 'string' },
  },
});
const runs = Number(values.runs);
const paperRuns = Number(values['paper-runs']);
const memoryRuns = Number(values['memory-runs']);
const trainSteps = Number(values['train-steps']);
const trainRounds = Number(values['train-rounds']);
const trainMicroBatches = values['train-micro-batches'].split(',').map(Number);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO = join(ROOT, 'apps/web/public/demo');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (v: number) => `${v.toFixed(v < 100 ? 1 : 0)} ms`;
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

const backend = await initBackend();
const report: Record<string, unknown> = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, tfjsBackend: backend.name, loadAtStart: loadavg() },
};
console.log(`machine: ${cpus()[0]?.model}, ${cpus().length} cores, Node ${process.version}; tfjs on ${backend.name}; load average ${load()}`);

/** Median ms of `classify` after one warm-up, and the mean exit step. */
async function timeClassify(
  model: SaccadeModel,
  input: FramesInput | string,
  n: number,
  options: ClassifyOptions = {},
): Promise<{ ms: number; exitStep: number }> {
  await model.classify(input, options);
  const times: number[] = [];
  let exits = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await model.classify(input, options);
    times.push(performance.now() - t0);
    exits += r.exitStep;
  }
  return { ms: median(times), exitStep: exits / n };
}

/** `tfjs`: the engine timed `--paper-runs` times at the paper's configuration (seconds a video). */
type Engine = { name: string; options: Parameters<typeof loadModel>[1]; tfjs?: boolean };
const ENGINES: Engine[] = [
  { name: `tfjs (${backend.name})`, options: {}, tfjs: true },
  { name: 'onnx 1 thread', options: { engine: 'onnx', threads: 1 } },
  { name: 'onnx 2 threads', options: { engine: 'onnx', threads: 2 } },
];

async function classifyFigures(bundle: string, frames: FramesInput, n: number, engines: Engine[], budget?: number) {
  const out: Record<string, { allSteps: number; budget?: { ms: number; exitStep: number } }> = {};
  for (const e of engines) {
    const model = await loadModel(bundle, { ...e.options, quiet: true });
    try {
      const all = await timeClassify(model, frames, e.tfjs ? Math.min(n, paperRuns) : n);
      out[e.name] = { allSteps: all.ms, ...(budget !== undefined ? { budget: await timeClassify(model, frames, n, { budgetGflops: budget }) } : {}) };
    } finally {
      model.dispose();
    }
  }
  return out;
}

// --- the demo model -------------------------------------------------------------------------
const demoBundle = join(DEMO, 'model');
const demoMeta = JSON.parse(await readFile(join(demoBundle, 'saccade.json'), 'utf8')) as {
  frames: number;
  frameSize: number;
  config: { fit: 'crop' | 'squash' | 'letterbox' };
  exit?: { budgets: { targetGflops: number }[] };
};
const clip = join(DEMO, 'samples', 'clip1.webm');
const demoFrames = await decodeVideo(clip, demoMeta.frames, demoMeta.frameSize, demoMeta.config.fit);
const budgets = (demoMeta.exit?.budgets ?? []).map((b) => b.targetGflops).sort((a, b) => a - b);
const budget = budgets[Math.floor(budgets.length / 2)];
const demo = await classifyFigures(demoBundle, demoFrames, runs, ENGINES, budget);
report['demo'] = { bundle: demoBundle, clip, budgetGflops: budget, engines: demo };
const demoBase = demo[ENGINES[0]!.name]!;
console.log(`\ndemo model (${demoBundle}), ${clip} decoded, median of ${runs}:`);
for (const [name, f] of Object.entries(demo)) {
  console.log(
    `  ${name.padEnd(16)} all steps ${ms(f.allSteps).padStart(9)} (${(demoBase.allSteps / f.allSteps).toFixed(2)}x)` +
      (f.budget
        ? `; budget ${budget!.toFixed(3)} GFLOPs (step by step, mean exit step ${f.budget.exitStep.toFixed(1)}) ${ms(f.budget.ms)} (${(demoBase.budget!.ms / f.budget.ms).toFixed(2)}x)`
        : ''),
  );
}

// --- the paper's configuration ----------------------------------------------------------------
const work = await mkdtemp(join(tmpdir(), 'saccade-engines-'));
try {
  const paperConfig = {
    ...PAPER_V2,
    frames: 16,
    frameSize: 224,
    glanceSize: 224,
    patchSize: 128,
    glanceBackbone: 'mobilenet_v2',
    glanceWidth: 1,
    focusBackbone: 'resnet50',
    focusWidth: 1,
    classifierWidth: 1024,
    policyHidden: 2048,
    pretrained: false,
    seed: 1,
  };
  const net = createVideoNet(paperConfig, 200);
  const paperBundle = join(work, 'paper');
  await saveBundle(net, paperBundle, { classes: Array.from({ length: 200 }, (_, i) => `class ${i}`) });
  net.dispose();
  const paperFrames = await decodeVideo(clip, 16, 224, 'crop');
  const paper = await classifyFigures(paperBundle, paperFrames, runs, ENGINES.slice(0, 2));
  const gflops = (JSON.parse(await readFile(join(paperBundle, 'saccade.json'), 'utf8')) as { gflopsPerVideo: number }).gflopsPerVideo;

  // PyTorch's time for the two torchvision backbones, and their torch.onnx export.
  let torch: { torch: string; networks: { name: string; size: number; ms: Record<string, number>; onnx?: string }[] } | undefined;
  const python = spawnSync(
    '/usr/bin/python3',
    [join(ROOT, 'tools/bench/torch_backbones.py'), '--runs', String(Math.max(3, Math.min(runs, 7))), '--onnx', work],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (python.status === 0) torch = JSON.parse(python.stdout.trim().split('\n').at(-1)!);

  // ONNX, 2 threads, and the bare backbones on ONNX Runtime (batch 16, 2 threads; as Saccade
  // exports the bundle's own and as torch.onnx exports torchvision's), timed in interleaved rounds:
  // a shared VM's speed drifts from minute to minute, and the ratios are what is compared.
  const onnx2 = await loadModel(paperBundle, { engine: 'onnx', threads: 2 });
  const runtime = new OnnxRuntime({ threads: 2 });
  const sessions: { how: string; part: 'glance' | 'focus'; run: () => void }[] = [];
  const addSession = (how: string, part: 'glance' | 'focus', bytes: Uint8Array, input: string, dims: number[]) => {
    const session = runtime.load(bytes);
    const feeds: Record<string, FloatTensor> = {
      [input]: { data: new Float32Array(dims.reduce((a, b) => a * b, 1)).map((_, i) => ((i % 97) - 48) / 48), dims },
    };
    sessions.push({ how, part, run: () => runtime.run(session, feeds) });
  };
  for (const [part, size] of [
    ['glance', 224],
    ['focus', 128],
  ] as const) {
    const exported = exportLayersModel(onnx2.net.models()[part]!);
    addSession('saccade export', part, exported.bytes, exported.inputs[0]!.name, [16, size, size, 3]);
  }
  for (const n of torch?.networks ?? [])
    if (n.onnx) addSession('torch.onnx export', n.name === 'mobilenet_v2' ? 'glance' : 'focus', await readFile(n.onnx), 'x', [16, 3, n.size, n.size]);
  const rounds: { classify: number; bare: Record<string, number> }[] = [];
  await onnx2.classify(paperFrames);
  for (const s of sessions) s.run();
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await onnx2.classify(paperFrames);
    const round = { classify: performance.now() - t0, bare: {} as Record<string, number> };
    for (const s of sessions) {
      const t = performance.now();
      s.run();
      round.bare[s.how] = (round.bare[s.how] ?? 0) + performance.now() - t;
      round.bare[`${s.how} ${s.part}`] = performance.now() - t;
    }
    rounds.push(round);
  }
  runtime.close();
  // With decoding: the file in, ffmpeg included.
  const withDecoding = await timeClassify(onnx2, clip, runs).finally(() => onnx2.dispose());
  paper['onnx 2 threads'] = { allSteps: median(rounds.map((r) => r.classify)) };
  const bare = Object.fromEntries(
    [...new Set(sessions.map((s) => s.how))].map((how) => [
      how,
      {
        glance: median(rounds.map((r) => r.bare[`${how} glance`]!)),
        focus: median(rounds.map((r) => r.bare[`${how} focus`]!)),
        sum: median(rounds.map((r) => r.bare[how]!)),
        classifyRatio: median(rounds.map((r) => r.classify / r.bare[how]!)),
      },
    ]),
  );

  report['paper'] = {
    config: paperConfig,
    gflopsPerVideo: gflops,
    engines: paper,
    onnxWithDecoding: withDecoding.ms,
    bareBackbonesOnnx2Threads: bare,
    pytorch: torch ?? python.stderr.trim().split('\n').at(-1),
  };
  const paperBase = paper[ENGINES[0]!.name]!;
  const onnx2ms = paper['onnx 2 threads'].allSteps;
  console.log(
    `\npaper AdaFocusV2 configuration (${gflops.toFixed(1)} GFLOPs/video, random weights), ${clip} decoded at 224, all 16 steps, median of ${runs} (tfjs: ${Math.min(runs, paperRuns)}; onnx 2 threads in rounds with the bare backbones):`,
  );
  for (const [name, f] of Object.entries(paper))
    console.log(`  ${name.padEnd(16)} ${ms(f.allSteps).padStart(9)} (${(paperBase.allSteps / f.allSteps).toFixed(2)}x)`);
  console.log(`  onnx 2 threads with decoding (ffmpeg, the file in): ${ms(withDecoding.ms)}`);
  for (const [how, b] of Object.entries(bare))
    console.log(
      `  bare backbones on ONNX Runtime, 2 threads, batch 16 (${how}): MobileNetV2 ${ms(b.glance)} + ResNet-50 ${ms(b.focus)} = ${ms(b.sum)}; classify, every step included, is ${b.classifyRatio.toFixed(2)}x that (median of the rounds' ratios)`,
    );
  if (torch) {
    const sum = (t: string) => torch!.networks.reduce((a, n) => a + n.ms[t]!, 0);
    console.log(
      `  PyTorch ${torch.torch} (the two torchvision backbones alone, batch 16, timed before the rounds): 1 thread ${ms(sum('1'))}, 2 threads ${ms(sum('2'))}; ONNX classify, every step included, is ${(sum('2') / onnx2ms).toFixed(2)}x faster than its 2 threads`,
    );
  } else console.log(`  PyTorch: not measured (${python.stderr.trim().split('\n').at(-1) ?? 'no /usr/bin/python3 with torch and torchvision'})`);

  // --- training: samples/s on 1 and on 2 threads (worker threads, data parallel) ----------------
  // The demo model's configuration (batch 8, 16 frames of 128 px; from scratch: weights do not
  // change the speed) on random videos; the first step of each run is not timed (it builds the
  // kernels), the next `trainSteps` are; the worker counts alternate `trainRounds` times.
  const trainConfig = { ...(demoMeta.config as unknown as Record<string, unknown>), pretrained: false, epochs: 1 };
  const batchSize = Number((demoMeta.config as unknown as { batchSize: number }).batchSize);
  const videos = Array.from({ length: batchSize * (trainSteps + 1) }, (_, v) =>
    new Uint8Array(demoMeta.frames * demoMeta.frameSize * demoMeta.frameSize * 3).map((_, i) => (i * 31 + v * 7919) % 251),
  );
  const trainSet = datasetFromArrays({
    classes: Array.from({ length: 10 }, (_, i) => `class ${i}`),
    frames: demoMeta.frames,
    size: demoMeta.frameSize,
    labels: videos.map((_, v) => v % 10),
    videos,
  });
  // Per micro-batch setting (config.microBatch, the same on 1 and 2 threads): 0 is the demo
  // config's own (one chunk of the batch per thread: 8 videos on one thread, 4 on each of two,
  // so batch norm sees other batches); 2 runs chunks of 2 videos on either, the same computation.
  const trainingRuns: Record<string, unknown> = {};
  const trainLines: string[] = [];
  for (const microBatch of trainMicroBatches) {
    const training: Record<string, number[]> = { '1': [], '2': [] };
    for (let round = 0; round < trainRounds; round++)
      for (const workers of [1, 2]) {
        let t0 = 0;
        let t1 = 0;
        const r = await train({
          config: { ...trainConfig, microBatch },
          train: trainSet,
          workers,
          // The epoch's end (a training-accuracy pass) is not timed.
          onBatch: (p) => {
            if (p.step === 1) t0 = performance.now();
            if (p.step === trainSteps + 1) t1 = performance.now();
          },
        });
        const seconds = (t1 - t0) / 1000;
        r.net.dispose();
        training[String(workers)]!.push((trainSteps * batchSize) / seconds);
      }
    const sps = Object.fromEntries(Object.entries(training).map(([w, xs]) => [w, median(xs)]));
    const pairRatios = training['2']!.map((v, i) => v / training['1']![i]!);
    trainingRuns[String(microBatch)] = { samplesPerSecond: training, ratio: median(pairRatios) };
    trainLines.push(
      `  microBatch ${microBatch}${microBatch === 0 ? ' (the batch split between the threads)' : ` (chunks of ${microBatch} videos)`}: 1 thread ${sps['1']!.toFixed(2)} samples/s, 2 threads (worker threads) ${sps['2']!.toFixed(2)} samples/s: ${median(pairRatios).toFixed(2)}x (median of the rounds' ratios)`,
    );
  }
  report['training'] = {
    config: "the demo model's",
    batchSize,
    timedSteps: trainSteps,
    rounds: trainRounds,
    byMicroBatch: trainingRuns,
  };
  console.log(
    `\ntraining the demo model's configuration (batch ${batchSize}, random videos, ${trainSteps} timed steps, median of ${trainRounds} alternating rounds):\n` +
      trainLines.join('\n'),
  );

  // --- memory over many classifies ----------------------------------------------------------
  const memory: Record<string, unknown> = {};
  const early = Math.max(1, Math.floor(memoryRuns / 10));
  console.log(`\nmemory over ${memoryRuns} classifies of the demo model (all steps and budget alternating), after ${early} -> after ${memoryRuns}:`);
  for (const e of [ENGINES[0]!, ENGINES[2]!]) {
    const m = await loadModel(demoBundle, e.options);
    try {
      const opts = (i: number): ClassifyOptions => (i % 2 === 0 || budget === undefined ? {} : { budgetGflops: budget });
      const sessions = () => (m.engine as { sessionCount?: number } | undefined)?.sessionCount;
      await m.classify(demoFrames, opts(0));
      await m.classify(demoFrames, opts(1));
      let at: { tensors: number; sessions?: number; rssMb: number } | undefined;
      for (let i = 0; i < memoryRuns; i++) {
        await m.classify(demoFrames, opts(i));
        if (i + 1 === early) at = { tensors: tf.memory().numTensors, sessions: sessions(), rssMb: process.memoryUsage().rss / 2 ** 20 };
      }
      const end = { tensors: tf.memory().numTensors, sessions: sessions(), rssMb: process.memoryUsage().rss / 2 ** 20 };
      memory[e.name] = { classifies: memoryRuns, after: early, atEarly: at, atEnd: end };
      console.log(
        `  ${e.name.padEnd(16)} tensors ${at!.tensors} -> ${end.tensors}` +
          (end.sessions !== undefined ? `, ONNX sessions ${at!.sessions} -> ${end.sessions}` : '') +
          `, RSS ${at!.rssMb.toFixed(0)} -> ${end.rssMb.toFixed(0)} MB`,
      );
    } finally {
      m.dispose();
    }
  }
  report['memory'] = memory;
} finally {
  await rm(work, { recursive: true, force: true });
}
(report['machine'] as Record<string, unknown>)['loadAtEnd'] = loadavg();
console.log(`\nload average at the end: ${load()}`);
if (values.out) await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
