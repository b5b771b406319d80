/**
 * The backbones exported by exportLayersModel, timed in ONNX Runtime (1 and 2 threads) beside the
 * same tfjs models on Saccade's wasm engine, batch 16, median of `--runs` after one warm-up.
 *
 *   pnpm --filter @saccade/onnx bench [-- --runs 7]
 */
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';
import { createBackbone } from '@saccade/backbones';
import { initBackend } from '@saccade/tensor';
import { InferenceSession, Tensor } from 'onnxruntime-node';

import { exportLayersModel } from '../src/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, batch: { type: 'string', default: '16' } } });
const runs = Number(values.runs);
const batch = Number(values.batch);

async function median(f: () => Promise<void> | void): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const backend = await initBackend('wasm');
console.log(`tfjs ${backend.name} (1 thread) against onnxruntime-node; batch ${batch}, median of ${runs}`);
for (const [name, size] of [
  ['mobilenet_v2', 224],
  ['resnet50', 128],
] as const) {
  const { model } = createBackbone(name, { inputSize: size });
  const shape = [batch, size, size, 3];
  const x = tf.randomUniform(shape, -1, 1, 'float32', 1);
  const tfjs = await median(() => {
    const y = model.predict(x);
    tf.dispose((Array.isArray(y) ? y : [y]).map((t) => (t.dataSync(), t)));
  });
  const exported = exportLayersModel(model);
  const feeds = { [exported.inputs[0]!.name]: new Tensor('float32', x.dataSync() as Float32Array, shape) };
  const onnx: number[] = [];
  for (const threads of [1, 2]) {
    const session = await InferenceSession.create(exported.bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    onnx.push(
      await median(async () => {
        await session.run(feeds);
      }),
    );
    await session.release();
  }
  console.log(
    `${name} at ${size}: tfjs wasm ${tfjs.toFixed(0)} ms, ONNX Runtime 1 thread ${onnx[0]!.toFixed(0)} ms, 2 threads ${onnx[1]!.toFixed(0)} ms (${(tfjs / onnx[1]!).toFixed(1)}x); ONNX file ${(exported.bytes.byteLength / 1e6).toFixed(1)} MB`,
  );
  x.dispose();
  model.dispose();
}
