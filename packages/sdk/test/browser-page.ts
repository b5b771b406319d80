// Bundled by src/browser.test.ts with esbuild and run in headless Chromium: loads a bundle over
// http with @saccade/sdk/browser and reports its outputs to the test.
import * as tf from '@tensorflow/tfjs';

import { BundleError, loadModel } from '../src/browser.js';

declare global {
  interface Window {
    saccadeRun(url: string, videos: number[][], frame: { frames: number; width: number; height: number }): Promise<unknown>;
  }
}

window.saccadeRun = async (url, videos, shape) => {
  await tf.setBackend('cpu');
  try {
    const model = await loadModel(url);
    const logits = Array.from(model.logitsBatch(videos.map((v) => Uint8Array.from(v))));
    const r = await model.classify({ data: Uint8Array.from(videos[0]!), ...shape });
    model.dispose();
    return { backend: tf.getBackend(), logits, label: r.label, exitStep: r.exitStep, patches: r.patches.length, tensors: tf.memory().numTensors };
  } catch (error) {
    return { error: (error as Error).message, bundleError: error instanceof BundleError };
  }
};
