/**
 * `saccade demo`: the README quickstart's main job on the embedded default (the Fashion-MNIST
 * sample shipped with @saccade/video): build a small Moving Fashion-MNIST, train AdaFocusV2 and
 * the random-patch, centre-patch and glance-only baselines (two at a time), calibrate early exit,
 * evaluate everything in one process, classify one validation video, print the table. The uniform
 * full-frame baseline costs about 2.5 times AdaFocusV2's training time, so it is in `saccade
 * bench` and not here.
 */
import { join, resolve } from 'node:path';

import { loadModel } from '@saccade/sdk';
import { SHIPPED_FASHION_MNIST_SAMPLE } from '@saccade/video';

import { reportText, runBench, type BenchReport } from './bench.js';
import { bundlePath } from './commands.js';

/** Sized for about 10 minutes on two cores: AdaFocusV2 on one core, its baselines on the other. */
export const DEMO = { trainVideos: 600, valVideos: 150, flags: {}, methods: ['v2', 'random', 'centre', 'glance'] };

export async function runDemo(o: { out: string; signal?: AbortSignal }): Promise<BenchReport & { text: string; classified: unknown }> {
  const started = performance.now();
  const out = resolve(o.out);
  const report = await runBench({
    out,
    trainVideos: DEMO.trainVideos,
    valVideos: DEMO.valVideos,
    seeds: 1,
    parallel: 2,
    // One timing process: the demo's figures are a first look inside its 10 minutes.
    speedRuns: 1,
    flags: DEMO.flags,
    methods: DEMO.methods,
    source: SHIPPED_FASHION_MNIST_SAMPLE,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const model = await loadModel(bundlePath(join(out, 'runs', 'v2-s0')));
  let classified;
  try {
    const video = join(report.data, 'videos', 'val_00000.mp4');
    const budget = model.meta.exit?.budgets.find((b) => b.targetGflops >= model.meta.gflopsPerVideo * 0.5)?.targetGflops;
    classified = { video, ...(await model.classify(video, { topK: 3, ...(budget ? { budgetGflops: budget } : {}) })) };
  } finally {
    model.dispose();
  }
  const c = classified as { video: string; label: string; probability: number; exitStep: number; steps: number; gflops: number };
  const minutes = (performance.now() - started) / 60000;
  const text = [
    reportText(report),
    '',
    `classified ${c.video}: ${c.label} (${(100 * c.probability).toFixed(1)}%), stopped at step ${c.exitStep}/${c.steps}, ${c.gflops.toFixed(3)} GFLOPs`,
    `demo finished in ${minutes.toFixed(1)} min; report in ${join(out, 'report.md')}`,
  ].join('\n');
  return { ...report, text, classified };
}
