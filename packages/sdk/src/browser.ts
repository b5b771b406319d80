// @saccade/sdk in the browser: the same model code; bundles are fetched over http(s).
import * as tf from '@tensorflow/tfjs';

import { checkMeta, loadBundleWith } from './bundle.js';
import { BundleError } from './errors.js';
import type { BundleMeta, SaccadeModel } from './model.js';

export * from './universal.js';

/** Load a bundle served at `url` (the folder holding saccade.json). */
export async function loadModel(url: string, init?: RequestInit, options: { method?: BundleMeta['method'] } = {}): Promise<SaccadeModel> {
  const base = url.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/saccade.json`, init);
  } catch (error) {
    throw new BundleError(base, `saccade.json cannot be fetched: ${(error as Error).message}`);
  }
  if (!response.ok) throw new BundleError(base, `saccade.json: HTTP ${response.status}`);
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new BundleError(base, 'saccade.json is not valid JSON');
  }
  const meta = checkMeta(json, base);
  return loadBundleWith(meta, base, (folder) => tf.io.http(`${base}/${folder}/model.json`, init ? { requestInit: init } : {}), undefined, options.method);
}
