/**
 * A training worker thread (`train({ workers })`): a replica of the network on its own tfjs
 * backend. It gets the weights after every step ('sync') and computes the gradients of the
 * micro-batches it is dealt ('step'), with the code the main thread runs (peers.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@saccade/tensor';

import { parseConfig, trainingStages, type TrainConfigInput } from '../config.js';
import { createVideoNet } from '../create.js';
import { stageVariables, statisticsOf, stepGradients, weightsOf, type Chunk } from '../peers.js';

const data = workerData as { config: TrainConfigInput; classes: number; backend: string };
const port = parentPort!;
await initBackend(data.backend);
const config = parseConfig(data.config);
const net = createVideoNet(config, data.classes);
const weights = weightsOf(net);
const statistics = statisticsOf(net);
const stages = trainingStages(config);

type Message = { type: 'sync'; weights: Float32Array[] } | { type: 'step'; chunks: Chunk[]; stage: number } | { type: 'close' };

port.on('message', (m: Message) => {
  try {
    if (m.type === 'sync') {
      weights.forEach((w, i) => {
        const t = tf.tensor(m.weights[i]!, w.read().shape);
        w.write(t);
        t.dispose();
      });
      port.postMessage({ type: 'synced' });
    } else if (m.type === 'step') {
      for (const st of statistics) st.updates = 0;
      const vars = stageVariables(net, stages[m.stage]!.parts);
      const { summed, loss } = stepGradients(net, config, vars, m.stage, m.chunks);
      const grads = [...summed].map(([index, t]) => ({ index, data: (t.dataSync() as Float32Array).slice(), shape: t.shape }));
      tf.dispose([...summed.values()]);
      const stats = statistics.map((st) => ({ data: (st.variable.read().dataSync() as Float32Array).slice(), updates: st.updates }));
      port.postMessage({ type: 'result', result: { grads, loss, statistics: stats } }, [
        ...grads.map((g) => g.data.buffer),
        ...stats.map((s) => s.data.buffer),
      ]);
    } else if (m.type === 'close') {
      net.dispose();
      port.close();
    }
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ type: 'error', name: e.name, message: e.message });
  }
});
port.postMessage({ type: 'ready' });
