// The ONNX engine (loadModel(path, { engine: 'onnx' })) against the tfjs engine, for every method
// and every prediction rule: the same logits within 1e-4 relative at every step, the same patches,
// and the same exit decisions; a stop after step k runs k steps; nothing grows over many classifies.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import type { OnnxEngine } from '@saccade/onnx';
import { createOnnxEngine, OnnxRuntime, OnnxRuntimeError } from '@saccade/onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import type { TrainConfigInput } from './config.js';
import { createVideoNet } from './create.js';
import type { ClassifyStep, FramesInput, SaccadeModel } from './model.js';
import { loadModel, saveBundle } from './node/bundle.js';
import { exportBundleOnnx } from './node/onnx.js';
import { InputError } from './errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CLASSES = ['red', 'green', 'blue'];
const data = toyDataset(6, 11);
const videos: FramesInput[] = Array.from({ length: 6 }, (_, i) => ({ data: data.video(i), frames: 4, width: 32, height: 32 }));

const CASES: [string, TrainConfigInput][] = [
  ['AdaFocusV2, spatial policy, focus prediction', { ...TOY }],
  ['AdaFocusV2, dense policy (GRU), classifier prediction', { ...TOY, policyReadout: 'dense', prediction: 'classifier' }],
  ['AdaFocusV2, ensemble prediction', { ...TOY, prediction: 'ensemble' }],
  ['AdaFocusV2 with random patches', { ...TOY, patches: 'random', prediction: 'classifier' }],
  ['AdaFocusV2 with centre patches', { ...TOY, patches: 'centre' }],
  ['AdaFocus V1', { ...TOY, method: 'adafocus_v1', grid: 3 }],
  ['Uni-AdaFocus', { ...TOY, method: 'uni_adafocus', glanceFrames: 2, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 }],
  ['uniform baseline', { ...TOY, method: 'uniform' }],
  ['glance baseline', { ...TOY, method: 'glance' }],
  // The public API of onnxruntime-node in a worker thread, the transport where its binding is not the one this code knows.
  ['AdaFocusV2, dense policy, ensemble, worker transport', { ...TOY, policyReadout: 'dense', prediction: 'ensemble' }],
];

function run(model: SaccadeModel, input: FramesInput, thresholds?: number[]): { steps: ClassifyStep[]; exitStep: number } {
  const steps: ClassifyStep[] = [];
  const it = model.classifySteps(input, { ...(thresholds ? { thresholds } : {}), seed: 5 });
  let next = it.next();
  while (!next.done) {
    steps.push(next.value);
    next = it.next();
  }
  return { steps, exitStep: next.value.exitStep };
}

/** Largest |a - b| over the step's largest |logit|. */
function relative(a: readonly number[], b: readonly number[]): number {
  const scale = Math.max(1e-6, ...b.map(Math.abs));
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / scale;
}

describe('the ONNX engine', () => {
  for (const [name, config] of CASES) {
    it(`${name}: the same logits (1e-4 relative), patches and exits as tfjs`, { timeout: 60_000 }, async () => {
      const net = createVideoNet(config, 3);
      const path = join(dir, name.replace(/[^a-z0-9]+/gi, '_'));
      await saveBundle(net, path, { classes: CLASSES });
      net.dispose();
      const ref = await loadModel(path);
      const worker = name.endsWith('worker transport');
      const onnx = await loadModel(path, worker ? { engine: createOnnxEngine({ threads: 1, transport: 'worker' }) } : { engine: 'onnx', threads: 1 });
      try {
        expect(onnx.engineName).toBe('onnx');
        expect((onnx.engine as OnnxEngine).runtime.transport).toBe(worker ? 'worker' : 'native');
        const t = ref.meta.steps;
        // All steps first; then thresholds between the videos' scores, so that they exit at different
        // steps, with margins far above 1e-4.
        const full = videos.map((v) => run(ref, v));
        let worst = 0;
        for (const [i, v] of videos.entries()) {
          const got = run(onnx, v);
          expect(got.steps).toHaveLength(t);
          got.steps.forEach((s, k) => {
            const want = full[i]!.steps[k]!;
            worst = Math.max(worst, relative(s.logits, want.logits));
            expect(s.frame).toBe(want.frame);
            if (want.patch) {
              expect(Math.abs(s.patch!.x - want.patch.x)).toBeLessThan(1e-3);
              expect(Math.abs(s.patch!.y - want.patch.y)).toBeLessThan(1e-3);
            } else expect(s.patch).toBeUndefined();
          });
        }
        expect(worst).toBeLessThan(1e-4);
        // ONNX Runtime ran the sub-networks (each one it ran is a session).
        expect((onnx.engine as OnnxEngine).sessionCount).toBeGreaterThan(0);
        const thresholds = Array.from({ length: t }, (_, k) => {
          if (k === t - 1) return -Infinity;
          const scores = full.map((r) => r.steps[k]!.score).sort((a, b) => a - b);
          const gaps = scores.slice(1).map((s, j) => [s - scores[j]!, (s + scores[j]!) / 2] as const);
          // The middle of the widest gap between two videos' scores.
          return gaps.reduce((a, g) => (g[0] > a[0] ? g : a), [-1, Infinity] as readonly [number, number])[1];
        });
        const exits = videos.map((v) => [run(ref, v, thresholds).exitStep, run(onnx, v, thresholds)] as const);
        for (const [want, got] of exits) {
          expect(got.exitStep).toBe(want);
          // A stop after step k ran k steps.
          expect(got.steps).toHaveLength(want);
        }
        // The thresholds split the videos: not every one ran to the end.
        expect(exits.some(([want]) => want < t)).toBe(true);
      } finally {
        ref.dispose();
        onnx.dispose();
      }
    });
  }

  it('holds its tensors and sessions steady over many classifies, and releases its worker on dispose', { timeout: 60_000 }, async () => {
    const net = createVideoNet({ ...TOY, prediction: 'classifier' }, 3);
    const path = join(dir, 'memory');
    await saveBundle(net, path, { classes: CLASSES });
    net.dispose();
    const model = await loadModel(path, { engine: 'onnx', threads: 1 });
    const engine = model.engine as OnnxEngine;
    await model.classify(videos[0]!);
    const tensors = tf.memory().numTensors;
    const sessions = engine.sessionCount;
    expect(sessions).toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) await model.classify(videos[i % videos.length]!, { thresholds: [0, 0, 0, 0] });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(engine.sessionCount).toBe(sessions);
    model.dispose();
    expect(engine.sessionCount).toBe(0);
    expect(() => engine.runtime.load(new Uint8Array(8))).toThrow(OnnxRuntimeError);
  });

  it('exportBundleOnnx writes every sub-network and each GRU as ONNX files that ONNX Runtime runs to the tfjs outputs', { timeout: 60_000 }, async () => {
    const net = createVideoNet({ ...TOY, method: 'adafocus_v1', grid: 3 }, 3);
    const path = join(dir, 'v1-export');
    await saveBundle(net, path, { classes: CLASSES });
    const out = join(dir, 'v1-onnx');
    const summary = await exportBundleOnnx(path, out);
    const manifest = JSON.parse(await readFile(join(out, 'onnx.json'), 'utf8')) as { files: { file: string; part: string; kind: string }[] };
    expect(manifest.files.map((f) => f.file).sort()).toEqual(summary.files.map((f) => f.file).sort());
    // Every part, and the GRUs of V1's policy and classifier.
    expect(new Set(manifest.files.filter((f) => f.kind === 'network').map((f) => f.part))).toEqual(new Set(Object.keys(net.models())));
    expect(manifest.files.filter((f) => f.kind === 'gru').length).toBe(2);
    const runtime = new OnnxRuntime({ threads: 1 });
    try {
      for (const f of summary.files) {
        const session = runtime.load(await readFile(join(out, f.file)));
        const xs = f.inputs.map((input, i) => {
          const shape = input.shape.map((d, j) => (d === null ? (j === 1 && f.kind === 'gru' ? 3 : 2) : d));
          return tf.randomUniform(shape, -1, 1, 'float32', 40 + i);
        });
        const got = runtime.run(
          session,
          Object.fromEntries(f.inputs.map((input, i) => [input.name, { data: xs[i]!.dataSync() as Float32Array, dims: xs[i]!.shape }])),
        );
        if (f.kind === 'network') {
          const model = net.models()[f.part]!;
          const want = tf.tidy(() => {
            const y = model.predict(xs.length === 1 ? xs[0]! : xs);
            return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
          });
          f.outputs.forEach((o, i) => expect(relative(Array.from(got[o.name]!.data), Array.from(want[i]!)), `${f.file} ${o.name}`).toBeLessThan(1e-4));
        } else expect(got['states']!.dims).toEqual([2, 3, xs[1]!.shape[1]]);
        tf.dispose(xs);
      }
    } finally {
      runtime.close();
      net.dispose();
    }
  });

  it('says which package is missing when onnxruntime-node cannot be found, and takes no threads without it', async () => {
    // Resolved from a folder with no node_modules above it, and without the NODE_PATH that pnpm's
    // bin shims set for vitest: what a machine without the package sees.
    const nodePath = process.env['NODE_PATH'];
    const paths = Module as unknown as { _initPaths(): void };
    delete process.env['NODE_PATH'];
    paths._initPaths();
    const err = (() => {
      try {
        new OnnxRuntime({ resolveFrom: join(dir, 'nowhere', 'x.js') });
      } catch (e) {
        return e;
      } finally {
        if (nodePath !== undefined) process.env['NODE_PATH'] = nodePath;
        paths._initPaths();
      }
    })();
    expect(err).toBeInstanceOf(OnnxRuntimeError);
    expect((err as OnnxRuntimeError).code).toBe('ONNX_RUNTIME_MISSING');
    expect((err as Error).message).toMatch(/onnxruntime-node/);
    await expect(loadModel(join(dir, 'memory'), { threads: 2 })).rejects.toThrow(InputError);
    await expect(loadModel(join(dir, 'memory'), { engine: 'gpu' as 'onnx' })).rejects.toThrow(/engine/);
  });
});
